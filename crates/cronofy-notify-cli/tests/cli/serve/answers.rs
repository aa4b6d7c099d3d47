//! What `serve` answers to requests it was not written for: those test-support's
//! `random_requests` draws, each with the status the spec gives it, and what it keeps of them.

use std::path::Path;
use std::process::Stdio;

use cronofy_notify_test_support::http_cases;
use cronofy_notify_test_support::random_requests;
use cronofy_notify_test_support::vectors;

use super::serve_with;

/// The bodies kept under `out` (`*/callbacks/*.json`), and any temporary file left beside them.
fn kept(out: &Path) -> (usize, Vec<String>) {
    let mut bodies = 0;
    let mut leftovers = Vec::new();
    for agent in std::fs::read_dir(out).unwrap().flatten() {
        let Ok(files) = std::fs::read_dir(agent.path().join("callbacks")) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                leftovers.push(name);
            } else {
                bodies += 1;
            }
        }
    }
    (bodies, leftovers)
}

/// Every genuine callback is answered 202 when new and 200 when its agent and interaction were
/// kept before (the drawn requests repeat the vectors' bodies, so many are redeliveries); every
/// other request gets the status the spec gives it. Each 202 kept exactly one body, and nothing
/// else kept any.
#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_random_requests_as_the_spec_says_and_keeps_what_it_accepts() {
    let table = random_requests::table(random_requests::seed(), 300, 202);
    let (a, b) = (vectors::secret("A"), vectors::secret("B"));
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers = [vec![a.clone()], vec![a, b]].map(|secrets| {
        let out = &dirs[secrets.len() - 1];
        serve_with(out.path(), |command| {
            for secret in &secrets {
                command.args(["--secret", secret]);
            }
            // The vectors' recordings are on api.cronofy.com: fetch no category they hold.
            command
                .args(["--categories", "none-in-these-tests"])
                .stderr(Stdio::null());
        })
    });

    let mut wrong = Vec::new();
    let mut accepted = [0, 0];
    for case in &table {
        let which = case.secrets.len() - 1;
        let got = http_cases::send(servers[which].addr, case).await;
        let fits = got == case.expected || (case.expected == 202 && got == 200);
        if !fits {
            wrong.push(format!(
                "{}: expected {}, got {got}",
                case.name, case.expected
            ));
        }
        if got == 202 {
            accepted[which] += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        table.len(),
        wrong.join("\n")
    );
    assert!(
        accepted.iter().sum::<usize>() > 5,
        "too few new callbacks to say anything: {accepted:?}"
    );
    for (which, dir) in dirs.iter().enumerate() {
        let (bodies, leftovers) = kept(dir.path());
        assert_eq!(bodies, accepted[which], "one body kept per 202");
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}
