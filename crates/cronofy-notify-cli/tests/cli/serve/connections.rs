//! Every wait a client can impose on `serve` is bounded, and so is every body.

use std::time::Duration;

use cronofy_notify_test_support::vectors;

use super::{post_raw, send, serve_on, serve_refusing, serve_with};
use crate::{code, write_temp};

/// A client that trickles its body is cut off with 408 after --read-timeout, instead of holding
/// its connection (and a file descriptor) for as long as it likes.
#[test]
fn serve_answers_408_to_a_body_that_does_not_arrive() {
    let out = tempfile::tempdir().unwrap();
    let serve = serve_with(out.path(), |command| {
        command.args(["--secret", &vectors::secret("A"), "--read-timeout", "1"]);
    });
    let mut stream = std::net::TcpStream::connect(serve.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"POST /cronofy HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"notif",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = [0u8; 64];
    let read = std::io::Read::read(&mut stream, &mut answer).unwrap();
    let status_line = String::from_utf8_lossy(&answer[..read]);
    assert!(status_line.starts_with("HTTP/1.1 408"), "{status_line}");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing kept"
    );
}

/// Connections that send nothing, trickle their headers or sit idle after an answer are closed
/// after --read-timeout, so a crowd of them cannot use up the process's file descriptors.
#[test]
fn serve_closes_connections_that_do_not_send_a_request_in_time() {
    let out = tempfile::tempdir().unwrap();
    let serve = serve_with(out.path(), |command| {
        command.args(["--secret", &vectors::secret("A"), "--read-timeout", "1"]);
    });
    let connect = || {
        let stream = std::net::TcpStream::connect(serve.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    };
    // Reads until the server closes the connection; what it sent, and how long it took.
    let until_closed = |mut stream: std::net::TcpStream| {
        let started = std::time::Instant::now();
        let mut received = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut received).expect("closed, not timed out");
        (
            String::from_utf8_lossy(&received).into_owned(),
            started.elapsed(),
        )
    };

    let (sent, took) = until_closed(connect());
    assert!(
        sent.is_empty() && took < Duration::from_secs(5),
        "silent: {sent:?} after {took:?}"
    );

    let mut partial = connect();
    std::io::Write::write_all(&mut partial, b"POST /cronofy HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (_, took) = until_closed(partial);
    assert!(
        took < Duration::from_secs(5),
        "partial headers held for {took:?}"
    );

    let mut idle = connect();
    std::io::Write::write_all(&mut idle, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (sent, took) = until_closed(idle);
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    assert!(
        took < Duration::from_secs(5),
        "idle keep-alive held for {took:?}"
    );

    // Still serving.
    let sent = send(&serve, &vectors::secret("A"), &["--sample", "activated"]);
    assert_eq!(code(&sent), 0, "{}", String::from_utf8_lossy(&sent.stderr));

    // No bound at all (0), or one past the clock (which panicked hyper), is a usage error.
    for seconds in ["0", "18446744073709551615"] {
        let stderr = serve_refusing(|command| {
            command
                .args(["--listen", "127.0.0.1:0", "--secret", "s"])
                .args(["--read-timeout", seconds, "--out"])
                .arg(out.path());
        });
        assert!(stderr.contains("--read-timeout"), "{seconds}: {stderr}");
    }
}

/// A genuine activated callback for `agt_big`, padded to `size` bytes.
fn padded_callback(size: usize) -> Vec<u8> {
    let head = br#"{"notification":{"type":"event_subscription","interactions":[{"type":"meeting_agent_activated"}]},"meeting_agent":{"sub":"agt_big","state":"created"},"pad":""#;
    let mut body = head.to_vec();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

/// `--body-limit` moves the 413 both ways: a limit above axum's own 2 MB default takes a body
/// that size, whole, and one just over it is refused from its Content-Length.
#[test]
fn serve_takes_bodies_up_to_its_body_limit_and_no_larger() {
    let out = tempfile::tempdir().unwrap();
    let serve = serve_with(out.path(), |command| {
        command.args(["--secret", &vectors::secret("A"), "--body-limit", "3MiB"]);
    });
    let limit = 3 * 1024 * 1024;
    let body = padded_callback(limit);
    let file = write_temp(out.path(), "big.json", &body);
    let sent = send(&serve, &vectors::secret("A"), &[file.to_str().unwrap()]);
    assert_eq!(code(&sent), 0, "{}", String::from_utf8_lossy(&sent.stdout));
    assert!(String::from_utf8_lossy(&sent.stdout).starts_with("202"));
    let kept = out
        .path()
        .join("agt_big/callbacks/meeting_agent_activated.json");
    assert!(std::fs::read(&kept).unwrap() == body, "kept byte for byte");

    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nCronofy-HMAC-SHA256: x\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        limit + 1
    );
    assert_eq!(post_raw(serve.addr, &head, b""), 413);
}

/// A limit under a callback's size refuses it: the limit is --body-limit, not a fixed one.
#[test]
fn serve_refuses_a_callback_over_a_small_body_limit() {
    let out = tempfile::tempdir().unwrap();
    let serve = serve_with(out.path(), |command| {
        command.args(["--secret", &vectors::secret("A"), "--body-limit", "2KiB"]);
    });
    let small = write_temp(out.path(), "small.json", &padded_callback(2048));
    let sent = send(&serve, &vectors::secret("A"), &[small.to_str().unwrap()]);
    assert_eq!(code(&sent), 0, "{}", String::from_utf8_lossy(&sent.stdout));

    let body = padded_callback(2049);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nCronofy-HMAC-SHA256: {}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        cronofy_notify_core::Signer::new([vectors::secret("A")])
            .unwrap()
            .sign(&body),
        body.len()
    );
    assert_eq!(post_raw(serve.addr, &head, &body), 413);
}

/// A limit that would refuse Cronofy's own callbacks (a forgotten unit) or let one connection
/// hold gigabytes is a usage error, said before anything listens.
#[test]
fn serve_refuses_a_body_limit_out_of_range_or_without_a_known_unit() {
    for (limit, says) in [
        ("256", "from 1KiB to 64MiB"),
        ("1GiB", "from 1KiB to 64MiB"),
        ("2MB", "not a size"),
        ("", "not a size"),
        ("99999999999999999999KiB", "not a size"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let stderr = serve_refusing(|command| {
            command
                .args(["--listen", "127.0.0.1:0", "--secret", "s", "--out"])
                .arg(out.path())
                .args(["--body-limit", limit]);
        });
        assert!(stderr.contains(says), "{limit}: {stderr}");
    }
}

/// `--listen` takes an IP address and port, and `localhost:PORT` as loopback; anything else is a
/// usage error that says what it expects, before anything listens.
#[test]
fn serve_listens_on_localhost_as_loopback_and_refuses_other_addresses_clearly() {
    for listen in [
        "example.com:3000",
        "3000",
        "127.0.0.1",
        "localhost:99999",
        "",
    ] {
        let out = tempfile::tempdir().unwrap();
        let stderr = serve_refusing(|command| {
            command
                .args(["--secret", "s", "--listen", listen, "--out"])
                .arg(out.path());
        });
        assert!(
            stderr.contains("expected an IP address and a port, such as 127.0.0.1:3000"),
            "{listen}: {stderr}"
        );
    }

    let out = tempfile::tempdir().unwrap();
    let mut serve = serve_on(out.path(), |addr| format!("LocalHost:{}", addr.port()));
    let sent = send(&serve, &vectors::secret("A"), &["--sample", "activated"]);
    assert_eq!(code(&sent), 0, "{}", String::from_utf8_lossy(&sent.stdout));
    assert!(serve.terminate().success());
}
