//! `send` and `sample`: what a refusing or absent endpoint is said to have done, and samples
//! that are refused before anything is sent.

use std::time::Duration;

use crate::{cli, code, run, run_within, write_temp};

#[test]
fn send_says_what_went_wrong() {
    let output = run(cli().args(["send", "--secret", "s", "--url", "not a url"]));
    assert_eq!(code(&output), 2, "a bad --url is a usage error");
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a URL"));
    let output = run(cli().args(["send", "--secret", "s", "--url", "ftp://127.0.0.1/"]));
    assert_eq!(code(&output), 2);

    // A port nothing listens on: the refused connection is named, not just "error sending",
    // and the URL without the credentials it may carry, in its password or its query.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("http://hook:pa55word@{addr}/cronofy?token=t0ken");
    let output = run(cli().args(["send", "--secret", "s", "--url", &url]));
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        stderr.contains(&format!("could not send to http://hook@{addr}/cronofy:")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("pa55word") && !stderr.contains("t0ken"),
        "{stderr}"
    );
}

/// A loopback server that answers one request with `answer`, as written; its address.
pub(super) fn answering_once(answer: &'static [u8]) -> std::net::SocketAddr {
    answering_once_seen(answer).0
}

/// [`answering_once`], and the request it answered, head and body, once it has answered.
pub(super) fn answering_once_seen(
    answer: &'static [u8],
) -> (std::net::SocketAddr, std::sync::mpsc::Receiver<Vec<u8>>) {
    answering_once_after(Duration::ZERO, answer)
}

/// [`answering_once_seen`], waiting `delay` after the whole request has arrived to answer.
fn answering_once_after(
    delay: Duration,
    answer: &'static [u8],
) -> (std::net::SocketAddr, std::sync::mpsc::Receiver<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, request_seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        // The request's head and as much of its body as its Content-Length declares.
        let mut request = Vec::new();
        let mut buffer = [0u8; 8192];
        while !is_whole(&request) {
            match std::io::Read::read(&mut stream, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        std::thread::sleep(delay);
        let _ = std::io::Write::write_all(&mut stream, answer);
        let _ = seen.send(request);
    });
    (addr, request_seen)
}

/// `send` of the body on standard input, signed under "s3cret", to the server at `addr`.
pub(super) fn send_from_stdin_to(addr: std::net::SocketAddr) -> std::process::Command {
    let mut command = cli();
    command
        .args(["send", "--secret", "s3cret", "--url"])
        .arg(format!("http://{addr}/cronofy"))
        .arg("-");
    command
}

/// Whether `request` holds a head and the body its Content-Length declares.
fn is_whole(request: &[u8]) -> bool {
    let Some(head_end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    request.len() >= head_end + 4 + length
}

/// A refusal is shown with what the endpoint said, on one line that a terminal cannot be made
/// to act on; a redirect, with where it points (Cronofy does not follow it).
#[test]
fn send_shows_what_a_refusing_endpoint_said() {
    let addr = answering_once(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 38\r\nConnection: close\r\n\r\n\
          \x1b[31mno such hook\r\nsecond line\x1b[0m\n\n\n\n",
    );
    let refused = run(cli()
        .args(["send", "--secret", "s", "--url"])
        .arg(format!("http://{addr}/hook")));
    assert_eq!(code(&refused), 1);
    assert_eq!(
        String::from_utf8_lossy(&refused.stdout),
        "400 Bad Request\n"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the endpoint answered:  [31mno such hook  second line [0m\n"),
        "{stderr:?}"
    );
    assert!(!stderr.contains('\x1b'), "{stderr:?}");

    let addr = answering_once(
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://hooks.example.com/cronofy\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let redirected = run(cli()
        .args(["send", "--secret", "s", "--url"])
        .arg(format!("http://{addr}/cronofy")));
    assert_eq!(code(&redirected), 1);
    let stderr = String::from_utf8_lossy(&redirected.stderr);
    assert!(
        stderr.contains("redirects to https://hooks.example.com/cronofy; give that URL instead"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("answered"),
        "an empty body is not shown: {stderr}"
    );
}

/// A long answer is shown up to 300 characters, however many bytes each takes, and marked
/// where it was cut: an answer of exactly 300 is shown whole, one a character longer is cut.
#[test]
fn send_shows_300_characters_of_a_long_answer_and_marks_the_cut() {
    let wide = "\u{1F600}".repeat(300); // four bytes each
    for (body, shown) in [
        (wide.clone(), format!("answered: {wide}\n")),
        (format!("{wide}x"), format!("answered: {wide}\u{2026}\n")),
    ] {
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let addr = answering_once(Vec::leak(answer.into_bytes()));
        let refused = run(cli()
            .args(["send", "--secret", "s", "--url"])
            .arg(format!("http://{addr}/hook")));
        assert_eq!(code(&refused), 1);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(&shown), "{} bytes: {stderr}", body.len());
    }
}

/// An answer slower than Cronofy would wait for is pointed out, 2xx or not (the exit code is
/// still the status's); a quick one is not.
#[test]
fn send_points_out_an_endpoint_slow_to_answer() {
    const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    for (delay, slow) in [(Duration::ZERO, false), (Duration::from_millis(3500), true)] {
        let (addr, _) = answering_once_after(delay, NO_CONTENT);
        let output = run_within(
            Duration::from_secs(20),
            cli()
                .args(["send", "--secret", "s", "--url"])
                .arg(format!("http://{addr}/cronofy")),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 0, "{stderr}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "204 No Content\n");
        assert_eq!(
            stderr.contains("the endpoint took ") && stderr.contains(" s to answer; Cronofy waits"),
            slow,
            "{delay:?}: {stderr}"
        );
    }
}

/// `--timeout` bounds the wait for an answer; giving up says how long it waited and why that
/// matters. A timeout of 0 would give up on everything: a usage error.
#[test]
fn send_gives_up_on_an_endpoint_that_does_not_answer_within_its_timeout() {
    let (addr, _) = answering_once_after(
        Duration::from_secs(10),
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
    );
    let output = run_within(
        Duration::from_secs(8),
        cli()
            .args(["send", "--secret", "s", "--timeout", "1", "--url"])
            .arg(format!("http://{addr}/cronofy")),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 1, "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains(&format!(
            "could not send to http://{addr}/cronofy: no answer within 1 s; Cronofy waits \
             only a few seconds"
        )),
        "{stderr}"
    );

    let output = run(cli()
        .args(["send", "--secret", "s", "--timeout", "0", "--url"])
        .arg(format!("http://{addr}/cronofy")));
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--timeout"));
}

#[test]
fn send_refuses_a_sample_it_would_get_wrong_before_sending_anything() {
    // Each is a usage error (exit 2) found while the command line is read: nothing is sent, so
    // the unreachable --url is never tried.
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "body.json", b"{}");
    let body = body.to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--sample", "failed:"], "needs a subtype"),
        (
            &["--sample", "completed"],
            "expected activated, complete, failed",
        ),
        (&["--sub", " "], "cannot be blank"),
        (&["--resource-base", "ftp://127.0.0.1/"], "http or https"),
        (&["--resource-base", "fake-cronofy"], "not a URL"),
        // The resource URLs' paths would go into the query or the fragment.
        (
            &["--resource-base", "http://127.0.0.1:9/?token=t"],
            "query (?...)",
        ),
        (
            &["--resource-base", "http://127.0.0.1:9/#top"],
            "fragment (#...)",
        ),
        // A file is sent as it is: the sample's options would silently do nothing.
        (&["--sub", "agt_1", body], "cannot be used with"),
    ];
    for (args, says) in cases {
        let output = run(cli()
            .args(["send", "--secret", "s", "--url", "http://127.0.0.1:9/"])
            .args(args));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("could not send"), "{args:?}: {stderr}");
    }
}

#[test]
fn sample_prints_a_body_that_sign_and_verify_take() {
    let output = run(cli().args(["sample", "failed:join_timeout", "--sub", "agt_mine"]));
    assert_eq!(code(&output), 0);
    let body = output.stdout;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["meeting_agent"]["sub"], "agt_mine");
    assert_eq!(
        json["notification"]["interactions"][0]["subtype"],
        "join_timeout"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "failed.json", &body);
    let signed = run(cli().args(["sign", "--secret", "s"]).arg(&file));
    let header = String::from_utf8(signed.stdout).unwrap();
    let verified = run(cli()
        .args(["verify", "--secret", "s", "--signature", header.trim()])
        .arg(&file));
    assert_eq!(code(&verified), 0);
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        "genuine: meeting_agent_failed for agt_mine, failed: join_timeout"
    );

    // The resource URLs can point at a server of one's own; a name that is no sample is usage.
    let output = run(cli().args(["sample", "--resource-base", "http://127.0.0.1:9"]));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(
            "\"http://127.0.0.1:9/v1/meeting_agents/agt_692702a100ccd07000000000/video\""
        )
    );
    // A base with a path keeps it; one with a query is refused, as by `send`.
    let output = run(cli().args(["sample", "--resource-base", "http://127.0.0.1:9/fake/"]));
    assert!(String::from_utf8_lossy(&output.stdout).contains(
        "\"http://127.0.0.1:9/fake/v1/meeting_agents/agt_692702a100ccd07000000000/audio\""
    ));
    let output = run(cli().args(["sample", "--resource-base", "http://127.0.0.1:9?x"]));
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("inside its query"));
    assert!(output.stdout.is_empty());
    assert_eq!(code(&run(cli().args(["sample", "completed"]))), 2);
}
