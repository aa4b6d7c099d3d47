//! The object_store sink, against object_store's own in-memory and local-filesystem stores.
#![cfg(feature = "object-store")]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::upload_store::{Counting, Interloper, PartsInFlight, UploadStore};
use common::{API_KEY, DownloadBody as _, builder, callback};
use cronofy_notify_resources::{DownloadError, Location, ObjectStoreStorage};
use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
use futures::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};

const MIB: u64 = 1 << 20;

async fn stored(store: &dyn ObjectStore, location: &Option<Location>) -> Vec<u8> {
    let Some(Location::Object(path)) = location else {
        panic!("{location:?}")
    };
    store
        .get(&Path::from(path.as_str()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

async fn check_store(store: Arc<dyn ObjectStore>) {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::generated(30_000, "application/json"),
    );
    // Over two 8 MiB parts, with a drop in the middle: resumed into the same upload.
    fake.add("video", ResourceSpec::generated(17 * MIB + 5, "video/mp4"));
    fake.faults(
        "video",
        [Fault {
            drop_at: Some(9 * MIB),
            ..Fault::default()
        }],
    );
    let body = fake.complete_body(
        "agt_1",
        &[
            ("transcript", "cronofy", "transcript"),
            ("video", "conference", "video"),
        ],
    );

    let downloader = builder(std::path::Path::new("unused"))
        .storage(ObjectStoreStorage::new(store.clone(), "recordings"))
        .build()
        .unwrap();
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let [transcript, video] = &report.resources[..] else {
        panic!()
    };
    assert_eq!(
        transcript.location,
        Some(Location::Object(
            "recordings/agt_1/transcript-cronofy.json".into()
        ))
    );
    assert_eq!(
        stored(&*store, &transcript.location).await,
        fake.content("transcript")
    );
    assert_eq!(
        video.location,
        Some(Location::Object(
            "recordings/agt_1/video-conference.mp4".into()
        ))
    );
    assert_eq!(
        stored(&*store, &video.location).await,
        fake.content("video")
    );
    assert_eq!(video.sha256.as_deref(), Some(fake.sha256("video").as_str()));

    let manifest = store
        .get(&Path::from("recordings/agt_1/manifest.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&manifest).contains("video-conference.mp4"));

    // A duplicate is recognised through the store's HEAD.
    let again = downloader.download(&callback(&body)).await.unwrap();
    assert!(again.resources.iter().all(|r| r.skipped));
}

#[tokio::test]
async fn downloads_land_in_an_in_memory_object_store() {
    check_store(Arc::new(object_store::memory::InMemory::new())).await;
}

/// Served as `application/octet-stream`, a recording is named by its first bytes: one sent in
/// parts (named when the first part goes up) and one small enough for a single put.
#[tokio::test]
async fn an_object_of_no_named_type_is_named_by_its_first_bytes() {
    let recording = |head: &[u8], size: u64| {
        let mut bytes = head.to_vec();
        bytes.resize(size as usize, 0x5A);
        bytes
    };
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    let video = recording(b"\0\0\0\x1cftypqt  \0\0\x02\0qt  ", 9 * MIB);
    fake.add(
        "video",
        ResourceSpec::fixed(video.clone(), "application/octet-stream"),
    );
    fake.add(
        "audio",
        ResourceSpec::fixed(recording(b"OggS\0\x02", 5_000), "application/octet-stream"),
    );
    let body = fake.complete_body(
        "agt_1",
        &[
            ("audio", "voice", "audio"),
            ("video", "conference", "video"),
        ],
    );
    let store = Arc::new(object_store::memory::InMemory::new());
    let report = builder(std::path::Path::new("unused"))
        .storage(ObjectStoreStorage::new(store.clone(), "recordings"))
        .download_body(&body)
        .await;
    assert!(report.is_success(), "{report:?}");
    let locations: Vec<_> = report
        .resources
        .iter()
        .map(|r| r.location.clone())
        .collect();
    assert_eq!(
        locations,
        [
            Some(Location::Object("recordings/agt_1/audio-voice.ogg".into())),
            Some(Location::Object(
                "recordings/agt_1/video-conference.mov".into()
            )),
        ]
    );
    assert_eq!(stored(&*store, &locations[1]).await, video);
}

#[tokio::test]
async fn downloads_land_in_a_local_filesystem_object_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    check_store(Arc::new(store)).await;
    assert!(
        dir.path()
            .join("recordings/agt_1/video-conference.mp4")
            .is_file()
    );
}

/// Another process records its resource of the same meeting between this one's read of the
/// manifest and its write: the write, made on the condition that the manifest is still what
/// was read, fails, and the entry is recorded again into theirs, so both are kept.
#[tokio::test]
async fn an_entry_another_writer_recorded_meanwhile_is_kept() {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("audio", ResourceSpec::generated(5_000, "audio/mpeg"));
    fake.add(
        "transcript",
        ResourceSpec::generated(3_000, "application/json"),
    );
    let manifest = Path::from("recordings/agt_1/manifest.json");
    let download = |store: Arc<dyn ObjectStore>, category: &str, kind: &str| {
        let body = fake.complete_body("agt_1", &[(category, kind, category)]);
        async move {
            builder(std::path::Path::new("unused"))
                .storage(ObjectStoreStorage::new(store, "recordings"))
                .download_body(&body)
                .await
        }
    };
    // The other writer's manifest, with the audio in it.
    let elsewhere = Arc::new(object_store::memory::InMemory::new());
    assert!(
        download(elsewhere.clone(), "audio", "voice")
            .await
            .is_success()
    );
    let theirs = elsewhere
        .get(&manifest)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    let store = Arc::new(UploadStore::new(Interloper::new(manifest.clone(), theirs)));
    let report = download(store.clone(), "transcript", "cronofy").await;
    assert!(report.is_success(), "{report:?}");
    assert!(store.interloped.load(Ordering::SeqCst));

    let ours = store.get(&manifest).await.unwrap().bytes().await.unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&ours).unwrap();
    let mut categories: Vec<_> = ours["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["category"].as_str().unwrap())
        .collect();
    categories.sort_unstable();
    assert_eq!(categories, ["audio", "transcript"], "{ours:#}");
}

#[tokio::test]
async fn a_failed_download_aborts_the_upload_and_leaves_no_object() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("video", ResourceSpec::generated(20 * MIB, "video/mp4"));
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = builder(std::path::Path::new("unused"))
        .storage(ObjectStoreStorage::new(store.clone(), ""))
        .max_size(0)
        .download_body(&body)
        .await;
    assert!(matches!(
        report.resources[0].error,
        Some(DownloadError::TooLarge { .. })
    ));
    assert!(
        store
            .head(&Path::from("agt_1/video-conference.mp4"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_upload_stopped_mid_way_is_aborted_with_nothing_visible() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("video", ResourceSpec::generated(20 * MIB, "video/mp4"));
    // Parts go up, then the size limit trips while streaming (no Content-Length to check first).
    fake.faults(
        "video",
        [Fault {
            chunked: true,
            ..Fault::default()
        }],
    );
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = builder(std::path::Path::new("unused"))
        .storage(ObjectStoreStorage::new(store.clone(), ""))
        .max_size(18 * MIB)
        .download_body(&body)
        .await;
    assert!(
        matches!(
            report.resources[0].error,
            Some(DownloadError::TooLarge { .. })
        ),
        "{report:?}"
    );
    assert!(
        store
            .head(&Path::from("agt_1/video-conference.mp4"))
            .await
            .is_err()
    );
    let leftovers = common::files_below(dir.path());
    assert!(
        leftovers.iter().all(|f| f.ends_with("manifest.json")),
        "{leftovers:?}"
    );
}

#[tokio::test]
async fn every_multipart_upload_is_completed_or_aborted() {
    let store = Arc::new(UploadStore::new(Counting::default()));
    let counts = |store: &UploadStore<Counting>| store.uploads();
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    // A drop after the first 8 MiB part is resumed into the same upload; the resume is then
    // answered from the first byte (a server ignoring Range), so the download starts over: a
    // fresh upload, the first one aborted.
    fake.add("video", ResourceSpec::generated(17 * MIB + 5, "video/mp4"));
    fake.faults(
        "video",
        [
            Fault {
                drop_at: Some(9 * MIB),
                ..Fault::default()
            },
            Fault {
                ignore_range: true,
                ..Fault::default()
            },
        ],
    );
    let storage = ObjectStoreStorage::new(store.clone(), "");
    let debug = format!("{storage:?}");
    assert!(
        debug.starts_with("ObjectStoreStorage") && debug.contains("Counting(InMemory)"),
        "{debug}"
    );
    let downloader = builder(std::path::Path::new("unused"))
        .storage(storage)
        .max_size(18 * MIB)
        .build()
        .unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(counts(&store), (2, 1, 1), "(started, completed, aborted)");
    assert_eq!(
        stored(&*store, &report.resources[0].location).await,
        fake.content("video")
    );

    // Parts go up, then the size limit trips mid-stream: that upload is aborted, not left.
    fake.add("big", ResourceSpec::generated(20 * MIB, "video/mp4"));
    fake.faults(
        "big",
        [Fault {
            chunked: true,
            ..Fault::default()
        }],
    );
    let body = fake.complete_body("agt_2", &[("video", "conference", "big")]);
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(
        matches!(
            report.resources[0].error,
            Some(DownloadError::TooLarge { .. })
        ),
        "{report:?}"
    );
    assert_eq!(counts(&store), (3, 1, 2), "(started, completed, aborted)");

    // Smaller than a part: one plain PUT, atomic too, and no multipart upload at all.
    fake.add(
        "transcript",
        ResourceSpec::generated(200_000, "application/json"),
    );
    let body = fake.complete_body("agt_3", &[("transcript", "cronofy", "transcript")]);
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        counts(&store),
        (3, 1, 2),
        "no upload started for a small object"
    );
    assert_eq!(
        stored(&*store, &report.resources[0].location).await,
        fake.content("transcript")
    );
}

/// Downloads a 25 MiB video (three full parts and a tail) into a store that holds each part
/// until three upload together, or `hold` has passed; the most parts that uploaded at once.
async fn most_parts_in_flight(allowed: Option<usize>, hold: std::time::Duration) -> usize {
    let store = Arc::new(UploadStore::new(Counting {
        parts: Arc::new(PartsInFlight {
            hold: Some((3, hold)),
            ..PartsInFlight::default()
        }),
        ..Counting::default()
    }));
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("video", ResourceSpec::generated(25 * MIB + 5, "video/mp4"));
    let mut storage = ObjectStoreStorage::new(store.clone(), "");
    if let Some(parts) = allowed {
        storage = storage.with_parts_in_flight(parts);
    }
    let downloader = builder(std::path::Path::new("unused"))
        .storage(storage)
        .build()
        .unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let report = downloader.download(&callback(&body)).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        stored(&*store, &report.resources[0].location).await,
        fake.content("video")
    );
    assert_eq!(
        store.parts.now.load(Ordering::SeqCst),
        0,
        "every part awaited"
    );
    // All parts but the last of one size (R2 requires it), over the 5 MiB S3 requires.
    let sizes = store.parts.sizes.lock().unwrap().clone();
    assert_eq!(sizes, [8 << 20, 8 << 20, 8 << 20, (MIB + 5) as usize]);
    store.parts.most.load(Ordering::SeqCst)
}

/// A part uploads while the next is downloaded: as many at once as allowed, never more, and
/// the object is whole either way.
#[tokio::test]
async fn parts_upload_together_up_to_the_number_allowed() {
    // Held until three upload together: they do, however slowly the parts come.
    let long = std::time::Duration::from_secs(10);
    assert_eq!(most_parts_in_flight(Some(3), long).await, 3);
    // Held as long, two at the most by default, one when so configured: the holds end by
    // time, and no third part starts meanwhile.
    let short = std::time::Duration::from_millis(200);
    assert!(most_parts_in_flight(None, short).await <= 2);
    assert_eq!(most_parts_in_flight(Some(1), short).await, 1);
    assert_eq!(
        most_parts_in_flight(Some(0), short).await,
        1,
        "0 counts as 1"
    );
}

/// A part the store refuses, whether a middle one (met while later parts are sent) or the last
/// (met when the upload finishes), fails the resource and aborts the upload: no object, no
/// parts left behind.
#[tokio::test]
async fn a_part_the_store_refuses_aborts_the_upload() {
    for refused in [2, 4] {
        let store = Arc::new(UploadStore::new(Counting {
            parts: Arc::new(PartsInFlight {
                refuse: Some(refused),
                ..PartsInFlight::default()
            }),
            ..Counting::default()
        }));
        let fake = FakeCronofy::start(API_KEY).await.unwrap();
        fake.add("video", ResourceSpec::generated(25 * MIB + 5, "video/mp4"));
        let downloader = builder(std::path::Path::new("unused"))
            .storage(ObjectStoreStorage::new(store.clone(), ""))
            .build()
            .unwrap();
        let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
        let report = downloader.download(&callback(&body)).await.unwrap();
        let error = report.resources[0]
            .error
            .as_ref()
            .expect("the resource failed");
        assert!(
            matches!(error, DownloadError::Storage { .. }),
            "part {refused}: {error:?}"
        );
        assert!(
            format!("{error:#}").contains(&format!("part {refused} refused")),
            "part {refused}: {error:#}"
        );
        let started = store.started.load(Ordering::SeqCst);
        let aborted = store.aborted.load(Ordering::SeqCst);
        assert_eq!(
            (started, store.completed.load(Ordering::SeqCst), aborted),
            (1, 0, 1),
            "part {refused}: (started, completed, aborted)"
        );
        let objects: Vec<_> = store
            .inner
            .list(None)
            .map(|meta| meta.unwrap().location.to_string())
            .collect()
            .await;
        assert!(
            objects.iter().all(|o| o.ends_with("manifest.json")),
            "part {refused}: {objects:?}"
        );
    }
}
