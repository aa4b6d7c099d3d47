//! `serve`, fed by `send`, its recordings served by the fake Cronofy.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
use cronofy_notify_test_support::{samples, vectors};

use crate::{cli, code, run, sha256_file, write_temp};

/// A running `serve`, killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(out: &Path) -> Serve {
    serve_with(out, |command| {
        command.args(["--secret", &vectors::secret("A")]);
    })
}

/// `serve` on a free loopback port, with the secrets (and anything else) `configure` adds.
fn serve_with(out: &Path, configure: impl FnOnce(&mut Command)) -> Serve {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut command = cli();
    command.args([
        "serve",
        "--listen",
        &addr.to_string(),
        "--allow-http",
        "--out",
    ]);
    command.arg(out).stdout(Stdio::null());
    configure(&mut command);
    let mut serve = Serve {
        child: command.spawn().unwrap(),
        addr,
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

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn manifest_complete(path: &Path, count: usize) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["resources"].as_array().cloned())
        .is_some_and(|r| r.iter().filter(|e| e["status"] == "complete").count() >= count)
}

#[tokio::test(flavor = "multi_thread")]
async fn send_to_serve_files_every_recording_byte_for_byte() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::fixed(samples::transcript("agt_cli"), "application/json"),
    );
    fake.add("audio", ResourceSpec::generated(2 << 20, "audio/mpeg"));
    fake.add("video", ResourceSpec::generated(6 << 20, "video/mp4"));
    let out = tempfile::tempdir().unwrap();
    let serve = serve(out.path());

    let activated = send(
        &serve,
        &vectors::secret("A"),
        &["--sample", "activated", "--sub", "agt_cli"],
    );
    assert_eq!(code(&activated), 0);
    assert_eq!(
        String::from_utf8_lossy(&activated.stdout).trim(),
        "202 Accepted"
    );
    let complete = send_complete(&serve, &vectors::secret("A"), "agt_cli", &fake);
    assert_eq!(code(&complete), 0);

    let agent = out.path().join("agt_cli");
    assert!(wait_until(Duration::from_secs(30), || manifest_complete(
        &agent.join("manifest.json"),
        3
    )));
    for (file, name) in [
        ("transcript-cronofy.json", "transcript"),
        ("audio-voice.mp3", "audio"),
        ("video-conference.mp4", "video"),
    ] {
        assert_eq!(sha256_file(&agent.join(file)), fake.sha256(name), "{file}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(agent.join("manifest.json")).unwrap()).unwrap();
    for entry in manifest["resources"].as_array().unwrap() {
        let name = entry["category"].as_str().unwrap();
        assert_eq!(entry["sha256"], fake.sha256(name), "{name}");
    }
    let kept: Vec<_> = std::fs::read_dir(agent.join("callbacks"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().any(|k| k == "meeting_agent_complete.json"));

    // A redelivery is answered 200 and fetches nothing.
    let before = fake.seen().len();
    let again = send_complete(&serve, &vectors::secret("A"), "agt_cli", &fake);
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "200 OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fake.seen().len(), before);
}

/// `serve` as a service manager runs it: the client secret and the API key in files named by
/// the environment, nothing secret on the command line.
#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_its_secret_and_api_key_from_files() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("audio", ResourceSpec::generated(1 << 20, "audio/mpeg"));
    let out = tempfile::tempdir().unwrap();
    let credentials = tempfile::tempdir().unwrap();
    // Callbacks signed with B; downloads authorised with A, as two different credentials.
    let secret = write_temp(
        credentials.path(),
        "secret",
        format!("{}\n", vectors::secret("B")).as_bytes(),
    );
    let api_key = write_temp(
        credentials.path(),
        "api_key",
        format!("{}\n", vectors::secret("A")).as_bytes(),
    );
    let serve = serve_with(out.path(), |command| {
        command
            .env("CRONOFY_CLIENT_SECRET_FILE", &secret)
            .env("CRONOFY_API_KEY_FILE", &api_key)
            .args(["--categories", "audio"]);
    });

    let forged = send(&serve, &vectors::secret("A"), &["--sample", "activated"]);
    assert_eq!(code(&forged), 1, "signed with the wrong secret");
    let complete = send_complete(&serve, &vectors::secret("B"), "agt_files", &fake);
    assert_eq!(code(&complete), 0);
    let agent = out.path().join("agt_files");
    assert!(wait_until(Duration::from_secs(30), || manifest_complete(
        &agent.join("manifest.json"),
        1
    )));
    assert_eq!(
        sha256_file(&agent.join("audio-voice.mp3")),
        fake.sha256("audio")
    );
}

/// A download that failed for good (here the resource is missing at first, a 404 that is not
/// retried) is tried again while `serve` runs, not only at its next start.
#[tokio::test(flavor = "multi_thread")]
async fn serve_fetches_failed_recordings_again_without_a_restart() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let serve = serve_with(out.path(), |command| {
        command.args([
            "--secret",
            &vectors::secret("A"),
            "--categories",
            "audio",
            "--retry-every",
            "1",
        ]);
    });
    let complete = send_complete(&serve, &vectors::secret("A"), "agt_later", &fake);
    assert_eq!(code(&complete), 0);
    let manifest = out.path().join("agt_later/manifest.json");
    assert!(
        wait_until(Duration::from_secs(30), || std::fs::read_to_string(
            &manifest
        )
        .is_ok_and(|m| m.contains("\"failed\""))),
        "the first attempt fails"
    );

    fake.add("audio", ResourceSpec::generated(1 << 20, "audio/mpeg"));
    assert!(
        wait_until(Duration::from_secs(30), || manifest_complete(&manifest, 1)),
        "fetched again while serving"
    );
    assert_eq!(
        sha256_file(&out.path().join("agt_later/audio-voice.mp3")),
        fake.sha256("audio")
    );
}

/// `GET /healthz` answers 200 for load balancers; callbacks still arrive on any path by POST,
/// that one included, and a GET anywhere else is no callback.
#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_a_health_check_and_takes_callbacks_on_any_path() {
    let out = tempfile::tempdir().unwrap();
    let serve = serve(out.path());
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{}/healthz", serve.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let elsewhere = client
        .get(format!("http://{}/hooks/cronofy", serve.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 405);

    let sent = run(cli().args([
        "send",
        "--url",
        &format!("http://{}/healthz", serve.addr),
        "--secret",
        &vectors::secret("A"),
        "--sample",
        "activated",
        "--sub",
        "agt_health",
    ]));
    assert_eq!(String::from_utf8_lossy(&sent.stdout).trim(), "202 Accepted");
    assert!(
        out.path()
            .join("agt_health/callbacks/meeting_agent_activated.json")
            .exists()
    );
}

/// A completed meeting with nothing to fetch (no recording among the categories asked for, or
/// no agent to file them under) is done, and the log says why: the periodic retry does not take
/// it up again and again.
#[test]
fn serve_says_what_it_cannot_fetch_and_does_not_retry_it() {
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_with(out.path(), |command| {
        command
            .args(["--secret", &vectors::secret("A"), "--retry-every", "1"])
            .args(["--categories", "transcript"])
            .env("RUST_LOG", "info")
            .stderr(log.reopen().unwrap());
    });
    let body = serde_json::json!({
        "notification": {"type": "event_subscription",
                         "interactions": [{"type": "meeting_agent_complete"}]},
        "meeting_agent": {"sub": "agt_nothing", "state": "complete", "resources": [
            {"category": "cronofy", "type": "dashboard", "url": "https://app.cronofy.com/x"},
            {"category": "video", "type": "conference", "url": "https://api.cronofy.com/v"}]}
    });
    let file = write_temp(out.path(), "body.json", body.to_string().as_bytes());
    let sent = send(&serve, &vectors::secret("A"), &[file.to_str().unwrap()]);
    assert_eq!(code(&sent), 0);
    let no_agent = serde_json::json!({
        "notification": {"type": "event_subscription",
                         "interactions": [{"type": "meeting_agent_complete"}]},
        "meeting_agent": {"resources": [
            {"category": "video", "type": "conference", "url": "https://api.cronofy.com/v"}]}
    });
    let file = write_temp(out.path(), "no-agent.json", no_agent.to_string().as_bytes());
    let sent = send(&serve, &vectors::secret("A"), &[file.to_str().unwrap()]);
    assert_eq!(code(&sent), 0);
    // Three sweeps' worth of time.
    std::thread::sleep(Duration::from_millis(3500));
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("genuine callback"), "{logged}");
    assert!(logged.contains("lists no recordings to store"), "{logged}");
    assert!(logged.contains("without meeting_agent.sub"), "{logged}");
    assert!(!logged.contains("trying again"), "{logged}");
    assert!(!logged.contains("recordings stored"), "{logged}");
}

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

/// A sender that hangs up as soon as its callback is sent (as one that gave up waiting would)
/// drops the request's handler, at any point. It will send again, so the callback may be
/// dropped; but one whose body was kept must get its download, or no redelivery (a duplicate
/// then) ever would. Fifty hang-ups, so that some land while the body is being kept (without
/// the keeping on a task of its own, a run of this test found such a body left undownloaded
/// about half the time).
#[tokio::test(flavor = "multi_thread")]
async fn a_callback_whose_sender_hangs_up_is_downloaded_if_it_was_kept() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("audio", ResourceSpec::generated(64 << 10, "audio/mpeg"));
    let out = tempfile::tempdir().unwrap();
    let serve = serve_with(out.path(), |command| {
        command.args(["--secret", &vectors::secret("A"), "--categories", "audio"]);
    });
    let signer = cronofy_notify_core::Signer::new([vectors::secret("A")]).unwrap();
    let subs: Vec<String> = (0..50).map(|i| format!("agt_hangup_{i}")).collect();
    for (i, sub) in subs.iter().enumerate() {
        let body = fake.complete_body(sub, &[("audio", "voice", "audio")]);
        let mut request = format!(
            "POST /cronofy HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
             Cronofy-HMAC-SHA256: {}\r\n\r\n",
            body.len(),
            signer.sign(&body)
        )
        .into_bytes();
        request.extend_from_slice(&body);
        let mut stream = std::net::TcpStream::connect(serve.addr).unwrap();
        std::io::Write::write_all(&mut stream, &request).unwrap();
        // Hang up at a different moment each time, across the few milliseconds of keeping.
        std::thread::sleep(Duration::from_micros(250 * (i as u64 % 20)));
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    }
    std::thread::sleep(Duration::from_secs(2));

    for sub in &subs {
        let agent = out.path().join(sub);
        if !agent.join("callbacks/meeting_agent_complete.json").exists() {
            continue; // dropped before it was kept: the sender will send it again
        }
        assert!(
            wait_until(Duration::from_secs(20), || manifest_complete(
                &agent.join("manifest.json"),
                1
            )),
            "{sub} was kept but not downloaded"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_body_is_answered_401_and_nothing_is_written() {
    let out = tempfile::tempdir().unwrap();
    let serve = serve(out.path());
    let forged = send(&serve, "not-the-secret", &["--sample", "complete"]);
    assert_eq!(code(&forged), 1);
    assert_eq!(
        String::from_utf8_lossy(&forged.stdout).trim(),
        "401 Unauthorized"
    );
    // Signed, then changed on the way: sign the original, post one with a byte more.
    let dir = tempfile::tempdir().unwrap();
    let mut tampered = vectors::seed_body("complete");
    tampered.push(b' ');
    let file = write_temp(dir.path(), "t.json", &tampered);
    let header = String::from_utf8(
        run(cli()
            .args(["sign", "--secret", &vectors::secret("A")])
            .arg(write_temp(
                dir.path(),
                "o.json",
                &vectors::seed_body("complete"),
            )))
        .stdout,
    )
    .unwrap();
    let status = cronofy_notify_test_support::http_cases::send(
        serve.addr,
        &cronofy_notify_test_support::http_cases::HttpCase {
            name: "tampered".into(),
            secrets: vec![],
            method: "POST",
            path: "/",
            headers: vec![("Cronofy-HMAC-SHA256".into(), header.trim().to_owned())],
            body: std::fs::read(&file).unwrap(),
            framing: cronofy_notify_test_support::http_cases::Framing::Length,
            expected: 401,
        },
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sub_that_climbs_out_of_the_folder_stays_inside_it() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::generated(1000, "application/json"),
    );
    let outer = tempfile::tempdir().unwrap();
    let out = outer.path().join("out");
    let serve = serve(&out);
    let body = fake.complete_body("../../escape", &[("transcript", "cronofy", "transcript")]);
    let file = write_temp(outer.path(), "body.json", &body);
    let sent = send(&serve, &vectors::secret("A"), &[file.to_str().unwrap()]);
    assert_eq!(code(&sent), 0);
    assert!(wait_until(Duration::from_secs(20), || {
        std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .any(|agent| manifest_complete(&agent.path().join("manifest.json"), 1))
    }));
    let outside: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(outside.len(), 2, "only out/ and body.json: {outside:?}");
    assert!(
        !outer.path().join("escape").exists()
            && !outer.path().parent().unwrap().join("escape").exists()
    );
}

/// A fake Cronofy serving one video of `size` bytes that stalls halfway through its first
/// download, long enough for a test to stop `serve` mid-transfer.
async fn video_that_stalls_halfway(size: u64) -> FakeCronofy {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("video", ResourceSpec::generated(size, "video/mp4"));
    fake.faults(
        "video",
        [Fault {
            stall_at: Some((size / 2, Duration::from_secs(30))),
            ..Fault::default()
        }],
    );
    fake
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_mid_download_resumes_on_restart_without_starting_over() {
    let size: u64 = 8 << 20;
    let fake = video_that_stalls_halfway(size).await;
    let out = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_resume", &[("video", "conference", "video")]);
    let bodies = tempfile::tempdir().unwrap();
    let file = write_temp(bodies.path(), "resume-body.json", &body);

    let first = serve(out.path());
    assert_eq!(
        code(&send(
            &first,
            &vectors::secret("A"),
            &[file.to_str().unwrap()]
        )),
        0
    );
    let part = out.path().join("agt_resume/video-conference.part");
    assert!(wait_until(Duration::from_secs(20), || std::fs::metadata(
        &part
    )
    .is_ok_and(|m| m.len() >= size / 4)));
    std::thread::sleep(Duration::from_millis(300));
    drop(first); // SIGKILL, mid-download

    let held = std::fs::metadata(&part).unwrap().len();
    assert!(held > 0 && held < size, "{held}");
    let _second = serve(out.path());
    let video = out.path().join("agt_resume/video-conference.mp4");
    assert!(wait_until(Duration::from_secs(30), || manifest_complete(
        &out.path().join("agt_resume/manifest.json"),
        1
    )));
    assert_eq!(sha256_file(&video), fake.sha256("video"));
    let storage: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.side == "storage")
        .collect();
    let last = storage.last().unwrap();
    let range = last.range.clone().expect("the restart asked for a range");
    let from: u64 = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from > 0, "{range}");
    assert_eq!(
        last.planned_bytes,
        size - from,
        "only the missing bytes were fetched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_serve_cleanly_and_keeps_the_partial_file() {
    let size: u64 = 8 << 20;
    let fake = video_that_stalls_halfway(size).await;
    let out = tempfile::tempdir().unwrap();
    let mut running = serve(out.path());
    let body = fake.complete_body("agt_term", &[("video", "conference", "video")]);
    let bodies = tempfile::tempdir().unwrap();
    let file = write_temp(bodies.path(), "term-body.json", &body);
    assert_eq!(
        code(&send(
            &running,
            &vectors::secret("A"),
            &[file.to_str().unwrap()]
        )),
        0
    );
    let part = out.path().join("agt_term/video-conference.part");
    assert!(wait_until(Duration::from_secs(20), || std::fs::metadata(
        &part
    )
    .is_ok_and(|m| m.len() > 0)));

    let _ = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status();
    let mut status = None;
    assert!(wait_until(Duration::from_secs(15), || {
        status = running.child.try_wait().unwrap();
        status.is_some()
    }));
    assert!(status.unwrap().success(), "{status:?}");
    assert!(part.exists(), "the partial file is kept for a resume");
    assert!(
        out.path()
            .join("agt_term/video-conference.part.json")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_at_trace_level_never_show_the_secret_or_the_api_key() {
    let secret = "log-check-client-secret-7f3a";
    let api_key = "log-check-api-key-91bc";
    let fake = FakeCronofy::start(api_key).await.unwrap();
    fake.add("audio", ResourceSpec::generated(1 << 20, "audio/mpeg"));
    fake.faults(
        "audio",
        [Fault {
            drop_at: Some(1 << 19),
            ..Fault::default()
        }],
    );
    let out = tempfile::tempdir().unwrap();
    let log_path = out.path().join("serve.log");
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut running = Serve {
        child: cli()
            .args([
                "serve",
                "--listen",
                &addr.to_string(),
                "--secret",
                secret,
                "--api-key",
                api_key,
                "--allow-http",
                "--out",
            ])
            .arg(out.path().join("files"))
            .env("RUST_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
        addr,
    };
    assert!(wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(addr).is_ok()
    }));
    let body = fake.complete_body("agt_logs", &[("audio", "voice", "audio")]);
    let bodies = tempfile::tempdir().unwrap();
    let file = write_temp(bodies.path(), "body.json", &body);
    assert_eq!(code(&send(&running, secret, &[file.to_str().unwrap()])), 0);
    assert_eq!(
        code(&send(&running, "forged-secret", &[file.to_str().unwrap()])),
        1
    );
    assert!(wait_until(Duration::from_secs(20), || manifest_complete(
        &out.path().join("files/agt_logs/manifest.json"),
        1
    )));
    let _ = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status();
    assert!(wait_until(Duration::from_secs(15), || running
        .child
        .try_wait()
        .unwrap()
        .is_some()));

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("TRACE"), "trace logging was on:\n{log}");
    assert!(log.contains("retrying"), "the drop was retried and logged");
    for needle in [secret, api_key, "X-Amz-Signature", "sig1"] {
        assert!(
            !log.contains(needle),
            "{needle:?} is in the log:\n{}",
            log.lines()
                .filter(|l| l.contains(needle))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let manifest =
        std::fs::read_to_string(out.path().join("files/agt_logs/manifest.json")).unwrap();
    assert!(!manifest.contains(api_key) && !manifest.contains(secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivery_after_a_restart_is_still_a_duplicate() {
    let out = tempfile::tempdir().unwrap();
    let first = serve(out.path());
    let sent = send(
        &first,
        &vectors::secret("A"),
        &["--sample", "activated", "--sub", "agt_again"],
    );
    assert_eq!(String::from_utf8_lossy(&sent.stdout).trim(), "202 Accepted");
    drop(first);
    let second = serve(out.path());
    let again = send(
        &second,
        &vectors::secret("A"),
        &["--sample", "activated", "--sub", "agt_again"],
    );
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "200 OK",
        "the kept body says it was seen"
    );
    let other = send(
        &second,
        &vectors::secret("A"),
        &["--sample", "failed", "--sub", "agt_again"],
    );
    assert_eq!(
        String::from_utf8_lossy(&other.stdout).trim(),
        "202 Accepted",
        "another interaction is another callback"
    );
    let kept: Vec<_> = std::fs::read_dir(out.path().join("agt_again/callbacks"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
}

/// An --out that refuses the files serve keeps (read-only here) stops it at start-up with the
/// reason, instead of a server that answers every callback 503.
#[cfg(unix)]
#[test]
fn serve_will_not_start_on_a_folder_it_cannot_keep_callbacks_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let Some(_restore) = ReadOnly::make(&out) else {
        eprintln!("skipped: this user can write to any directory, and chattr is not available");
        return;
    };
    let mut child = cli()
        .args(["serve", "--listen", "127.0.0.1:0", "--secret", "s", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    let Some(status) = status else {
        let _ = child.kill();
        panic!("serve started on a folder it cannot write to");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot keep callbacks in"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing left behind"
    );
}

/// A directory made read-only (by its mode, or for root, who ignores modes, by `chattr +i`),
/// made writable again when dropped.
#[cfg(unix)]
struct ReadOnly(std::path::PathBuf);

#[cfg(unix)]
impl ReadOnly {
    fn make(dir: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let writable = || {
            let probe = dir.join("probe");
            let wrote = std::fs::write(&probe, b"").is_ok();
            let _ = std::fs::remove_file(&probe);
            wrote
        };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let guard = Self(dir.to_owned());
        if writable() {
            let _ = Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .stderr(Stdio::null())
                .status();
        }
        (!writable()).then_some(guard)
    }
}

#[cfg(unix)]
impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// A restart checks the completed meetings of earlier runs, fetches nothing already stored, and
/// says so in one line, not with a log line and a report per meeting at every start.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_checks_stored_meetings_quietly_and_fetches_nothing() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::fixed(samples::transcript("agt_quiet"), "application/json"),
    );
    let out = tempfile::tempdir().unwrap();
    let subs = ["agt_quiet_1", "agt_quiet_2"];
    let first = serve_with(out.path(), |command| {
        command.args([
            "--secret",
            &vectors::secret("A"),
            "--categories",
            "transcript",
        ]);
    });
    for sub in subs {
        assert_eq!(
            code(&send_complete(&first, &vectors::secret("A"), sub, &fake)),
            0
        );
    }
    assert!(wait_until(Duration::from_secs(30), || subs.iter().all(
        |sub| manifest_complete(&out.path().join(sub).join("manifest.json"), 1)
    )));
    drop(first);
    let fetched = fake.seen().len();

    let log = tempfile::NamedTempFile::new().unwrap();
    // Logs (standard error) and reports (standard output), appended to one file.
    let append = || {
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
    };
    let _second = serve_with(out.path(), |command| {
        command
            .args([
                "--secret",
                &vectors::secret("A"),
                "--categories",
                "transcript",
            ])
            .env("RUST_LOG", "info,cronofy_notify=debug")
            .stdout(append())
            .stderr(append());
    });
    let read = || std::fs::read_to_string(log.path()).unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || read()
            .matches("recordings already stored")
            .count()
            == subs.len()),
        "{}",
        read()
    );
    let logged = read();
    assert_eq!(
        logged
            .matches("checking the recordings of completed meetings from earlier runs")
            .count(),
        1,
        "{logged}"
    );
    assert!(logged.contains("meetings=2"), "{logged}");
    assert!(!logged.contains("recordings stored"), "{logged}");
    assert!(
        !logged.contains("(already complete)"),
        "no report: {logged}"
    );
    assert_eq!(fake.seen().len(), fetched, "nothing was fetched again");
}
