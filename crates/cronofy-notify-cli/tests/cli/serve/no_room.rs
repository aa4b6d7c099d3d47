//! `serve` with no room to write: a callback it cannot keep whole is answered 503, so that
//! Cronofy delivers it again, and nothing is left under its name that would take that
//! redelivery for a duplicate.

use cronofy_notify_test_support::vectors;

use super::{send, serve, serve_listening};
use crate::{cli, cli_without_room, code, run};

#[test]
fn a_callback_that_cannot_be_kept_whole_is_answered_503_and_taken_when_delivered_again() {
    let out = tempfile::tempdir().unwrap();
    let secret = vectors::secret("A");
    let callbacks = out
        .path()
        .join("agt_692702a100ccd07000000000")
        .join("callbacks");
    let kept = || -> Vec<_> {
        std::fs::read_dir(&callbacks)
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default()
    };

    let mut full = serve_listening(
        cli_without_room(),
        out.path(),
        |addr| addr.to_string(),
        |command| {
            command.args(["--secret", &secret]);
        },
    );
    let refused = send(&full, &secret, &["--sample", "activated"]);
    let answer = String::from_utf8_lossy(&refused.stdout);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(code(&refused), 1, "{answer}{said}");
    assert!(answer.starts_with("503"), "{answer}{said}");
    assert!(full.terminate().success());
    assert!(kept().is_empty(), "left behind: {:?}", kept());

    let roomy = serve(out.path());
    let delivered = send(&roomy, &secret, &["--sample", "activated"]);
    let answer = String::from_utf8_lossy(&delivered.stdout);
    assert!(answer.starts_with("202"), "new, not a duplicate: {answer}");
    // What `send --sample` sent: the sample, without the line break `sample` ends it with.
    let sample = run(cli().args(["sample", "activated"])).stdout;
    let sample = sample.strip_suffix(b"\n").unwrap();
    let kept_body = std::fs::read(callbacks.join("meeting_agent_activated.json")).unwrap();
    assert!(
        kept_body == sample,
        "the body sent is kept, whole, before the 202"
    );
}
