//! Callbacks in, recordings filed: byte for byte, from any path, never with a secret in a log.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
use cronofy_notify_test_support::{samples, vectors};

use super::{
    Serve, assert_audio_filed, manifest_complete, send, send_complete, serve, serve_listening,
    serve_with, wait_until,
};
use crate::{cli, code, run, sha256_file, write_temp};

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
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_with(out.path(), |command| {
        command
            .args(["--secret", &vectors::secret("A")])
            .env("RUST_LOG", "info")
            .stderr(log.reopen().unwrap());
    });

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
    // The log says so, once, and warns of nothing.
    let read = || std::fs::read_to_string(log.path()).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || read().lines().any(|l| l
            .contains("INFO")
            && l.contains("recordings stored sub=agt_cli"))),
        "{}",
        read()
    );
    assert!(!read().contains("WARN"), "{}", read());
    assert_eq!(read().matches("recordings stored").count(), 1, "{}", read());

    // A redelivery is answered 200 and fetches nothing.
    let before = fake.seen().len();
    let again = send_complete(&serve, &vectors::secret("A"), "agt_cli", &fake);
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "200 OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fake.seen().len(), before);
}

/// `serve` prints a line per stored recording; when its standard output cannot take them (a
/// full disk behind `> file`), it says so in its log and carries on receiving and filing.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn serve_carries_on_when_its_standard_output_cannot_be_written() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("audio", ResourceSpec::generated(64 << 10, "audio/mpeg"));
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_with(out.path(), |command| {
        command
            .args(["--secret", &vectors::secret("A"), "--categories", "audio"])
            .stdout(crate::full_device())
            .stderr(log.reopen().unwrap());
    });
    for sub in ["agt_full_1", "agt_full_2"] {
        assert_eq!(
            code(&send_complete(&serve, &vectors::secret("A"), sub, &fake)),
            0
        );
        assert_audio_filed(out.path(), sub, &fake);
    }
    let logged = || std::fs::read_to_string(log.path()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || logged()
            .matches("cannot write to standard output")
            .count()
            == 2),
        "{}",
        logged()
    );
    assert!(!logged().contains("panicked"), "{}", logged());
}

/// A completed meeting whose body holds values of types the model does not expect (an object
/// for `event.start`, a string for the duration) still has its recordings filed, and its body is
/// kept as it came, under its agent.
#[tokio::test(flavor = "multi_thread")]
async fn a_completed_meeting_with_values_of_unexpected_types_is_still_downloaded() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("audio", ResourceSpec::generated(300_000, "audio/mpeg"));
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_with(out.path(), |command| {
        command
            .args(["--secret", &vectors::secret("A")])
            .stderr(log.reopen().unwrap());
    });
    let mut body: serde_json::Value =
        serde_json::from_slice(&fake.complete_body("agt_drift", &[("audio", "voice", "audio")]))
            .unwrap();
    body["event"] = serde_json::json!({"summary": "Weekly",
        "start": {"time": "2026-11-30T09:00:00Z", "tzid": "Europe/London"}});
    body["meeting_agent"]["details"] =
        serde_json::json!({"recording": {"duration_seconds": "1620"}});
    let body = serde_json::to_vec(&body).unwrap();
    let file = write_temp(out.path(), "drift.json", &body);

    let sent = send(&serve, &vectors::secret("A"), &[file.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&sent.stdout).trim(), "202 Accepted");
    assert_audio_filed(out.path(), "agt_drift", &fake);
    let agent = out.path().join("agt_drift");
    let kept = std::fs::read(agent.join("callbacks/meeting_agent_complete.json")).unwrap();
    assert_eq!(kept, body, "the body is kept as it came");
    let log = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        log.contains("event.start")
            && log.contains("meeting_agent.details.recording.duration_seconds"),
        "what was left out is logged: {log}"
    );
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
    assert_audio_filed(out.path(), "agt_files", &fake);
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

/// Deliveries of one callback that arrive together (a retry while the first is still being
/// kept): exactly one is new, answered 202, and the others are duplicates, answered 200, whichever
/// of them finds the name taken; none is refused, so none is sent again.
#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_deliveries_of_one_callback_are_one_new_and_the_rest_duplicates() {
    use cronofy_notify_test_support::http_cases;
    let out = tempfile::tempdir().unwrap();
    let serve = serve(out.path());
    for round in 0..6 {
        let sub = format!("agt_together_{round}");
        let body = serde_json::json!({
            "notification": {"type": "event_subscription",
                             "interactions": [{"type": "meeting_agent_activated"}]},
            "meeting_agent": {"sub": sub, "state": "created"}});
        let case = http_cases::signed(body.to_string().into_bytes(), 202);
        let statuses = http_cases::send_together(serve.addr, &case, 8).await;
        assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 202], "{sub}");
        let kept = out.path().join(&sub).join("callbacks");
        let files: Vec<_> = std::fs::read_dir(&kept).unwrap().flatten().collect();
        assert_eq!(
            files.len(),
            1,
            "one body, no temporary file left: {files:?}"
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
        stderr: None,
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
    running.terminate();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("TRACE"), "trace logging was on:\n{log}");
    assert!(log.contains("retrying"), "the drop was retried and logged");
    // Standard error is a file, not a terminal: progress is logged as lines, not drawn.
    assert!(
        log.lines()
            .any(|line| line.contains("download started") && line.contains("audio")),
        "progress went to the log:\n{log}"
    );
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

/// What `log` holds once it holds `needle`, which it must within 20 s (or the test fails,
/// showing the log).
fn logged_within_20s(log: &tempfile::NamedTempFile, needle: &str) -> String {
    let read = || std::fs::read_to_string(log.path()).unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || read().contains(needle)),
        "no {needle:?} in {}",
        read()
    );
    read()
}

/// `serve` fetching audio only, retrying after `retry_every` seconds, logging into `log`.
fn serve_audio_logged(out: &Path, retry_every: &str, log: &tempfile::NamedTempFile) -> Serve {
    serve_with(out, |command| {
        command
            .args(["--secret", &vectors::secret("A"), "--categories", "audio"])
            .args(["--retry-every", retry_every])
            .stderr(log.reopen().unwrap());
    })
}

/// A recording that keeps failing (a link expired for good, say) is tried again less and less
/// often, the wait doubling from --retry-every, not once every interval for ever.
#[tokio::test(flavor = "multi_thread")]
async fn a_meeting_that_keeps_failing_is_tried_again_less_and_less_often() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_audio_logged(out.path(), "1", &log);
    // The fake lists no "audio": every try is a 404.
    let complete = send_complete(&serve, &vectors::secret("A"), "agt_gone", &fake);
    assert_eq!(code(&complete), 0);
    std::thread::sleep(Duration::from_secs(8));
    let tries = fake.seen().iter().filter(|s| s.side == "api").count();
    // Every second for 8 s would be 8 or 9 tries; doubling waits (1, 2, 4 s) make 3 or 4.
    assert!((2..=5).contains(&tries), "{tries} tries in 8 s");
    let logged = std::fs::read_to_string(log.path()).unwrap();
    for wait in ["retry_in=1s", "retry_in=2s"] {
        assert!(logged.contains(wait), "{wait} in {logged}");
    }
    // A 404 is no matter of plain http: no flag is suggested.
    assert!(!logged.contains("--allow-http"), "{logged}");
}

/// Without --allow-http, recordings at plain-http URLs are refused before the API key goes
/// anywhere, and the log names the flag that would take them (as `download` does).
#[tokio::test(flavor = "multi_thread")]
async fn serve_refusing_plain_http_recordings_names_the_flag() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_listening(
        cli(),
        out.path(),
        |addr| addr.to_string(),
        |command| {
            command
                .args(["--secret", &vectors::secret("A"), "--categories", "audio"])
                .env("RUST_LOG", "info")
                .stderr(log.reopen().unwrap());
        },
    );
    let complete = send_complete(&serve, &vectors::secret("A"), "agt_plain", &fake);
    assert_eq!(code(&complete), 0);
    let logged = logged_within_20s(&log, "some recordings were not stored");
    assert!(logged.contains("only https is allowed"), "{logged}");
    assert!(
        logged.contains("not stored (--allow-http allows plain-http resource URLs"),
        "{logged}"
    );
    assert!(
        fake.seen().is_empty(),
        "the key went out: {:?}",
        fake.seen()
    );
}

/// --retry-every takes any number of seconds: one past the clock's end means "only on the next
/// start", never a panic.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_wait_past_the_clocks_end_is_no_panic() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_audio_logged(out.path(), &u64::MAX.to_string(), &log);
    let complete = send_complete(&serve, &vectors::secret("A"), "agt_never", &fake);
    assert_eq!(code(&complete), 0);
    logged_within_20s(&log, "some recordings were not stored");
    let read = || std::fs::read_to_string(log.path()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!read().contains("panicked"), "{}", read());
    assert!(read().contains("retry_in=at the next start"), "{}", read());
    let activated = send(&serve, &vectors::secret("A"), &["--sample", "activated"]);
    assert_eq!(code(&activated), 0, "still serving");
}
