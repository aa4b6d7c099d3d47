//! Cut, stalled, lying and changing servers: retries, resumes, and giving up cleanly.

use std::time::Duration;

use cronofy_notify_resources::{CancellationToken, DownloadError, EntryStatus, ProgressEvent};
use cronofy_notify_test_support::fake::{ApiFault, FakeCronofy, Fault};

use crate::common::{self, DownloadBody as _, Events, builder, callback, files_below, sha256_file};
use crate::{MIB, fake_with, file_of};

/// A fake serving one recording of `size` bytes (`"audio"`, as `audio/mpeg`, or `"video"`, as
/// `video/mp4`) under `faults`, and the `meeting_agent_complete` body that lists it.
async fn serving(
    name: &str,
    size: u64,
    faults: impl IntoIterator<Item = Fault>,
) -> (FakeCronofy, Vec<u8>) {
    let (kind, content_type) = match name {
        "audio" => ("voice", "audio/mpeg"),
        "video" => ("conference", "video/mp4"),
        other => panic!("no recording named {other}"),
    };
    let fake = fake_with(&[(name, size, content_type)]).await;
    fake.faults(name, faults);
    let body = fake.complete_body("agt_1", &[(name, kind, name)]);
    (fake, body)
}

#[tokio::test]
async fn a_dropped_connection_resumes_from_the_bytes_held_with_range_and_if_range() {
    let size = 4 * MIB;
    let cut = size * 9 / 10;
    let (fake, body) = serving(
        "video",
        size,
        [Fault {
            drop_at: Some(cut),
            ..Fault::default()
        }],
    )
    .await;
    let root = tempfile::tempdir().unwrap();
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

    let storage = fake.storage_requests();
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
async fn a_206_without_an_etag_keeps_the_validator_it_answered_for_the_next_resume() {
    let size = 3 * MIB;
    let (fake, body) = serving(
        "video",
        size,
        [
            Fault {
                drop_at: Some(MIB),
                ..Fault::default()
            },
            Fault {
                drop_at: Some(2 * MIB),
                omit_etag: true,
                ..Fault::default()
            },
        ],
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let report = common::download(root.path(), &body).await;

    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    assert_eq!(video.attempts, 3);
    assert_eq!(sha256_file(&file_of(&video.location)), fake.sha256("video"));
    let storage = fake.storage_requests();
    assert_eq!(storage.len(), 3);
    assert_eq!(storage[1].status, 206);
    // The third attempt resumed after what the second one added, not from the first byte.
    let range = storage[2]
        .range
        .as_deref()
        .expect("the third attempt resumed");
    let from: u64 = range
        .strip_prefix("bytes=")
        .and_then(|range| range.strip_suffix('-'))
        .and_then(|offset| offset.parse().ok())
        .expect(range);
    assert!(from > MIB, "{range}");
    assert_eq!(storage[2].if_range.as_deref(), Some("\"video-v0\""));
    assert_eq!(storage[2].status, 206);
    assert_eq!(storage[2].planned_bytes, size - from);
}

#[tokio::test]
async fn every_attempt_starts_again_from_the_cronofy_url() {
    let (fake, body) = serving(
        "audio",
        2 * MIB,
        [Fault {
            drop_at: Some(MIB),
            ..Fault::default()
        }],
    )
    .await;
    fake.single_use_links(true);
    let root = tempfile::tempdir().unwrap();
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
    // S3 and Azure refuse an expired link with 403; Google Cloud Storage, and S3 for a link
    // signed with temporary credentials, with 400.
    for status in [403, 400] {
        let (fake, body) = serving(
            "audio",
            300_000,
            [Fault {
                status: Some((status, None)),
                ..Fault::default()
            }],
        )
        .await;
        let root = tempfile::tempdir().unwrap();
        let report = common::download(root.path(), &body).await;
        assert!(report.is_success(), "{status}: {report:?}");
        assert_eq!(report.resources[0].attempts, 2, "{status}");
        let api = fake.seen().iter().filter(|s| s.side == "api").count();
        assert_eq!(api, 2, "{status}: the retry asked the API for a fresh link");
    }
}

#[tokio::test]
async fn a_server_that_ignores_range_is_restarted_cleanly() {
    let size = 3 * MIB;
    let (fake, body) = serving(
        "video",
        size,
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
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let report = common::download(root.path(), &body).await;

    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    assert_eq!(video.resumed_from, 0, "the 200 replaced what was held");
    assert_eq!(
        video.attempts, 2,
        "the 200 was kept, not refused as too long"
    );
    assert_eq!(
        video.bytes, size,
        "the whole body was not appended onto the partial file"
    );
    assert_eq!(sha256_file(&file_of(&video.location)), fake.sha256("video"));
}

#[tokio::test]
async fn a_resource_that_changed_between_attempts_is_fetched_again_whole() {
    let size = 2 * MIB;
    let (fake, body) = serving(
        "video",
        size,
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
    )
    .await;
    let first = fake.content("video");
    let root = tempfile::tempdir().unwrap();
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
    let storage = fake.storage_requests();
    assert_eq!(
        storage[1].status, 200,
        "If-Range no longer matched, so the server sent it whole"
    );
}

#[tokio::test]
async fn a_stalled_body_times_out_and_resumes() {
    let size = 2 * MIB;
    let (_serving, body) = serving(
        "audio",
        size,
        [Fault {
            stall_at: Some((MIB, Duration::from_secs(3))),
            ..Fault::default()
        }],
    )
    .await;
    let root = tempfile::tempdir().unwrap();
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
    let (fake, body) = serving(
        "audio",
        size,
        [Fault {
            overstate_length: Some(1000),
            ..Fault::default()
        }],
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let report = common::download(root.path(), &body).await;
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.attempts, 2);
    assert_eq!(sha256_file(&file_of(&audio.location)), fake.sha256("audio"));
}

/// A resumed body that goes on past the end its `Content-Range` declares is not trusted: what
/// was held is dropped and the next attempt fetches the whole resource again.
#[tokio::test]
async fn a_range_that_ends_cleanly_short_of_its_content_range_is_resumed() {
    // A chunked 206 has no Content-Length to hold it to; its Content-Range still says where the
    // resource ends, and a body that stops before it is a cut, not the whole file.
    let size = 2 * MIB;
    let (fake, body) = serving(
        "video",
        size,
        [
            Fault {
                drop_at: Some(size / 2),
                ..Fault::default()
            },
            Fault {
                chunked: true,
                end_at: Some(size * 3 / 4),
                ..Fault::default()
            },
        ],
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let report = common::download(root.path(), &body).await;

    let video = &report.resources[0];
    assert!(video.is_success(), "{video:?}");
    assert_eq!(video.attempts, 3, "cut, ended short, then the rest");
    assert_eq!(video.bytes, size);
    assert_eq!(sha256_file(&file_of(&video.location)), fake.sha256("video"));
    let storage = fake.storage_requests();
    assert_eq!(storage.len(), 3);
    assert_eq!(storage[2].status, 206, "the third attempt resumed");
}

#[tokio::test]
async fn a_body_longer_than_declared_is_refused_and_fetched_again_whole() {
    let size = MIB;
    let (fake, body) = serving(
        "audio",
        size,
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
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let events = Events::default();
    let report = builder(root.path())
        .on_progress(events.handler())
        .download_body(&body)
        .await;
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
    let storage = fake.storage_requests();
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
    // Slow the body down past the half-way mark so the cancellation lands mid-transfer.
    let (fake, body) = serving(
        "video",
        size,
        [Fault {
            stall_at: Some((size / 2, Duration::from_secs(2))),
            ..Fault::default()
        }],
    )
    .await;
    let root = tempfile::tempdir().unwrap();
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
async fn attempts_that_make_progress_do_not_count_toward_giving_up() {
    // Five cuts, each after more bytes than the last: six attempts where two in a row without
    // progress would give up. A multi-GB video on a flaky link keeps going while it moves.
    let size = MIB;
    let (fake, body) = serving(
        "audio",
        size,
        (1..=5).map(|sixths| Fault {
            drop_at: Some(size * sixths / 6),
            ..Fault::default()
        }),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let downloader = builder(root.path())
        .retry(common::quick_retries().max_attempts_without_progress(2))
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.attempts, 6);
    assert_eq!(sha256_file(&file_of(&audio.location)), fake.sha256("audio"));
}

#[tokio::test]
async fn giving_up_leaves_nothing_at_the_final_path_and_records_the_failure() {
    let (_serving, body) = serving(
        "audio",
        MIB,
        (0..10).map(|_| Fault {
            status: Some((500, None)),
            ..Fault::default()
        }),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
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
