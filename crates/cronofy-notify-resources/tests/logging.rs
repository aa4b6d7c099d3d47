//! Logs: a span per resource, and never the API key or a pre-signed query.
//!
//! Alone in its own test binary: tracing caches per-callsite interest process-wide, so a test
//! running beside others on other threads could miss events.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::API_KEY;
use cronofy_notify_test_support::fake::{ApiFault, FakeCronofy, Fault, ResourceSpec};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_have_a_span_per_resource_and_never_the_api_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

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
    let report = common::download(root.path(), &body).await;
    assert!(report.resources[0].is_success() && !report.resources[1].is_success());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("cronofy_resource{sub=agt_1 resource=audio-voice}"),
        "{logs}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("401"), "{logs}");
    assert!(
        !logs.contains(API_KEY),
        "the API key reached the logs:\n{logs}"
    );
    assert!(
        !logs.contains("X-Amz-Signature"),
        "a pre-signed query reached the logs:\n{logs}"
    );
}
