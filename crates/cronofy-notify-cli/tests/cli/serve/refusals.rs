//! Refused requests are logged one by one only at DEBUG (anyone can reach the endpoint), so at
//! the default level `serve` reports them as one warning per interval: by reason, without a
//! secret, and once more on stopping.

use std::time::Duration;

use cronofy_notify_test_support::logs::counted;
use cronofy_notify_test_support::vectors;

use super::{Serve, post_raw, send, serve_with, wait_until};
use crate::code;

const FORGED_SECRET: &str = "forged-secret-4f1c9a";

/// `serve` with `args` after the secret, its log in `log`.
fn serve_logging_to(out: &std::path::Path, log: &tempfile::NamedTempFile, args: &[&str]) -> Serve {
    serve_with(out, |command| {
        command
            .args(["--secret", &vectors::secret("A")])
            .args(args)
            .stderr(log.reopen().unwrap());
    })
}

fn reports(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(" refused ")).collect()
}

#[test]
fn serve_reports_refusals_by_reason_at_most_once_per_interval() {
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    // Reports every 3 s: the burst below takes a fraction of that even on a loaded machine, so
    // it spans at most two reports.
    let serve = serve_logging_to(out.path(), &log, &["--report-refusals-every", "3"]);

    // A burst: 20 signed with another secret, 1 unsigned, 1 over the body limit.
    let body = br#"{"notification":{"type":"event_subscription"}}"#;
    let forged = cronofy_notify_core::Signer::new([FORGED_SECRET])
        .unwrap()
        .sign(body);
    for _ in 0..20 {
        let head = format!(
            "POST /cronofy HTTP/1.1\r\nHost: x\r\nCronofy-HMAC-SHA256: {forged}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        assert_eq!(post_raw(serve.addr, &head, body), 401);
    }
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    assert_eq!(post_raw(serve.addr, &head, body), 401);
    let head = "POST / HTTP/1.1\r\nHost: x\r\nCronofy-HMAC-SHA256: x\r\n\
                Content-Length: 1048576\r\nConnection: close\r\n\r\n";
    assert_eq!(post_raw(serve.addr, head, b"{}"), 413);
    // Genuine callbacks are not refusals.
    let sent = send(&serve, &vectors::secret("A"), &["--sample", "activated"]);
    assert_eq!(code(&sent), 0, "{}", String::from_utf8_lossy(&sent.stderr));

    let read = || std::fs::read_to_string(log.path()).unwrap();
    let total = |log: &str| counted(log, " request");
    assert!(
        wait_until(Duration::from_secs(20), || total(&read()) >= 22),
        "reported: {}",
        read()
    );
    // One more interval: nothing is counted twice.
    std::thread::sleep(Duration::from_millis(3500));
    let logged = read();
    assert_eq!(total(&logged), 22, "{logged}");
    assert_eq!(
        counted(&logged, "with a signature that does not match"),
        20,
        "{logged}"
    );
    assert_eq!(counted(&logged, "without a signature"), 1, "{logged}");
    assert_eq!(counted(&logged, "over the body limit"), 1, "{logged}");
    // One line for the burst (two, should a report fall in the middle of it), not one each.
    let lines = reports(&logged);
    assert!((1..=2).contains(&lines.len()), "{logged}");
    // An interval with nothing refused says nothing.
    assert!(lines.iter().all(|l| counted(l, " request") > 0), "{logged}");
    assert!(lines.iter().all(|l| l.contains("WARN")), "{logged}");
    assert!(logged.contains("--secret is not this Cronofy application's client secret"));
    for secret in [
        FORGED_SECRET,
        vectors::secret("A").as_str(),
        forged.as_str(),
    ] {
        assert!(!logged.contains(secret), "{logged}");
    }
}

#[test]
fn serve_reports_on_stopping_what_it_refused_since_the_last_report() {
    for (every, reported) in [("60", true), ("0", false)] {
        let out = tempfile::tempdir().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut serve = serve_logging_to(out.path(), &log, &["--report-refusals-every", every]);
        let sent = send(&serve, FORGED_SECRET, &["--sample", "activated"]);
        assert_eq!(code(&sent), 1, "refused");
        let said = String::from_utf8_lossy(&sent.stderr);
        assert!(
            said.contains("answered: missing or invalid Cronofy-HMAC-SHA256 signature"),
            "send shows serve's answer: {said}"
        );

        serve.terminate();
        let logged = std::fs::read_to_string(log.path()).unwrap();
        if reported {
            assert_eq!(reports(&logged).len(), 1, "{logged}");
            assert!(logged.contains("refused 1 request in "), "{logged}");
            assert_eq!(
                counted(&logged, "with a signature that does not match"),
                1,
                "{logged}"
            );
        } else {
            assert!(reports(&logged).is_empty(), "0 means never: {logged}");
        }
    }
}
