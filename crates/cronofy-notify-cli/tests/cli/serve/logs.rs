//! What `serve` writes to standard error: with `--log-format json`, one JSON object per line,
//! for a log collector, with each event's fields at its top level; and when it cannot be
//! written, nothing that stops the service.

use cronofy_notify_test_support::fake::{FakeCronofy, ResourceSpec};
use cronofy_notify_test_support::vectors;

use super::{assert_audio_filed, send, send_complete, serve_with};
use crate::code;
#[cfg(target_os = "linux")]
use crate::full_device;

/// Every line of `log` as a JSON object; a line that is not one fails the test, naming it.
fn json_lines(log: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    log.lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(serde_json::Value::Object(event)) => event,
            _ => panic!("not a JSON object: {line:?}\nin:\n{log}"),
        })
        .collect()
}

#[test]
fn serve_with_json_logs_writes_nothing_but_json_lines() {
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut serve = serve_with(out.path(), |command| {
        command
            .args(["--secret", &vectors::secret("A"), "--log-format", "json"])
            .env("RUST_LOG", "info")
            .stderr(log.reopen().unwrap());
    });
    let sent = send(&serve, &vectors::secret("A"), &["--sample", "activated"]);
    assert_eq!(code(&sent), 0);
    let forged = send(&serve, "forged-secret-2b7e", &["--sample", "activated"]);
    assert_eq!(code(&forged), 1);
    serve.terminate();

    let logged = std::fs::read_to_string(log.path()).unwrap();
    let events = json_lines(&logged);
    for event in &events {
        assert!(event["level"].is_string() && event["message"].is_string());
        assert!(event["timestamp"].is_string() && event["target"].is_string());
    }
    let with_message = |message: &str| {
        events
            .iter()
            .find(|e| e["message"].as_str().unwrap().starts_with(message))
            .unwrap_or_else(|| panic!("no {message:?} in:\n{logged}"))
    };
    let started = with_message("receiving Cronofy callbacks");
    assert_eq!(started["body_limit"], 256 * 1024, "fields at the top level");
    assert_eq!(
        with_message("genuine callback")["callback"],
        "meeting_agent_activated for agt_692702a100ccd07000000000"
    );
    let report = with_message("refused 1 request");
    assert_eq!(
        (&report["level"], &report["refused"]),
        (&"WARN".into(), &1.into())
    );
    assert!(!logged.contains("forged-secret-2b7e") && !logged.contains(&vectors::secret("A")));
}

/// A log that cannot be written (standard error on a full disk) costs the log lines, not the
/// service: in either format, at every level, `serve` starts, answers and files a completed
/// meeting's recordings, and stops cleanly. It used to panic at its first line.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn serve_carries_on_when_its_log_cannot_be_written() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("audio", ResourceSpec::generated(64 << 10, "audio/mpeg"));
    let out = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        let mut serve = serve_with(out.path(), |command| {
            command
                .args(["--secret", &vectors::secret("A"), "--categories", "audio"])
                .args(["--log-format", format])
                .env("RUST_LOG", "trace")
                .stderr(full_device());
        });
        let sub = format!("agt_unlogged_{format}");
        let sent = send_complete(&serve, &vectors::secret("A"), &sub, &fake);
        assert_eq!(code(&sent), 0, "{format}");
        assert_audio_filed(out.path(), &sub, &fake);
        assert!(serve.terminate().success(), "{format}");
    }
}
