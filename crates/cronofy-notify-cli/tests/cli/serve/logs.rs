//! `--log-format json`: what `serve` writes to standard error is one JSON object per line, for
//! a log collector, with each event's fields at its top level.

use cronofy_notify_test_support::vectors;

use super::{send, serve_with};
use crate::code;

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
