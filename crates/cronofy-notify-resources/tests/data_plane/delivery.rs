//! What a completed meeting leaves behind: files, hashes, manifest, progress.

use std::time::Duration;

use cronofy_notify_core::ResourceCategory;
use cronofy_notify_resources::{
    BuildError, DownloadError, EntryStatus, FileStorage, Location, MemoryStorage, ProgressEvent,
};
use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};

use crate::common::{self, API_KEY, DownloadBody as _, Events, builder, callback, files_below};
use crate::{MIB, fake_with, file_of};

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

/// A recording served as `application/octet-stream` is named by its first bytes, also when its
/// download is resumed from what an earlier attempt left; the manifest keeps the server's type.
#[tokio::test]
async fn a_recording_served_without_a_real_type_is_named_by_its_first_bytes() {
    let recording = |head: &[u8], size: usize| {
        let mut bytes = head.to_vec();
        bytes.resize(size, 0x5A);
        bytes
    };
    let video = recording(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41", 300_000);
    let audio = recording(b"ID3\x04\0\0\0\0\0\x21", 20_000);
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add(
        "video",
        ResourceSpec::fixed(video.clone(), "application/octet-stream"),
    );
    fake.add("audio", ResourceSpec::fixed(audio, "binary/octet-stream"));
    fake.faults(
        "video",
        [Fault {
            drop_at: Some(150_000),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body(
        "agt_1",
        &[
            ("audio", "voice", "audio"),
            ("video", "conference", "video"),
        ],
    );
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert!(report.resources[1].resumed_from > 0, "{report:?}");
    assert_eq!(
        files_below(root.path()),
        [
            "agt_1/audio-voice.mp3",
            "agt_1/manifest.json",
            "agt_1/video-conference.mp4"
        ]
    );
    assert_eq!(
        std::fs::read(root.path().join("agt_1/video-conference.mp4")).unwrap(),
        video
    );
    assert_eq!(
        report.resources[1].content_type.as_deref(),
        Some("application/octet-stream"),
        "the report says what the server said"
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
    // The report's location leads to the same bytes, and says where they are when printed.
    let location = report.resources[0].location.clone().unwrap();
    assert_eq!(location.to_string(), "memory:agt_1/transcript-cronofy");
    assert_eq!(
        memory.at(&location),
        memory.get("agt_1", "transcript-cronofy")
    );
    let elsewhere = Location::File("agt_1/transcript-cronofy".into());
    assert_eq!(memory.at(&elsewhere), None, "not a memory location");
    assert_eq!(elsewhere.to_string(), "agt_1/transcript-cronofy");
    assert!(
        matches!(report.resources[1].error, Some(DownloadError::Storage(_))),
        "the video is over the cap"
    );

    let only_transcript = builder(std::path::Path::new("unused"))
        .storage(MemoryStorage::new(64 * 1024))
        .categories([ResourceCategory::Transcript])
        .download_body(&body)
        .await;
    assert_eq!(only_transcript.resources.len(), 1);
}

/// A memory store shared between meetings holds nothing once each transcript is taken out; one
/// taken out, or a meeting forgotten, is fetched again should the callback come once more.
#[tokio::test]
async fn a_shared_memory_store_holds_what_is_not_taken_out_and_no_more() {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    let transcript = br#"{"transcript":{"paragraphs":[]}}"#;
    fake.add(
        "transcript",
        ResourceSpec::fixed(&transcript[..], "application/json"),
    );
    let memory = MemoryStorage::new(64 * 1024);
    let downloader = builder(std::path::Path::new("unused"))
        .storage(memory.clone())
        .build()
        .unwrap();
    let fetched = || fake.seen().iter().filter(|s| s.side == "storage").count();
    let body = |sub| fake.complete_body(sub, &[("transcript", "cronofy", "transcript")]);
    let location = |report: &cronofy_notify_resources::MeetingReport| {
        report.resources[0].location.clone().unwrap()
    };

    let first = downloader
        .download(&callback(&body("agt_1")))
        .await
        .unwrap();
    let second = downloader
        .download(&callback(&body("agt_2")))
        .await
        .unwrap();
    assert_eq!(memory.held_bytes(), 2 * transcript.len());
    assert_eq!(memory.take(&location(&first)).unwrap(), &transcript[..]);
    assert_eq!(memory.take(&location(&second)).unwrap(), &transcript[..]);
    assert_eq!(memory.held_bytes(), 0);
    assert_eq!(fetched(), 2);

    // Taken out: the same callback again fetches it again, into the store.
    let again = downloader
        .download(&callback(&body("agt_1")))
        .await
        .unwrap();
    assert!(!again.resources[0].skipped);
    assert_eq!(fetched(), 3);
    // Left in: a duplicate costs nothing. Forgotten: fetched anew.
    let duplicate = downloader
        .download(&callback(&body("agt_1")))
        .await
        .unwrap();
    assert!(duplicate.resources[0].skipped);
    assert_eq!(fetched(), 3);
    memory.forget("agt_1");
    assert_eq!(memory.held_bytes(), 0);
    let anew = downloader
        .download(&callback(&body("agt_1")))
        .await
        .unwrap();
    assert!(!anew.resources[0].skipped);
    assert_eq!(fetched(), 4);
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
        .download_body(&body)
        .await;
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

/// A folder that cannot be written says which path failed, not just "Not a directory": the
/// root given as a file stops the meeting; a resource's `.part` that is a folder fails that
/// resource alone, with its path, and the other resources land.
#[tokio::test]
async fn a_storage_failure_names_the_path_it_happened_at() {
    let fake = fake_with(&[
        ("transcript", 9_000, "application/json"),
        ("audio", 50_000, "audio/mpeg"),
    ])
    .await;
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "cronofy", "transcript"),
            ("audio", "voice", "audio"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let error = builder(&file)
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap_err();
    assert!(matches!(error, DownloadError::Storage(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&file.join("agt_1").display().to_string()),
        "{message}"
    );
    assert!(fake.seen().is_empty(), "nothing fetched");

    let root = tempfile::tempdir().unwrap();
    let part = root.path().join("agt_1/audio-voice.part");
    std::fs::create_dir_all(&part).unwrap();
    let report = common::download(root.path(), &body).await;
    let [transcript, audio] = &report.resources[..] else {
        panic!("{report:?}");
    };
    assert!(transcript.is_success(), "{transcript:?}");
    let error = audio.error.as_ref().expect("the audio failed");
    assert!(matches!(error, DownloadError::Storage(_)), "{error:?}");
    assert!(
        error.to_string().contains(&part.display().to_string()),
        "{error}"
    );
}

/// The manifest names each file as JSON text, which cannot hold a path that is not UTF-8: such
/// a folder is refused before anything is fetched, by the builder and by a `FileStorage` given
/// as it is. Every recording was fetched and stored, then the manifest failed, and with it the
/// download; the next one fetched everything again.
#[cfg(unix)]
#[tokio::test]
async fn a_folder_whose_path_is_not_utf8_is_refused_before_anything_is_fetched() {
    use std::os::unix::ffi::OsStrExt as _;

    let fake = fake_with(&[("transcript", 9_000, "application/json")]).await;
    let body = fake.complete_body("agt_1", &[("transcript", "cronofy", "transcript")]);
    let dir = tempfile::tempdir().unwrap();
    let root = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"recordings-\xff"));

    let error = builder(&root).build().unwrap_err();
    assert!(
        matches!(&error, BuildError::RootNotUtf8 { root: refused } if *refused == root),
        "{error:?}"
    );
    assert!(error.to_string().contains("not UTF-8"), "{error}");

    let outcome = builder(dir.path())
        .storage(FileStorage::new(&root))
        .build()
        .unwrap()
        .download(&callback(&body))
        .await;
    let error = match outcome {
        Err(error) => error,
        Ok(report) => report.resources[0].error.clone().expect("refused"),
    };
    assert!(matches!(error, DownloadError::Storage(_)), "{error:?}");
    assert!(error.to_string().contains("not UTF-8"), "{error}");
    assert!(fake.seen().is_empty(), "nothing fetched");
    assert!(!root.exists(), "nothing made");
}
