//! Both example receivers, run as their users would: the built binary, a signed seed body over
//! HTTP, then a complete callback whose recordings must land on disk; and a Ctrl-C in the middle
//! of a download, which must finish before the receiver exits.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cronofy_notify_core::Signer;
use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
use cronofy_notify_test_support::http_cases::{self, Framing, HttpCase};
use cronofy_notify_test_support::vectors;

/// Kills the receiver when the test ends, however it ends.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Starts the receiver `binary`, storing into `dir`, logging at INFO into `log` if given (its
/// standard output and error both).
async fn start(binary: &str, dir: &Path, log: Option<&Path>) -> (Receiver, SocketAddr) {
    let addr = free_port();
    let mut command = Command::new(binary);
    command
        .env("CRONOFY_CLIENT_SECRET", vectors::secret("A"))
        .env("LISTEN_ADDR", addr.to_string())
        .env("RESOURCES_DIR", dir)
        // Plain http on loopback, as the fake Cronofy serves it, needs no setting.
        .env_remove("ALLOW_HTTP");
    match log {
        Some(log) => {
            let file = std::fs::File::create(log).unwrap();
            command
                .env("RUST_LOG", "info")
                .stderr(file.try_clone().unwrap())
                .stdout(file)
        }
        None => command.env("RUST_LOG", "warn").stdout(Stdio::null()),
    };
    let child = command.spawn().expect("the example starts");
    let receiver = Receiver(child);
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return (receiver, addr);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{binary} did not listen on {addr}");
}

/// Checks `done` every 20 ms for up to `seconds`; whether it came true.
async fn eventually(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..seconds * 50 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

fn signed(body: Vec<u8>, path: &'static str) -> HttpCase {
    HttpCase {
        name: "signed".into(),
        secrets: vec![vectors::secret("A")],
        method: "POST",
        path,
        headers: vec![(
            "Cronofy-HMAC-SHA256".into(),
            Signer::new([vectors::secret("A")]).unwrap().sign(&body),
        )],
        body,
        framing: Framing::Length,
        expected: 202,
    }
}

async fn check(binary: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let (_receiver, addr) = start(binary, dir.path(), Some(log.path())).await;

    for which in ["activated", "failed", "complete"] {
        let status = http_cases::send(addr, &signed(vectors::seed_body(which), "/any/path")).await;
        assert_eq!(status, 202, "{which}");
    }
    let mut forged = signed(vectors::seed_body("complete"), "/");
    forged.headers[0].1 = Signer::new(["not-the-secret"]).unwrap().sign(&forged.body);
    assert_eq!(http_cases::send(addr, &forged).await, 401);

    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::generated(10_000, "application/json"),
    );
    fake.add("video", ResourceSpec::generated(3 << 20, "video/mp4"));
    let body = fake.complete_body(
        "agt_example",
        &[
            ("transcript", "cronofy", "transcript"),
            ("video", "conference", "video"),
        ],
    );
    assert_eq!(http_cases::send(addr, &signed(body, "/cronofy")).await, 202);

    let video = dir.path().join("agt_example/video-conference.mp4");
    eventually(10, || {
        dir.path().join("agt_example/manifest.json").exists() && video.exists()
    })
    .await;
    assert!(std::fs::read(&video).expect("the video was stored") == fake.content("video"));
    assert!(
        std::fs::read(dir.path().join("agt_example/transcript-cronofy.json")).unwrap()
            == fake.content("transcript")
    );

    // A value of a type the model does not expect (`event.start` as an object) does not cost
    // the meeting its recordings.
    let mut body: serde_json::Value = serde_json::from_slice(
        &fake.complete_body("agt_drift", &[("transcript", "cronofy", "transcript")]),
    )
    .unwrap();
    body["event"] = serde_json::json!({"start": {"time": "2026-11-30T09:00:00Z"}});
    let body = serde_json::to_vec(&body).unwrap();
    assert_eq!(http_cases::send(addr, &signed(body, "/cronofy")).await, 202);
    let transcript = dir.path().join("agt_drift/transcript-cronofy.json");
    eventually(10, || transcript.exists()).await;
    assert!(
        std::fs::read(&transcript).expect("the transcript was stored")
            == fake.content("transcript")
    );

    // Each callback is logged, as a log file holds it (its standard output is not a terminal):
    // without colour codes, and never with the secret.
    let read = || std::fs::read_to_string(log.path()).unwrap();
    let expected = [
        "meeting_agent_activated",
        "meeting_agent_failed",
        "meeting_agent_complete for agt_example",
        "(left out: event.start)",
        "stored",
    ];
    // A download's lines come once its task has the report, just after the files.
    eventually(10, || expected.iter().all(|said| read().contains(said))).await;
    let logged = read();
    for said in expected {
        assert!(logged.contains(said), "{said}: {logged}");
    }
    assert!(!logged.contains('\x1b'), "{logged}");
    assert!(!logged.contains(&vectors::secret("A")), "{logged}");
}

#[tokio::test]
async fn the_axum_receiver_answers_and_stores_the_recordings() {
    check(env!("CARGO_BIN_EXE_axum-receiver")).await;
}

#[tokio::test]
async fn the_actix_receiver_answers_and_stores_the_recordings() {
    check(env!("CARGO_BIN_EXE_actix-receiver")).await;
}

/// A fake Cronofy whose video stalls for `stall` once 1 MiB of it is sent, and the receiver at
/// `addr` downloading it for agent `sub`: sent its complete callback, and past its first byte.
async fn downloading(addr: SocketAddr, sub: &str, stall: Duration) -> FakeCronofy {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("video", ResourceSpec::generated(3 << 20, "video/mp4"));
    fake.faults(
        "video",
        [Fault {
            stall_at: Some((1 << 20, stall)),
            ..Fault::default()
        }],
    );
    let body = fake.complete_body(sub, &[("video", "conference", "video")]);
    assert_eq!(http_cases::send(addr, &signed(body, "/")).await, 202);
    assert!(
        eventually(5, || fake.seen().iter().any(|seen| seen.side == "storage")).await,
        "the download started"
    );
    fake
}

/// Sends SIGINT to the receiver.
fn interrupt(receiver: &Receiver) {
    let sent = Command::new("kill")
        .args(["-INT", &receiver.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// How the receiver exited, if it did within `seconds`.
async fn exit_within(receiver: &mut Receiver, seconds: u64) -> Option<std::process::ExitStatus> {
    let mut exit = None;
    eventually(seconds, || {
        exit = receiver.0.try_wait().unwrap();
        exit.is_some()
    })
    .await;
    exit
}

/// Ctrl-C while a recording is downloading: the receiver stops accepting, lets the download
/// finish (Cronofy will not send that callback again) and exits 0.
async fn check_shutdown(binary: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (mut receiver, addr) = start(binary, dir.path(), None).await;
    let fake = downloading(addr, "agt_shutdown", Duration::from_millis(1500)).await;

    interrupt(&receiver);
    let exit = exit_within(&mut receiver, 20)
        .await
        .expect("the receiver exits after the download");
    assert!(exit.success(), "{exit}");
    let video = dir.path().join("agt_shutdown/video-conference.mp4");
    assert!(
        std::fs::read(&video).expect("the video was finished before the exit")
            == fake.content("video")
    );
}

/// A second Ctrl-C while a download is waited for (one that would take a minute): the receiver
/// exits at once, with status 1 and a sentence saying what it abandoned.
async fn check_second_signal(binary: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let (mut receiver, addr) = start(binary, dir.path(), Some(log.path())).await;
    let _fake = downloading(addr, "agt_impatient", Duration::from_secs(60)).await;
    let read = || std::fs::read_to_string(log.path()).unwrap();

    interrupt(&receiver);
    assert!(
        eventually(5, || read().contains("stop again to abandon them")).await,
        "waiting for the download: {}",
        read()
    );
    assert!(receiver.0.try_wait().unwrap().is_none(), "{}", read());
    interrupt(&receiver);
    let exit = exit_within(&mut receiver, 10)
        .await
        .expect("the receiver exits on a second signal");
    assert_eq!(exit.code(), Some(1), "{}", read());
    assert!(
        read().contains("1 handler(s) in flight abandoned"),
        "{}",
        read()
    );
    assert!(
        !dir.path()
            .join("agt_impatient/video-conference.mp4")
            .exists()
    );
}

#[tokio::test]
async fn the_axum_receiver_finishes_its_downloads_on_ctrl_c() {
    check_shutdown(env!("CARGO_BIN_EXE_axum-receiver")).await;
}

#[tokio::test]
async fn the_actix_receiver_finishes_its_downloads_on_ctrl_c() {
    check_shutdown(env!("CARGO_BIN_EXE_actix-receiver")).await;
}

#[tokio::test]
async fn the_axum_receiver_stops_at_once_on_a_second_ctrl_c() {
    check_second_signal(env!("CARGO_BIN_EXE_axum-receiver")).await;
}

#[tokio::test]
async fn the_actix_receiver_stops_at_once_on_a_second_ctrl_c() {
    check_second_signal(env!("CARGO_BIN_EXE_actix-receiver")).await;
}

/// A receiver that cannot start says why in a sentence that names the variable to fix, and
/// exits 1, for each of the settings a user gets wrong.
#[test]
fn both_receivers_say_which_setting_stops_them() {
    for binary in [
        env!("CARGO_BIN_EXE_axum-receiver"),
        env!("CARGO_BIN_EXE_actix-receiver"),
    ] {
        for (secret, listen, allow_http, says) in [
            (None, "127.0.0.1:0", None, "set CRONOFY_CLIENT_SECRET"),
            (
                Some("  "),
                "127.0.0.1:0",
                None,
                "CRONOFY_CLIENT_SECRET: client secret 1",
            ),
            (
                Some("s"),
                "not-an-address",
                None,
                "cannot listen on LISTEN_ADDR \"not-an-address\"",
            ),
            (
                Some("s"),
                "127.0.0.1:0",
                Some("true"),
                "ALLOW_HTTP is 1 or 0, not \"true\"",
            ),
        ] {
            let mut command = Command::new(binary);
            command
                .env_remove("CRONOFY_CLIENT_SECRET")
                .env_remove("ALLOW_HTTP")
                .env("LISTEN_ADDR", listen);
            if let Some(secret) = secret {
                command.env("CRONOFY_CLIENT_SECRET", secret);
            }
            if let Some(allow_http) = allow_http {
                command.env("ALLOW_HTTP", allow_http);
            }
            let output = refusing_to_start(&mut command);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{binary} {says}: {stderr}");
            assert!(stderr.contains(says), "{binary}: {stderr}");
            assert!(!stderr.contains("{ "), "no Debug form: {stderr}");
        }
    }
}

/// The output of a receiver that should refuse to start, once it has exited, within 10 s: one
/// that starts instead would serve until killed, so it is, and the test fails. What it says
/// must fit in a pipe's buffer (a sentence does).
fn refusing_to_start(command: &mut Command) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example runs");
    for _ in 0..500 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{command:?} still running after 10 s: it should have refused to start");
}
