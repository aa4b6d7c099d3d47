//! The object_store sink, against object_store's own in-memory and local-filesystem stores.
#![cfg(feature = "object-store")]

mod common;

use std::sync::Arc;

use common::{API_KEY, builder, callback};
use cronofy_notify_resources::{DownloadError, Location, ObjectStoreStorage};
use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
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
    // Over two 8 MiB parts, with a drop in the middle: the restart begins a fresh upload.
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
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
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
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
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
