//! Logs: a span per resource, warnings only for failures, and never the API key or a pre-signed query.
//!
//! Alone in its own test binary: tracing caches per-callsite interest process-wide, so a test
//! running beside others on other threads could miss events.

mod common;

use common::API_KEY;
use cronofy_notify_test_support::fake::{ApiFault, FakeCronofy, Fault, ResourceSpec};
use cronofy_notify_test_support::logs::Captured;

#[tokio::test]
async fn logs_have_a_span_per_resource_and_never_the_api_key() {
    let captured = Captured::default();
    let _default = tracing::subscriber::set_default(captured.subscriber());

    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("audio", ResourceSpec::generated(2 << 20, "audio/mpeg"));
    fake.faults(
        "audio",
        [Fault {
            drop_at: Some(1 << 20),
            ..Fault::default()
        }],
    );
    fake.add("video", ResourceSpec::generated(1000, "video/mp4"));
    fake.api_faults(
        "video",
        [ApiFault {
            status: Some((401, None)),
            ..ApiFault::default()
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
    // Two more that cannot be fetched: one says not what it is, the other not where it is.
    let mut body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let resources = body["meeting_agent"]["resources"].as_array_mut().unwrap();
    resources.push(serde_json::json!({"type": "conference", "url": "https://api.cronofy.com/x"}));
    resources.push(serde_json::json!({"category": "transcript", "type": "cronofy"}));
    let body = serde_json::to_vec(&body).unwrap();
    let report = common::download(root.path(), &body).await;
    assert_eq!(report.resources.len(), 2, "{report:?}");
    assert!(report.resources[0].is_success() && !report.resources[1].is_success());

    let logs = captured.text();
    assert!(
        logs.contains("cronofy_resource{sub=agt_1 resource=audio-voice}"),
        "{logs}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    assert!(
        logs.contains("a resource without a category is not fetched"),
        "{logs}"
    );
    assert!(
        logs.contains("a resource without a URL cannot be fetched"),
        "{logs}"
    );
    assert!(logs.contains("401"), "{logs}");
    assert!(
        logs.lines()
            .any(|line| line.contains(" WARN ") && line.contains("failed") && line.contains("401")),
        "a resource that failed is a warning:\n{logs}"
    );
    assert!(
        !logs.contains(API_KEY),
        "the API key reached the logs:\n{logs}"
    );
    assert!(
        !logs.contains("X-Amz-Signature"),
        "a pre-signed query reached the logs:\n{logs}"
    );

    // Stopped by its caller (a shutdown): said at INFO, not warned of as a failure.
    let body = fake.complete_body("agt_2", &[("audio", "voice", "audio")]);
    let cancel = cronofy_notify_resources::CancellationToken::new();
    cancel.cancel();
    let report = common::builder(root.path())
        .build()
        .unwrap()
        .download_with_cancel(&common::callback(&body), cancel)
        .await
        .unwrap();
    assert!(report.resources[0].error.as_ref().unwrap().is_cancelled());
    let logs = captured.text();
    let stopped = logs
        .lines()
        .find(|line| line.contains("agt_2") && line.contains("cancelled"))
        .unwrap_or_else(|| panic!("no line for the cancelled download:\n{logs}"));
    assert!(
        stopped.contains(" INFO ") && stopped.contains("kept for a resume"),
        "{stopped}"
    );
}
