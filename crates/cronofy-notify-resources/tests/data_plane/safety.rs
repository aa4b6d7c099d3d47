//! What a hostile payload or server cannot do: take the key, fill the disk, escape the root.

use cronofy_notify_core::ResourceCategory;
use cronofy_notify_resources::{DownloadError, ResourceReport, RetryPolicy};
use cronofy_notify_test_support::fake::{ApiFault, FakeCronofy, Fault, ResourceSpec};

use crate::common::{self, API_KEY, DownloadBody as _, builder, callback, files_below};
use crate::{MIB, fake_with, file_of};

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
    let debug = format!("{downloader:?}");
    assert!(
        debug.starts_with("Downloader") && debug.contains("api_key: \"[redacted]\""),
        "the Debug output still says what it is, the key in its place: {debug}"
    );
}

#[tokio::test]
async fn a_sub_that_climbs_out_of_the_root_stays_inside_it() {
    let fake = fake_with(&[("transcript", 1_000, "application/json")]).await;
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    for sub in ["../../escape", "..", "/etc/passwd", "a/../../b"] {
        let body = fake.complete_body(sub, &[("transcript", "cronofy", "transcript")]);
        let report = builder(&root).download_body(&body).await;
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

/// Downloads a `size`-byte video, served chunked or with its length, under a `max_size` of
/// 1 MiB; gives its report and the folder it went to.
async fn video_under_a_1_mib_limit(
    size: u64,
    chunked: bool,
) -> (ResourceReport, tempfile::TempDir) {
    let fake = fake_with(&[("video", size, "video/mp4")]).await;
    fake.faults(
        "video",
        [Fault {
            chunked,
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("video", "conference", "video")]);
    let mut report = builder(root.path())
        .max_size(MIB)
        .download_body(&body)
        .await;
    (report.resources.remove(0), root)
}

#[tokio::test]
async fn a_resource_over_the_size_limit_is_refused_before_a_byte_is_written() {
    let (video, root) = video_under_a_1_mib_limit(2 * MIB, false).await;
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
async fn a_resource_of_exactly_the_size_limit_is_fetched_declared_or_chunked() {
    for chunked in [false, true] {
        let (video, _root) = video_under_a_1_mib_limit(MIB, chunked).await;
        assert!(video.is_success(), "chunked: {chunked}: {video:?}");
        assert_eq!(video.bytes, MIB);
    }
}

#[tokio::test]
async fn a_chunked_body_over_the_size_limit_is_stopped_while_streaming() {
    let (video, root) = video_under_a_1_mib_limit(3 * MIB, true).await;
    assert!(
        matches!(video.error, Some(DownloadError::TooLarge { limit, size }) if limit == MIB && size > MIB),
        "{video:?}"
    );
    assert_eq!(files_below(root.path()), ["agt_1/manifest.json"]);
}
