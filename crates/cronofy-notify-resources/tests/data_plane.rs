//! Downloads against the fake Cronofy: a Bearer-checking API that redirects to a second host
//! which refuses Authorization, serving generated bodies with faults on demand.

mod common;

use std::time::Duration;

use common::{API_KEY, Events, builder, callback, files_below, sha256_file};
use cronofy_notify_core::ResourceCategory;
use cronofy_notify_resources::{
    CancellationToken, DownloadError, EntryStatus, Location, MemoryStorage, ProgressEvent,
    RetryPolicy,
};
use cronofy_notify_test_support::fake::{ApiFault, FakeCronofy, Fault, ResourceSpec};

const MIB: u64 = 1 << 20;

async fn fake_with(resources: &[(&str, u64, &str)]) -> FakeCronofy {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    for (name, size, content_type) in resources {
        fake.add(name, ResourceSpec::generated(*size, content_type));
    }
    fake
}

fn file_of(location: &Option<Location>) -> std::path::PathBuf {
    match location {
        Some(Location::File(path)) => path.clone(),
        other => panic!("expected a file, got {other:?}"),
    }
}

#[tokio::test]
async fn a_complete_callback_lands_byte_for_byte_with_hashes_and_manifest() {
    let fake = fake_with(&[
        ("transcript", 20_000, "application/json"),
        ("audio", 3 * MIB + 17, "audio/mpeg"),
        ("video", 5 * MIB + 3, "video/mp4"),
    ])
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "cronofy", "transcript"),
            ("audio", "voice", "audio"),
            ("video", "conference", "video"),
        ],
    );
    let report = common::download(root.path(), &body).await;

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources.len(), 3, "the dashboard is never fetched");
    for (resource, name, ext) in [
        (&report.resources[0], "transcript", "json"),
        (&report.resources[1], "audio", "mp3"),
        (&report.resources[2], "video", "mp4"),
    ] {
        let path = file_of(&resource.location);
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!(
                "{}-{}.{ext}",
                resource.category,
                resource.kind.as_ref().unwrap()
            )
        );
        assert!(
            std::fs::read(&path).unwrap() == fake.content(name),
            "{name} differs"
        );
        assert_eq!(resource.sha256.as_deref(), Some(fake.sha256(name).as_str()));
        assert_eq!(resource.bytes, fake.content(name).len() as u64);
        assert_eq!(resource.attempts, 1);
    }
    let files = files_below(root.path());
    assert_eq!(
        files,
        [
            "agt_1/audio-voice.mp3",
            "agt_1/manifest.json",
            "agt_1/transcript-cronofy.json",
            "agt_1/video-conference.mp4"
        ]
    );

    let manifest = builder(root.path())
        .build()
        .unwrap()
        .storage()
        .load_manifest("agt_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.resources.len(), 3);
    for entry in &manifest.resources {
        assert_eq!(entry.status, EntryStatus::Complete);
        assert!(entry.sha256.is_some() && entry.location.is_some());
        assert!(
            entry.source_url.ends_with(&format!("/{}", entry.category)),
            "{}",
            entry.source_url
        );
    }
}

#[tokio::test]
async fn a_transcript_served_without_a_real_type_is_still_named_json() {
    // Object stores answer `binary/octet-stream` (S3) or `application/octet-stream` for what
    // nobody told them the type of; Cronofy documents the transcript as JSON.
    let fake = fake_with(&[
        ("transcript", 2_000, "binary/octet-stream"),
        ("video", 40_000, "application/octet-stream"),
    ])
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "cronofy", "transcript"),
            ("video", "conference", "video"),
        ],
    );
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        files_below(root.path()),
        [
            "agt_1/manifest.json",
            "agt_1/transcript-cronofy.json",
            "agt_1/video-conference.bin"
        ]
    );
    assert!(
        std::fs::read(root.path().join("agt_1/transcript-cronofy.json")).unwrap()
            == fake.content("transcript")
    );
}

#[tokio::test]
async fn the_api_key_goes_to_cronofy_only_never_to_the_storage_host() {
    let fake = fake_with(&[("audio", 100_000, "audio/mpeg")]).await;
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");

    let seen = fake.seen();
    let api: Vec<_> = seen.iter().filter(|s| s.side == "api").collect();
    let storage: Vec<_> = seen.iter().filter(|s| s.side == "storage").collect();
    assert_eq!(api.len(), 1);
    assert_eq!(
        api[0].authorization.as_deref(),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(api[0].accept_encoding.as_deref(), Some("identity"));
    assert_eq!(storage.len(), 1);
    assert_eq!(
        storage[0].authorization, None,
        "Authorization followed the redirect"
    );
    assert_eq!(storage[0].accept_encoding.as_deref(), Some("identity"));
    assert_eq!(storage[0].status, 200);
}

#[tokio::test]
async fn a_dropped_connection_resumes_from_the_bytes_held_with_range_and_if_range() {
    let size = 4 * MIB;
    let fake = fake_with(&[("video", size, "video/mp4")]).await;
    let cut = size * 9 / 10;
    fake.faults(
        "video",
        [Fault {
            drop_at: Some(cut),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = common::download(root.path(), &body).await;

    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    assert_eq!(video.attempts, 2);
    // The server dropped at 90%; what reached the client before the reset is what it resumes from.
    let held = video.resumed_from;
    assert!(held > size / 2 && held <= cut, "{held}");
    assert_eq!(
        video.sha256.as_deref(),
        Some(fake.sha256("video").as_str()),
        "hash covers the kept prefix too"
    );
    assert_eq!(sha256_file(&file_of(&video.location)), fake.sha256("video"));

    let storage: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.side == "storage")
        .collect();
    assert_eq!(storage.len(), 2);
    assert_eq!(
        storage[1].range.as_deref(),
        Some(format!("bytes={held}-").as_str())
    );
    assert_eq!(storage[1].if_range.as_deref(), Some("\"video-v0\""));
    assert_eq!(storage[1].status, 206);
    assert_eq!(
        storage[1].planned_bytes,
        size - held,
        "only the missing part is fetched again"
    );
}

#[tokio::test]
async fn every_attempt_starts_again_from_the_cronofy_url() {
    let fake = fake_with(&[("audio", 2 * MIB, "audio/mpeg")]).await;
    fake.single_use_links(true);
    fake.faults(
        "audio",
        [Fault {
            drop_at: Some(MIB),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let report = common::download(root.path(), &body).await;

    assert!(report.is_success(), "{report:?}");
    let api = fake.seen().iter().filter(|s| s.side == "api").count();
    assert_eq!(
        api, 2,
        "the second attempt fetched a fresh link from the API"
    );
}

#[tokio::test]
async fn an_expired_storage_link_is_renewed_through_the_api() {
    let fake = fake_with(&[("audio", 300_000, "audio/mpeg")]).await;
    fake.faults(
        "audio",
        [Fault {
            status: Some((403, None)),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources[0].attempts, 2);
}

#[tokio::test]
async fn a_server_that_ignores_range_is_restarted_cleanly() {
    let size = 3 * MIB;
    let fake = fake_with(&[("video", size, "video/mp4")]).await;
    fake.faults(
        "video",
        [
            Fault {
                drop_at: Some(2 * MIB),
                ..Fault::default()
            },
            Fault {
                ignore_range: true,
                ..Fault::default()
            },
        ],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = common::download(root.path(), &body).await;

    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    assert_eq!(video.resumed_from, 0, "the 200 replaced what was held");
    assert_eq!(
        video.bytes, size,
        "the whole body was not appended onto the partial file"
    );
    assert_eq!(sha256_file(&file_of(&video.location)), fake.sha256("video"));
}

#[tokio::test]
async fn a_resource_that_changed_between_attempts_is_fetched_again_whole() {
    let size = 2 * MIB;
    let fake = fake_with(&[("video", size, "video/mp4")]).await;
    let first = fake.content("video");
    fake.faults(
        "video",
        [
            Fault {
                drop_at: Some(MIB),
                ..Fault::default()
            },
            Fault {
                change_version: true,
                ..Fault::default()
            },
        ],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = common::download(root.path(), &body).await;

    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    let stored = std::fs::read(file_of(&video.location)).unwrap();
    assert_ne!(stored, first);
    assert_eq!(
        stored,
        fake.content("video"),
        "no mix of the old and new versions"
    );
    let storage: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.side == "storage")
        .collect();
    assert_eq!(
        storage[1].status, 200,
        "If-Range no longer matched, so the server sent it whole"
    );
}

#[tokio::test]
async fn a_stalled_body_times_out_and_resumes() {
    let size = 2 * MIB;
    let fake = fake_with(&[("audio", size, "audio/mpeg")]).await;
    fake.faults(
        "audio",
        [Fault {
            stall_at: Some((MIB, Duration::from_secs(3))),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let events = Events::default();
    let downloader = builder(root.path())
        .idle_timeout(Duration::from_millis(300))
        .on_progress(events.handler())
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();

    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.attempts, 2);
    assert!(audio.resumed_from > 0);
    let retry = events.all().into_iter().find_map(|e| match e {
        ProgressEvent::Retrying { reason, .. } => Some(reason),
        _ => None,
    });
    assert!(retry.unwrap().contains("stalled"));
}

#[tokio::test]
async fn a_lying_content_length_is_a_cut_body_and_is_retried() {
    let size = MIB;
    let fake = fake_with(&[("audio", size, "audio/mpeg")]).await;
    fake.faults(
        "audio",
        [Fault {
            overstate_length: Some(1000),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let report = common::download(root.path(), &body).await;
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.attempts, 2);
    assert_eq!(sha256_file(&file_of(&audio.location)), fake.sha256("audio"));
}

/// A resumed body that goes on past the end its `Content-Range` declares is not trusted: what
/// was held is dropped and the next attempt fetches the whole resource again.
#[tokio::test]
async fn a_body_longer_than_declared_is_refused_and_fetched_again_whole() {
    let size = MIB;
    let fake = fake_with(&[("audio", size, "audio/mpeg")]).await;
    fake.faults(
        "audio",
        [
            Fault {
                drop_at: Some(size / 2),
                ..Fault::default()
            },
            Fault {
                chunked: true,
                overrun: Some(1000),
                ..Fault::default()
            },
        ],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let events = Events::default();
    let report = builder(root.path())
        .on_progress(events.handler())
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.attempts, 3);
    assert_eq!(audio.bytes, size);
    assert_eq!(audio.resumed_from, 0, "the resumed bytes were dropped");
    assert_eq!(sha256_file(&file_of(&audio.location)), fake.sha256("audio"));
    assert!(events.all().iter().any(|e| matches!(
        e,
        ProgressEvent::Retrying { reason, .. } if reason.contains("past the")
    )));
    let ranges: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.side == "storage")
        .map(|s| s.range)
        .collect();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert!(ranges[1].is_some() && ranges[2].is_none(), "{ranges:?}");
}

#[tokio::test]
async fn api_errors_and_retry_after_are_retried_then_succeed() {
    let fake = fake_with(&[("transcript", 5_000, "application/json")]).await;
    fake.api_faults(
        "transcript",
        [
            ApiFault {
                status: Some((503, None)),
                ..ApiFault::default()
            },
            ApiFault {
                status: Some((429, Some("0".into()))),
                ..ApiFault::default()
            },
            ApiFault {
                status: Some((408, None)),
                ..ApiFault::default()
            },
        ],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("transcript", "cronofy", "transcript")]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources[0].attempts, 4);
}

#[tokio::test]
async fn a_full_part_file_left_by_an_earlier_run_is_finished_by_a_416() {
    let size = 700_000;
    let fake = fake_with(&[("audio", size, "audio/mpeg")]).await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("agt_1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("audio-voice.part"), fake.content("audio")).unwrap();
    std::fs::write(
        dir.join("audio-voice.part.json"),
        format!(r#"{{"etag":"\"audio-v0\"","total":{size},"content_type":"audio/mpeg"}}"#),
    )
    .unwrap();

    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let report = common::download(root.path(), &body).await;
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.sha256.as_deref(), Some(fake.sha256("audio").as_str()));
    let storage: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.side == "storage")
        .collect();
    assert_eq!(storage.len(), 1);
    assert_eq!(storage[0].status, 416);
    assert_eq!(file_of(&audio.location), dir.join("audio-voice.mp3"));
    assert_eq!(
        files_below(root.path()),
        ["agt_1/audio-voice.mp3", "agt_1/manifest.json"]
    );
}

#[tokio::test]
async fn a_cancelled_download_keeps_its_part_file_and_a_later_call_resumes_it() {
    let size = 8 * MIB;
    let fake = fake_with(&[("video", size, "video/mp4")]).await;
    // Slow the body down past the half-way mark so the cancellation lands mid-transfer.
    fake.faults(
        "video",
        [Fault {
            stall_at: Some((size / 2, Duration::from_secs(2))),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let downloader = builder(root.path())
        .progress_interval(Duration::ZERO)
        .on_progress(move |event| {
            if let ProgressEvent::Progress { bytes, .. } = event
                && bytes >= size / 2
            {
                trigger.cancel();
            }
        })
        .build()
        .unwrap();
    let report = downloader
        .download_with_cancel(&callback(&body), cancel)
        .await
        .unwrap();
    let video = &report.resources[0];
    let Some(DownloadError::Cancelled { kept }) = video.error else {
        panic!("expected a cancellation, got {video:?}");
    };
    assert!(kept >= size / 2 && kept < size, "{kept}");
    assert!(files_below(root.path()).contains(&"agt_1/video-conference.part".to_owned()));
    assert!(!root.path().join("agt_1/video-conference.mp4").exists());

    let report = common::download(root.path(), &body).await;
    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    assert_eq!(video.resumed_from, kept);
    assert_eq!(sha256_file(&file_of(&video.location)), fake.sha256("video"));
    let last = fake
        .seen()
        .into_iter()
        .rfind(|s| s.side == "storage")
        .unwrap();
    assert_eq!(last.planned_bytes, size - kept);
}

#[tokio::test]
async fn a_duplicate_callback_fetches_nothing_again() {
    let fake = fake_with(&[
        ("transcript", 9_000, "application/json"),
        ("audio", 50_000, "audio/mpeg"),
    ])
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "cronofy", "transcript"),
            ("audio", "voice", "audio"),
        ],
    );
    let downloader = builder(root.path()).build().unwrap();
    assert!(
        downloader
            .download(&callback(&body))
            .await
            .unwrap()
            .is_success()
    );
    let requests = fake.seen().len();

    let again = downloader.download(&callback(&body)).await.unwrap();
    assert!(again.is_success());
    assert!(again.resources.iter().all(|r| r.skipped && r.attempts == 0));
    assert_eq!(
        again.resources[1].sha256.as_deref(),
        Some(fake.sha256("audio").as_str())
    );
    assert_eq!(fake.seen().len(), requests, "no request for a duplicate");

    // A file removed behind the manifest's back is fetched again.
    std::fs::remove_file(root.path().join("agt_1/audio-voice.mp3")).unwrap();
    let third = downloader.download(&callback(&body)).await.unwrap();
    assert!(third.resources[0].skipped && !third.resources[1].skipped);
}

/// Cronofy may deliver a callback twice at nearly the same time, and an application that
/// downloads from its handler then calls `download` twice at once. The second call waits for
/// the first and finds its work done: one fetch per resource, the files intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_callbacks_at_the_same_time_fetch_each_resource_once() {
    let fake = fake_with(&[("audio", 3 << 20, "audio/mpeg")]).await;
    // Slow enough that the second call starts while the first is writing.
    fake.faults(
        "audio",
        [Fault {
            stall_at: Some((1 << 20, Duration::from_millis(300))),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_twice", &[("audio", "voice", "audio")]);
    let downloader = builder(root.path()).build().unwrap();
    let call = || {
        let (downloader, body) = (downloader.clone(), body.clone());
        tokio::spawn(async move { downloader.download(&callback(&body)).await })
    };
    let (first, second) = (call(), call());
    for report in [
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    ] {
        assert!(report.is_success(), "{report:?}");
        assert_eq!(
            report.resources[0].sha256.as_deref(),
            Some(fake.sha256("audio").as_str())
        );
    }
    assert_eq!(
        sha256_file(&root.path().join("agt_twice/audio-voice.mp3")),
        fake.sha256("audio")
    );
    let fetched = fake
        .seen()
        .iter()
        .filter(|seen| seen.side == "storage" && seen.status < 300)
        .count();
    assert_eq!(fetched, 1, "{:?}", fake.seen());
}

/// Two downloaders that do not share a lock (two processes on one folder, say) writing the same
/// resource at once: the one that comes second stops with a "busy" error instead of cutting or
/// interleaving the other's file, and leaves the manifest to the one that did the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_folder_leaves_a_download_under_way_alone() {
    let fake = fake_with(&[("video", 3 << 20, "video/mp4")]).await;
    // The first holds its file long enough for the second to try.
    fake.faults(
        "video",
        [Fault {
            stall_at: Some((1 << 20, Duration::from_millis(1500))),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_two", &[("video", "conference", "video")]);
    let call = |downloader: cronofy_notify_resources::Downloader| {
        let body = body.clone();
        tokio::spawn(async move { downloader.download(&callback(&body)).await.unwrap() })
    };
    let (started_tx, started) = std::sync::mpsc::channel();
    let started_tx = std::sync::Mutex::new(started_tx);
    let first = call(
        builder(root.path())
            .on_progress(move |event| {
                if matches!(event, ProgressEvent::Started { .. }) {
                    let _ = started_tx.lock().unwrap().send(());
                }
            })
            .build()
            .unwrap(),
    );
    // The second starts once the first has its file open and bytes flowing.
    tokio::task::spawn_blocking(move || started.recv_timeout(Duration::from_secs(20)))
        .await
        .unwrap()
        .expect("the first download started");
    let second = call(builder(root.path()).build().unwrap()).await.unwrap();
    let first = first.await.unwrap();

    assert!(first.is_success(), "{first:?}");
    let error = second.resources[0]
        .error
        .as_ref()
        .expect("the second stood aside");
    assert!(error.is_busy(), "{error:?}");
    assert!(error.to_string().contains("another download"), "{error}");
    assert_eq!(
        sha256_file(&root.path().join("agt_two/video-conference.mp4")),
        fake.sha256("video")
    );
    // The manifest records the download that happened; a third call fetches nothing.
    let requests = fake.seen().len();
    let third = common::download(root.path(), &body).await;
    assert!(third.resources[0].skipped, "{third:?}");
    assert_eq!(fake.seen().len(), requests);
}

#[tokio::test]
async fn a_sub_that_climbs_out_of_the_root_stays_inside_it() {
    let fake = fake_with(&[("transcript", 1_000, "application/json")]).await;
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    for sub in ["../../escape", "..", "/etc/passwd", "a/../../b"] {
        let body = fake.complete_body(sub, &[("transcript", "cronofy", "transcript")]);
        let report = builder(&root)
            .build()
            .unwrap()
            .download(&callback(&body))
            .await
            .unwrap();
        assert!(report.is_success(), "{sub}: {report:?}");
        let path = file_of(&report.resources[0].location);
        assert!(path.starts_with(&root), "{sub} went to {}", path.display());
    }
    assert_eq!(
        files_below(outer.path())
            .iter()
            .filter(|f| !f.starts_with("root/"))
            .count(),
        0
    );
}

#[tokio::test]
async fn a_resource_over_the_size_limit_is_refused_before_a_byte_is_written() {
    let fake = fake_with(&[("video", 2 * MIB, "video/mp4")]).await;
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = builder(root.path())
        .max_size(MIB)
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    let video = &report.resources[0];
    assert!(
        matches!(video.error, Some(DownloadError::TooLarge { limit, size }) if limit == MIB && size == 2 * MIB),
        "{video:?}"
    );
    assert_eq!(video.attempts, 1);
    assert_eq!(
        files_below(root.path()),
        ["agt_1/manifest.json"],
        "nothing half-written is left"
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_size_limit_is_stopped_while_streaming() {
    let fake = fake_with(&[("video", 3 * MIB, "video/mp4")]).await;
    fake.faults(
        "video",
        [Fault {
            chunked: true,
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = builder(root.path())
        .max_size(MIB)
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    let video = &report.resources[0];
    assert!(
        matches!(video.error, Some(DownloadError::TooLarge { limit, size }) if limit == MIB && size > MIB),
        "{video:?}"
    );
    assert_eq!(files_below(root.path()), ["agt_1/manifest.json"]);
}

#[tokio::test]
async fn giving_up_leaves_nothing_at_the_final_path_and_records_the_failure() {
    let fake = fake_with(&[("audio", MIB, "audio/mpeg")]).await;
    fake.faults(
        "audio",
        (0..10).map(|_| Fault {
            status: Some((500, None)),
            ..Fault::default()
        }),
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let downloader = builder(root.path())
        .retry(common::quick_retries().max_attempts_without_progress(3))
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();
    let audio = &report.resources[0];
    assert!(
        matches!(&audio.error, Some(DownloadError::GaveUp { attempts: 3, last }) if last.status() == Some(500)),
        "{audio:?}"
    );
    assert!(!files_below(root.path()).iter().any(|f| f.ends_with(".mp3")));
    let manifest = downloader
        .storage()
        .load_manifest("agt_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.resources[0].status, EntryStatus::Failed);
    assert!(
        manifest.resources[0]
            .error
            .as_deref()
            .unwrap()
            .contains("500")
    );
}

#[tokio::test]
async fn the_transcript_can_be_kept_in_memory_under_a_cap() {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::fixed(
            &br#"{"transcript":{"paragraphs":[]}}"#[..],
            "application/json",
        ),
    );
    fake.add("video", ResourceSpec::generated(2 * MIB, "video/mp4"));
    let memory = MemoryStorage::new(64 * 1024);
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "cronofy", "transcript"),
            ("video", "conference", "video"),
        ],
    );
    let downloader = builder(std::path::Path::new("unused"))
        .storage(memory.clone())
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(report.resources[0].is_success());
    assert_eq!(
        memory.get("agt_1", "transcript-cronofy").unwrap(),
        &br#"{"transcript":{"paragraphs":[]}}"#[..]
    );
    assert!(
        matches!(report.resources[1].error, Some(DownloadError::Storage(_))),
        "the video is over the cap"
    );

    let only_transcript = builder(std::path::Path::new("unused"))
        .storage(MemoryStorage::new(64 * 1024))
        .categories([ResourceCategory::Transcript])
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    assert_eq!(only_transcript.resources.len(), 1);
}

#[tokio::test]
async fn progress_events_tell_the_story_of_a_download() {
    let fake = fake_with(&[("audio", 2 * MIB, "audio/mpeg")]).await;
    fake.faults(
        "audio",
        [Fault {
            drop_at: Some(MIB),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let events = Events::default();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    builder(root.path())
        .progress_interval(Duration::ZERO)
        .on_progress(events.handler())
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    let events = events.all();
    assert!(
        matches!(&events[0], ProgressEvent::Started { total: Some(t), resumed_from: 0, .. } if *t == 2 * MIB)
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Progress { .. }))
    );
    let retry = events
        .iter()
        .find(|e| matches!(e, ProgressEvent::Retrying { .. }))
        .expect("a retry");
    let ProgressEvent::Retrying {
        attempt: 1, reason, ..
    } = retry
    else {
        panic!("{retry:?}")
    };
    assert!(reason.contains("network error"), "{reason}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Started { resumed_from, .. } if *resumed_from > 0))
    );
    let ProgressEvent::Finished { bytes, sha256, .. } = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*bytes, sha256.as_str()),
        (2 * MIB, fake.sha256("audio").as_str())
    );
    for event in &events {
        assert!(!format!("{event:?}").contains(API_KEY));
    }
}

#[tokio::test]
async fn the_api_key_appears_in_no_error_debug_or_manifest() {
    let fake = fake_with(&[("audio", 10_000, "audio/mpeg")]).await;
    fake.api_faults(
        "audio",
        [ApiFault {
            status: Some((401, None)),
            ..ApiFault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let downloader = builder(root.path())
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();
    let error = report.resources[0].error.clone().unwrap();
    assert_eq!(error.status(), Some(401));
    assert!(!error.is_retryable());
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{downloader:?}"),
        format!("{report:?}"),
        std::fs::read_to_string(root.path().join("agt_1/manifest.json")).unwrap(),
    ] {
        assert!(!text.contains(API_KEY), "{text}");
    }
    assert!(
        error.to_string().contains("API key"),
        "the error says what to check: {error}"
    );
}

#[tokio::test]
async fn hostile_categories_types_and_content_types_stay_inside_the_root() {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("x", ResourceSpec::generated(1000, "application/../../evil"));
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "../../../escape", "x"),
            ("video", "/etc/passwd", "x"),
        ],
    );
    let downloader = builder(&root)
        .categories([ResourceCategory::Transcript, ResourceCategory::Video])
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    for resource in &report.resources {
        let path = file_of(&resource.location);
        assert!(path.starts_with(root.join("agt_1")), "{}", path.display());
        // The server's content type names no path: the extension is the category's own.
        let expected = match resource.category {
            ResourceCategory::Transcript => "json",
            _ => "bin",
        };
        assert_eq!(path.extension().unwrap(), expected, "{}", path.display());
    }
    assert_eq!(
        files_below(outer.path())
            .iter()
            .filter(|f| !f.starts_with("root/agt_1/"))
            .count(),
        0
    );
}
