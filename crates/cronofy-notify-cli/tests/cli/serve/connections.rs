//! Every wait a client can impose on `serve` is bounded.

use std::time::Duration;

use cronofy_notify_test_support::vectors;

use super::{send, serve_with};
use crate::{cli, code, run};

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
        let output = run(cli()
            .args(["serve", "--listen", "127.0.0.1:0", "--secret", "s"])
            .args(["--read-timeout", seconds, "--out"])
            .arg(out.path()));
        assert_eq!(code(&output), 2, "--read-timeout {seconds}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("--read-timeout"));
    }
}
