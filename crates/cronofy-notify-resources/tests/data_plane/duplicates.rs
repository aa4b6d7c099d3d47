//! A callback delivered again, at once or later, and a second process on the same folder.

use std::time::Duration;

use cronofy_notify_core::ResourceCategory;
use cronofy_notify_resources::{DownloadError, DownloaderBuilder, ProgressEvent};
use cronofy_notify_test_support::fake::Fault;

use crate::common::{self, DownloadBody as _, builder, callback, sha256_file};
use crate::fake_with;

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

/// Manifests are written whole or not at all: one that cannot be read was changed by something
/// else. The download stops before a request, says where the manifest is and what to do, and
/// leaves it as it was; moved aside, the meeting is recorded afresh.
#[tokio::test]
async fn a_manifest_that_cannot_be_read_stops_the_download_and_says_what_to_do() {
    let fake = fake_with(&[("transcript", 9_000, "application/json")]).await;
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("transcript", "cronofy", "transcript")]);
    let manifest = root.path().join("agt_1/manifest.json");
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    std::fs::write(&manifest, b"{\"sub\": \"agt_1\", \"resour").unwrap();
    let downloader = builder(root.path()).build().unwrap();

    let error = downloader.download(&callback(&body)).await.unwrap_err();
    assert!(
        matches!(&error, DownloadError::Storage(io) if io.kind() == std::io::ErrorKind::InvalidData),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&manifest.display().to_string()) && message.contains("move it aside"),
        "{message}"
    );
    assert!(fake.seen().is_empty(), "nothing fetched");
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        b"{\"sub\": \"agt_1\", \"resour",
        "left as it was"
    );

    std::fs::rename(&manifest, manifest.with_extension("json.old")).unwrap();
    assert!(
        downloader
            .download(&callback(&body))
            .await
            .unwrap()
            .is_success()
    );
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
    let (first, started) = telling_when_started(builder(root.path()));
    let first = call(first.build().unwrap());
    // The second starts once the first has its file open and bytes flowing.
    started.await;
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

/// Two processes, each fetching part of one meeting into the same folder (here one the video,
/// the other the transcript, or each the resource the other found busy), both read the
/// manifest before either wrote it: each must keep the other's entries when it records its own,
/// or a later call fetches again what is already stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_finishing_parts_of_one_meeting_both_keep_their_entries() {
    let fake = fake_with(&[
        ("transcript", 9_000, "application/json"),
        ("video", 3 << 20, "video/mp4"),
    ])
    .await;
    // The video's process reads the manifest, then is still streaming when the other is done.
    fake.faults(
        "video",
        [Fault {
            stall_at: Some((1 << 20, Duration::from_millis(1500))),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body(
        "agt_parts",
        &[
            ("transcript", "cronofy", "transcript"),
            ("video", "conference", "video"),
        ],
    );
    let (video_process, started) =
        telling_when_started(builder(root.path()).categories([ResourceCategory::Video]));
    let video_process = video_process.build().unwrap();
    let video = {
        let body = body.clone();
        tokio::spawn(async move { video_process.download(&callback(&body)).await.unwrap() })
    };
    started.await;
    let transcript = builder(root.path())
        .categories([ResourceCategory::Transcript])
        .download_body(&body)
        .await;
    assert!(transcript.is_success(), "{transcript:?}");
    let video = video.await.unwrap();
    assert!(video.is_success(), "{video:?}");

    // Both are recorded: a call for the whole meeting fetches nothing.
    let requests = fake.seen().len();
    let again = common::download(root.path(), &body).await;
    assert!(
        again.resources.iter().all(|r| r.skipped),
        "fetched again: {again:?}"
    );
    assert_eq!(fake.seen().len(), requests);
}

/// `builder` with a progress callback that tells when a resource starts streaming (its file
/// open, bytes flowing), and the wait for that moment (at most 20 seconds).
fn telling_when_started(
    builder: DownloaderBuilder,
) -> (DownloaderBuilder, impl Future<Output = ()>) {
    let (started_tx, started) = std::sync::mpsc::channel();
    let started_tx = std::sync::Mutex::new(started_tx);
    let builder = builder.on_progress(move |event| {
        if matches!(event, ProgressEvent::Started { .. }) {
            let _ = started_tx.lock().unwrap().send(());
        }
    });
    let wait = async move {
        tokio::task::spawn_blocking(move || started.recv_timeout(Duration::from_secs(20)))
            .await
            .unwrap()
            .expect("the download started");
    };
    (builder, wait)
}
