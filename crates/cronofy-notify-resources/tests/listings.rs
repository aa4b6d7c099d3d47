//! What a callback lists: more than one resource of a kind, the same one twice, names that meet.

mod common;

use cronofy_notify_core::{ResourceCategory, ResourceType};
use cronofy_notify_resources::{EntryStatus, Location, Manifest, ResourceKey};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server with one body per path, each to be fetched exactly once.
async fn serving_once(bodies: &[(&str, &str)]) -> MockServer {
    let server = MockServer::start().await;
    for (at, body) in bodies {
        Mock::given(method("GET"))
            .and(path(*at))
            .respond_with(ResponseTemplate::new(200).set_body_raw(*body, "video/mp4"))
            .expect(1)
            .mount(&server)
            .await;
    }
    server
}

/// A completion callback listing `(category, type, path)` on `server`.
fn listing(server: &MockServer, resources: &[(&str, &str, &str)]) -> Vec<u8> {
    let resources: Vec<_> = resources
        .iter()
        .map(|(category, kind, at)| {
            serde_json::json!({"category": category, "type": kind, "url": format!("{}{at}", server.uri())})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "notification": {"type": "event_subscription", "interactions": [{"type": "meeting_agent_complete"}]},
        "meeting_agent": {"sub": "agt_1", "resources": resources}
    }))
    .unwrap()
}

fn file_text(location: Option<&Location>) -> String {
    match location {
        Some(Location::File(path)) => std::fs::read_to_string(path).unwrap(),
        other => panic!("not a file: {other:?}"),
    }
}

fn manifest(root: &std::path::Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(root.join("agt_1/manifest.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn two_resources_of_one_kind_are_both_kept_under_names_of_their_own() {
    let server = serving_once(&[("/v1", "first recording"), ("/v2", "second recording")]).await;
    let body = listing(
        &server,
        &[
            ("video", "conference", "/v1"),
            ("video", "conference", "/v2"),
        ],
    );
    let root = tempfile::tempdir().unwrap();

    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    let [first, second] = &report.resources[..] else {
        panic!("{report:?}")
    };
    assert_eq!((first.occurrence, second.occurrence), (1, 2));
    assert_eq!(file_text(first.location.as_ref()), "first recording");
    assert_eq!(file_text(second.location.as_ref()), "second recording");
    assert_eq!(
        common::files_below(&root.path().join("agt_1")),
        [
            "manifest.json",
            "video-conference-2.mp4",
            "video-conference.mp4"
        ]
    );
    let manifest = manifest(root.path());
    let video = ResourceKey::new(
        "agt_1",
        ResourceCategory::Video,
        Some(ResourceType::Conference),
    );
    let second_entry = manifest
        .entry_for(&video.clone().with_occurrence(2))
        .unwrap();
    assert_eq!(second_entry.status, EntryStatus::Complete);
    assert!(second_entry.source_url.ends_with("/v2"));
    assert!(
        manifest
            .entry_for(&video)
            .unwrap()
            .source_url
            .ends_with("/v1")
    );

    // Delivered again: both are complete, neither is fetched again (the mocks expect one GET each).
    let again = common::download(root.path(), &body).await;
    assert!(again.resources.iter().all(|r| r.skipped), "{again:?}");
    assert_eq!(
        file_text(again.resources[1].location.as_ref()),
        "second recording"
    );
}

#[tokio::test]
async fn a_resource_listed_twice_is_fetched_once() {
    let server = serving_once(&[("/v", "the recording")]).await;
    let body = listing(
        &server,
        &[("video", "conference", "/v"), ("video", "conference", "/v")],
    );
    let root = tempfile::tempdir().unwrap();

    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources.len(), 1, "{report:?}");
    assert_eq!(
        common::files_below(&root.path().join("agt_1")),
        ["manifest.json", "video-conference.mp4"]
    );
}

#[tokio::test]
async fn types_whose_names_meet_still_get_a_file_each() {
    // `conference-2` is named `video-conference-2`, the name a second `conference` would take.
    let server = serving_once(&[("/a", "a"), ("/b", "b"), ("/c", "c")]).await;
    let body = listing(
        &server,
        &[
            ("video", "conference-2", "/a"),
            ("video", "conference", "/b"),
            ("video", "conference", "/c"),
        ],
    );
    let root = tempfile::tempdir().unwrap();

    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    let kept: Vec<_> = report
        .resources
        .iter()
        .map(|r| file_text(r.location.as_ref()))
        .collect();
    assert_eq!(kept, ["a", "b", "c"]);
    assert_eq!(common::files_below(&root.path().join("agt_1")).len(), 4);
}
