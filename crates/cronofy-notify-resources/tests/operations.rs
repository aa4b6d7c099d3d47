//! What an operator relies on: concurrency limits, an injected client and progress bars.

mod common;

use std::time::Duration;

use common::{API_KEY, DownloadBody as _, builder, callback};
use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};

async fn three_slow_resources() -> (FakeCronofy, Vec<u8>) {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    let mut listed = Vec::new();
    for (category, kind) in [
        ("transcript", "cronofy"),
        ("audio", "voice"),
        ("video", "conference"),
    ] {
        fake.add(
            category,
            ResourceSpec::generated(300_000, "application/octet-stream"),
        );
        // Each body pauses at its first byte, so transfers that may overlap do.
        fake.faults(
            category,
            [Fault {
                stall_at: Some((0, Duration::from_millis(150))),
                ..Fault::default()
            }],
        );
        listed.push((category, kind, category));
    }
    let body = fake.complete_body("agt_1", &listed);
    (fake, body)
}

#[tokio::test]
async fn resources_download_concurrently_up_to_the_global_limit() {
    let (fake, body) = three_slow_resources().await;
    let root = tempfile::tempdir().unwrap();
    let report = builder(root.path())
        .concurrency(3)
        .download_body(&body)
        .await;
    assert!(report.is_success());
    assert_eq!(fake.max_in_flight(), 3);

    let (fake, body) = three_slow_resources().await;
    let root = tempfile::tempdir().unwrap();
    let report = builder(root.path())
        .concurrency(1)
        .download_body(&body)
        .await;
    assert!(report.is_success());
    assert_eq!(fake.max_in_flight(), 1);
}

#[tokio::test]
async fn the_per_host_limit_holds_when_the_global_one_allows_more() {
    let (fake, body) = three_slow_resources().await;
    let root = tempfile::tempdir().unwrap();
    let report = builder(root.path())
        .concurrency(8)
        .per_host_concurrency(2)
        .download_body(&body)
        .await;
    assert!(report.is_success());
    assert_eq!(fake.max_in_flight(), 2);
}

#[tokio::test]
async fn an_injected_client_is_the_one_used() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::header("x-injected", "yes"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw("ok", "text/plain"))
        .expect(1)
        .mount(&server)
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-injected",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "notification": {"type": "event_subscription"},
        "meeting_agent": {"sub": "agt_1", "resources": [{"category": "transcript", "type": "cronofy", "url": format!("{}/t", server.uri())}]}
    }))
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let report = builder(root.path())
        .client(client)
        .download_body(&body)
        .await;
    assert!(report.is_success(), "{report:?}");
}

/// A client injected without `Policy::none()` follows the redirect itself. The answer is still
/// the storage side's: its 403 (an expired link) is renewed through the API, not taken for the
/// API refusing the key.
#[tokio::test]
async fn an_injected_client_that_follows_redirects_still_renews_an_expired_link() {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("audio", ResourceSpec::generated(300_000, "audio/mpeg"));
    fake.faults(
        "audio",
        [Fault {
            status: Some((403, None)),
            ..Fault::default()
        }],
    );
    let root = tempfile::tempdir().unwrap();
    let report = builder(root.path())
        .client(reqwest::Client::new())
        .build()
        .unwrap()
        .download(&callback(
            &fake.complete_body("agt_1", &[("audio", "voice", "audio")]),
        ))
        .await
        .unwrap();
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(audio.attempts, 2);
    assert!(
        fake.storage_requests()
            .iter()
            .all(|seen| seen.authorization.is_none()),
        "the key never reached the storage side"
    );
}

#[cfg(feature = "progress")]
#[tokio::test]
async fn indicatif_bars_follow_a_download_to_the_end() {
    use cronofy_notify_resources::IndicatifProgress;
    use indicatif::{MultiProgress, ProgressDrawTarget};

    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    fake.add("audio", ResourceSpec::generated(3 << 20, "audio/mpeg"));
    fake.faults(
        "audio",
        [Fault {
            drop_at: Some(1 << 20),
            ..Fault::default()
        }],
    );
    let bars =
        IndicatifProgress::new(MultiProgress::with_draw_target(ProgressDrawTarget::hidden()));
    let root = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
    let report = builder(root.path())
        .on_progress(bars.handler())
        .download_body(&body)
        .await;
    assert!(report.is_success());
    let bar = bars
        .bar_for(&cronofy_notify_resources::ResourceKey::new(
            "agt_1",
            "audio".into(),
            Some("voice".into()),
        ))
        .expect("a bar");
    assert!(bar.is_finished());
    assert_eq!(bar.position(), 3 << 20);
    assert_eq!(bar.length(), Some(3 << 20));
}
