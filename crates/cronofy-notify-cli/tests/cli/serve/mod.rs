//! `serve`, fed by `send`, its recordings served by the fake Cronofy: what it answers to
//! requests drawn at random (`answers`), what it files (`delivery`), how it bounds its
//! connections (`connections`), how it starts, stops and starts again (`lifecycle`), what its
//! JSON logs hold (`logs`), how it reports what it refused (`refusals`), and what it does with
//! no room to write (`no_room`). Here, the helpers they share.

mod answers;
mod connections;
mod delivery;
mod lifecycle;
mod logs;
#[cfg(target_os = "linux")]
mod no_room;
mod refusals;

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cronofy_notify_test_support::fake::FakeCronofy;
use cronofy_notify_test_support::vectors;

use crate::{cli, run, sha256_file, video_that_stalls_halfway, wait_until};

/// A running `serve`, killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
    /// Where its standard error goes, unless the test chose a place of its own: shown if the
    /// test fails, kept out of the test run's output otherwise.
    stderr: Option<tempfile::NamedTempFile>,
}

impl Serve {
    /// Stops `serve` as a service manager does, with SIGTERM; its exit status, once it has
    /// exited (within 15 s, or the test fails).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let mut status = None;
        assert!(
            wait_until(Duration::from_secs(15), || {
                status = self.child.try_wait().unwrap();
                status.is_some()
            }),
            "serve did not stop within 15 s of SIGTERM"
        );
        status.unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking()
            && let Some(said) = self.stderr.as_ref().map(|file| {
                std::fs::read_to_string(file.path()).unwrap_or_else(|error| error.to_string())
            })
            && !said.is_empty()
        {
            eprintln!("serve's standard error:\n{said}");
        }
    }
}

fn serve(out: &Path) -> Serve {
    serve_with(out, |command| {
        command.args(["--secret", &vectors::secret("A")]);
    })
}

/// `serve` on a free loopback port, taking the fake Cronofy's plain-http URLs
/// (`--allow-http`), with the secrets (and anything else) `configure` adds.
fn serve_with(out: &Path, configure: impl FnOnce(&mut Command)) -> Serve {
    serve_listening(
        cli(),
        out,
        |addr| addr.to_string(),
        |command| {
            command.arg("--allow-http");
            configure(command);
        },
    )
}

/// `serve` with secret A on a free loopback port, given to `--listen` as `spell` writes it,
/// taking plain-http URLs.
fn serve_on(out: &Path, spell: impl FnOnce(SocketAddr) -> String) -> Serve {
    serve_listening(cli(), out, spell, |command| {
        command.args(["--allow-http", "--secret", &vectors::secret("A")]);
    })
}

/// `serve` run by `command` (the `cronofy-notify` command, [`cli`] or a variant), listening on
/// a free loopback port given to `--listen` as `spell` writes it, with what `configure` adds.
fn serve_listening(
    mut command: Command,
    out: &Path,
    spell: impl FnOnce(SocketAddr) -> String,
    configure: impl FnOnce(&mut Command),
) -> Serve {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    command.args(["serve", "--listen", &spell(addr), "--out"]);
    let stderr = tempfile::NamedTempFile::new().unwrap();
    command
        .arg(out)
        .stdout(Stdio::null())
        .stderr(stderr.reopen().unwrap());
    configure(&mut command);
    let mut serve = Serve {
        child: command.spawn().unwrap(),
        addr,
        stderr: Some(stderr),
    };
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return serve;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = serve.child.kill();
    panic!("serve did not listen");
}

/// What `serve`, with what `configure` adds, says as it refuses to start (exit 2), within 10 s:
/// a `serve` that starts instead would run until killed, so it is, and the test fails.
fn serve_refusing(configure: impl FnOnce(&mut Command)) -> String {
    let mut command = cli();
    command.arg("serve");
    configure(&mut command);
    let output = crate::run_within(Duration::from_secs(10), &mut command);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
    stderr
}

fn send(serve: &Serve, secret: &str, args: &[&str]) -> Output {
    run(cli()
        .args([
            "send",
            "--url",
            &format!("http://{}/hooks/cronofy", serve.addr),
            "--secret",
            secret,
        ])
        .args(args))
}

/// Sends `head` (then `body`) on a connection of its own; the answer's status.
fn post_raw(addr: SocketAddr, head: &str, body: &[u8]) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // A body over the limit is refused from its Content-Length: the server may not read it.
    let _ = stream.write_all(body);
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
}

/// `send` of the sample `complete` callback for `sub`, its recordings served by `fake`.
fn send_complete(serve: &Serve, secret: &str, sub: &str, fake: &FakeCronofy) -> Output {
    let base = format!("http://{}", fake.api_addr());
    send(
        serve,
        secret,
        &[
            "--sample",
            "complete",
            "--sub",
            sub,
            "--resource-base",
            &base,
        ],
    )
}

/// Waits (up to 30 s) until `serve` has filed the audio of agent `sub` under `out`, and checks
/// it is the fake's, byte for byte.
fn assert_audio_filed(out: &Path, sub: &str, fake: &FakeCronofy) {
    let agent = out.join(sub);
    assert!(
        wait_until(Duration::from_secs(30), || manifest_complete(
            &agent.join("manifest.json"),
            1
        )),
        "{sub}: no recording filed within 30 s"
    );
    assert_eq!(
        sha256_file(&agent.join("audio-voice.mp3")),
        fake.sha256("audio"),
        "{sub}"
    );
}

fn manifest_complete(path: &Path, count: usize) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["resources"].as_array().cloned())
        .is_some_and(|r| r.iter().filter(|e| e["status"] == "complete").count() >= count)
}
