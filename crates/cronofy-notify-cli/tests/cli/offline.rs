//! `verify`, `sign`, `transcript`, and `send` where it fails before a server answers.

use cronofy_notify_test_support::{samples, vectors};

use crate::{cli, code, run, run_unread, run_with_input, write_temp};

#[test]
fn every_shared_vector_through_verify_exits_as_the_contract_says() {
    let dir = tempfile::tempdir().unwrap();
    for case in vectors::cases() {
        let body = write_temp(dir.path(), "body.json", &case.body);
        let mut command = cli();
        command.arg("verify").arg("--signature").arg(&case.header);
        for secret in &case.secrets {
            command.arg("--secret").arg(secret);
        }
        let output = run(command.arg(&body));
        let expected = match (case.valid, case.body_path.as_str()) {
            (false, _) => 1,
            (true, "bodies/well-known.json") => 3,
            (true, _) => 0,
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), expected, "{}: {stderr}", case.name);
        let says = match expected {
            1 => "not genuine: ",
            3 => "the signature is genuine; the body is JSON but not a Cronofy notification",
            _ => "",
        };
        assert!(stderr.contains(says), "{}: {stderr}", case.name);
    }
}

#[test]
fn verify_reads_standard_input_and_the_secret_from_the_environment() {
    let body = vectors::seed_body("failed");
    let header = String::from_utf8(
        run(cli().args(["sign", "--secret", "s3cret"]).arg(write_temp(
            tempfile::tempdir().unwrap().path(),
            "b",
            &body,
        )))
        .stdout,
    )
    .unwrap();
    let output = run_with_input(
        cli()
            .args(["verify", "--signature", header.trim()])
            .env("CRONOFY_CLIENT_SECRET", "s3cret"),
        &body,
    );
    assert_eq!(code(&output), 0);
    let summary = String::from_utf8(output.stdout).unwrap();
    assert!(
        summary.contains("meeting_agent_failed") && summary.contains("meeting_agent_rejected"),
        "{summary}"
    );
}

#[test]
fn verify_without_a_signature_or_secret_fails_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    assert_eq!(
        code(&run(cli().args(["verify", "--secret", "s"]).arg(&body))),
        1,
        "no signature"
    );
    assert_eq!(
        code(&run(cli().arg("verify").arg(&body))),
        2,
        "no secret is a usage error"
    );
    assert_eq!(
        code(&run(cli().args([
            "verify",
            "--secret",
            "s",
            "--signature",
            "x",
            "/no/such/file"
        ]))),
        2
    );
}

/// With JSON logs, a command's own messages are log events too: standard error holds only JSON.
#[test]
fn with_json_logs_a_failure_and_a_warning_are_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    let refused = run(cli()
        .args(["--log-format", "json", "verify", "--secret", "s"])
        .args(["--signature", "x"])
        .arg(&body));
    assert_eq!(code(&refused), 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let event: serde_json::Value = serde_json::from_str(stderr.trim()).expect(&stderr);
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["exit_code"], 1);
    assert!(event["message"].as_str().unwrap().contains("malformed"));

    // The variable does what the flag does, after the command too; a warning is a WARN event.
    let warned = run(cli()
        .arg("transcript")
        .arg(&body)
        .env("CRONOFY_NOTIFY_LOG_FORMAT", "json"));
    assert_eq!(code(&warned), 0);
    let stderr = String::from_utf8_lossy(&warned.stderr);
    let event: serde_json::Value = serde_json::from_str(stderr.trim()).expect(&stderr);
    assert_eq!(event["level"], "WARN");
    assert!(event["message"].as_str().unwrap().contains("no sentences"));
}

/// A command reading its body from a terminal says so, and how to end it: otherwise it just
/// waits, and looks hung to whoever forgot the FILE. From a pipe, not a word. The terminal is
/// script(1)'s, typed into: a body, a line break, then Ctrl-D.
#[cfg(target_os = "linux")]
#[test]
fn reading_a_body_from_a_terminal_says_how_to_end_it() {
    let signed = |output: &std::process::Output| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|line| line.trim() == "9SDFnJOGe3IFrLE6xG2sc7Lhz7tBc99zibvWUh9hYvs=")
    };
    let piped = run_with_input(cli().args(["sign", "--secret", "s"]), b"{}\n");
    assert!(signed(&piped), "{piped:?}");
    assert!(piped.stderr.is_empty(), "{piped:?}");

    let program = format!("{} sign --secret s", env!("CARGO_BIN_EXE_cronofy-notify"));
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: script(1), to give the command a terminal, is not installed");
        return;
    }
    let typed = run_with_input(
        std::process::Command::new("script")
            .args(["-qec", &program, "/dev/null"])
            .env("RUST_LOG", "warn")
            .env_remove("CRONOFY_CLIENT_SECRET"),
        b"{}\n\x04",
    );
    let screen = String::from_utf8_lossy(&typed.stdout);
    assert!(
        screen.contains(
            "reading a callback from the terminal: paste it and end with Ctrl-D, or give a FILE"
        ),
        "{screen}"
    );
    assert!(signed(&typed), "the same body, signed: {screen}");
}

#[test]
fn sign_output_is_accepted_by_verify_including_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    let signed = run(cli()
        .args(["sign", "--secret", "old", "--secret", "new"])
        .arg(&body));
    assert_eq!(code(&signed), 0);
    let header = String::from_utf8(signed.stdout).unwrap();
    assert_eq!(header.trim().split(',').count(), 2);
    for secret in ["old", "new"] {
        let output = run(cli()
            .args(["verify", "--secret", secret, "--signature", header.trim()])
            .arg(&body));
        assert_eq!(code(&output), 0, "{secret}");
    }
    assert_eq!(
        code(&run(cli()
            .args(["verify", "--secret", "other", "--signature", header.trim()])
            .arg(&body))),
        1
    );
}

/// A header line copied whole from a log or a request dump is taken for its value, whatever the
/// name's case; a line naming another header is not a signature.
#[test]
fn verify_takes_a_header_line_copied_whole() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    let signed = run(cli().args(["sign", "--secret", "s"]).arg(&body));
    let value = String::from_utf8(signed.stdout).unwrap();
    let verify = |signature: &str| {
        run(cli()
            .args(["verify", "--secret", "s", "--signature", signature])
            .arg(&body))
    };
    for line in [
        format!("Cronofy-HMAC-SHA256: {}", value.trim()),
        format!("  cronofy-hmac-sha256 :{}  ", value.trim()),
    ] {
        let output = verify(&line);
        assert_eq!(code(&output), 0, "{line}: {output:?}");
    }
    let output = verify(&format!("X-Signature: {}", value.trim()));
    assert_eq!(code(&output), 1);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("malformed"),
        "{output:?}"
    );
}

/// A body saved with a line break it was not signed with is still refused, and the refusal says
/// so; any other change gets no such word.
#[test]
fn verify_says_when_a_final_line_break_is_all_that_differs() {
    let dir = tempfile::tempdir().unwrap();
    // Signed without a final line break (the seed file has one), so that one added is all that
    // differs.
    let signed_body = vectors::seed_body("complete").trim_ascii_end().to_vec();
    let header = run(cli().args(["sign", "--secret", "s"]).arg(write_temp(
        dir.path(),
        "signed.json",
        &signed_body,
    )));
    let header = String::from_utf8(header.stdout).unwrap();
    let verify = |name: &str, body: &[u8]| {
        run(cli()
            .args(["verify", "--secret", "s", "--signature", header.trim()])
            .arg(write_temp(dir.path(), name, body)))
    };
    for (name, ending) in [("lf.json", &b"\n"[..]), ("crlf.json", b"\r\n")] {
        let output = verify(name, &[&signed_body[..], ending].concat());
        assert_eq!(code(&output), 1, "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("without its final line break"), "{stderr}");
    }
    let mut changed = signed_body.clone();
    changed[0] = b' ';
    changed.push(b'\n');
    let output = verify("changed.json", &changed);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not match") && !stderr.contains("line break"),
        "{stderr}"
    );
}

/// A file that cannot hold one secret is a usage error that says why, before any work: the
/// wrong file (large, or not text), or two secrets on two lines, which read as one secret
/// with a line break in it would match no callback. A large file was read whole (`/dev/zero`
/// until memory ran out) and its bytes taken for the secret.
#[test]
fn secret_files_that_cannot_hold_one_secret_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    let large = dir.path().join("recording.mp4");
    std::fs::File::create(&large)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let two_lines = write_temp(dir.path(), "rotation", b"old-secret\nnew-secret\n");
    let binary = write_temp(dir.path(), "key.der", b"\x30\x82\xff\xfe");
    for (file, says) in [
        (&large, "holds more than a secret can (64 KiB at most)"),
        (&two_lines, "holds more than one line"),
        (&binary, "is not UTF-8 text"),
    ] {
        for command in [
            cli().arg("sign").arg("--secret-file").arg(file).arg(&body),
            cli()
                .args(["download", "--out"])
                .arg(dir.path())
                .arg("--api-key-file")
                .arg(file)
                .arg(&body),
        ] {
            let output = run(command);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(code(&output), 2, "{file:?}: {stderr}");
            assert!(
                stderr.contains(&format!("cannot read the secret file {}", file.display()))
                    && stderr.contains(says),
                "{stderr}"
            );
            assert!(output.stdout.is_empty());
        }
    }
}

/// Secrets from files, as systemd credentials and Docker or Kubernetes secrets arrive: the final
/// line break is not part of the secret, files add to `--secret`, and one that cannot be read is
/// a usage error that names the file.
#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    let old = write_temp(dir.path(), "old", b"old\n");
    let new = write_temp(dir.path(), "new", b"  new\r\n");

    let from_files = run(cli().arg("sign").arg("--secret-file").arg(&old).arg(&body));
    assert_eq!(code(&from_files), 0);
    let by_value = run(cli().args(["sign", "--secret", "old"]).arg(&body));
    assert_eq!(
        from_files.stdout, by_value.stdout,
        "the line break is not signed with"
    );

    let rotation = run(cli()
        .args(["sign", "--secret", "old", "--secret-file"])
        .arg(&new)
        .arg(&body));
    let header = String::from_utf8(rotation.stdout).unwrap();
    assert_eq!(header.trim().split(',').count(), 2, "{header}");
    let verified = run(cli()
        .args(["verify", "--signature", header.trim()])
        .env("CRONOFY_CLIENT_SECRET_FILE", &new)
        .arg(&body));
    assert_eq!(
        code(&verified),
        0,
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let missing = run(cli()
        .args(["verify", "--signature", header.trim(), "--secret-file"])
        .arg(dir.path().join("absent"))
        .arg(&body));
    assert_eq!(code(&missing), 2);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot read the secret file") && stderr.contains("absent"),
        "{stderr}"
    );

    // A variable holding the file's line break is refused with the reason, not used as a key
    // that no genuine callback would match.
    let padded = run(cli()
        .args(["verify", "--signature", header.trim()])
        .env("CRONOFY_CLIENT_SECRET", "ol-d-s3cret\n")
        .arg(&body));
    assert_eq!(code(&padded), 2);
    let stderr = String::from_utf8_lossy(&padded.stderr);
    assert!(stderr.contains("white space"), "{stderr}");
    assert!(!stderr.contains("ol-d-s3cret"), "{stderr}");
}

#[test]
fn verify_sums_up_a_callback_with_values_of_unexpected_types_and_says_what_it_left_out() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&vectors::seed_body("complete")).unwrap();
    body["event"]["start"] = serde_json::json!({"time": "2026-04-04T15:30:00Z"});
    let body = serde_json::to_vec(&body).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "body.json", &body);
    let header =
        String::from_utf8(run(cli().args(["sign", "--secret", "s"]).arg(&file)).stdout).unwrap();
    let output = run(cli()
        .args(["verify", "--secret", "s", "--signature", header.trim()])
        .arg(&file));
    assert_eq!(code(&output), 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("genuine: meeting_agent_complete for agt_")
            && stdout.ends_with("resources: transcript, audio, video (left out: event.start)\n"),
        "{stdout}"
    );
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[test]
fn verify_json_writes_the_model_with_cronofys_field_names() {
    let case = vectors::cases()
        .into_iter()
        .find(|c| c.name == "meeting_agent_complete-signed")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &case.body);
    let output = run(cli()
        .args([
            "verify",
            "--json",
            "--secret",
            &case.secrets[0],
            "--signature",
            &case.header,
        ])
        .arg(&body));
    assert_eq!(code(&output), 0);
    let written: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let original: serde_json::Value = serde_json::from_slice(&case.body).unwrap();
    assert_eq!(written, original);
}

#[test]
fn transcript_renders_text_vtt_and_srt() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "t.json", &samples::transcript("agt_1"));
    let text = String::from_utf8(run(cli().args(["transcript"]).arg(&file)).stdout).unwrap();
    assert!(
        text.starts_with("Ada Lovelace [00:00:02]: Good morning"),
        "{text}"
    );
    let vtt =
        String::from_utf8(run(cli().args(["transcript", "--format", "vtt"]).arg(&file)).stdout)
            .unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n00:00:02.720 --> "), "{vtt}");
    let srt =
        String::from_utf8(run(cli().args(["transcript", "--format", "srt"]).arg(&file)).stdout)
            .unwrap();
    assert!(srt.starts_with("1\n00:00:02,720 --> "), "{srt}");
    let bad = write_temp(dir.path(), "bad.json", b"{oops");
    assert_eq!(code(&run(cli().arg("transcript").arg(&bad))), 1);
}

#[test]
fn transcript_reads_standard_input_and_warns_about_a_file_that_is_not_one() {
    let output = run_with_input(
        cli().args(["transcript", "--format", "srt"]),
        &samples::transcript("agt_1"),
    );
    assert_eq!(code(&output), 0);
    assert!(output.stdout.starts_with(b"1\n00:00:02,720 --> "));
    assert!(output.stderr.is_empty(), "{output:?}");

    // A callback body is JSON, and every transcript field is optional: it renders as nothing,
    // and says why on standard error.
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "body.json", &vectors::seed_body("complete"));
    let output = run(cli().arg("transcript").arg(&body));
    assert_eq!(code(&output), 0);
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no sentences") && stderr.contains("body.json"),
        "{stderr}"
    );

    // Stored gzip-encoded, as a storage may send it whatever was asked: said as such, where
    // "not JSON" would leave the user to find out why.
    let gzipped = write_temp(
        dir.path(),
        "transcript-cronofy.json",
        &[0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03],
    );
    let output = run(cli().arg("transcript").arg(&gzipped));
    assert_eq!(code(&output), 1);
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("transcript-cronofy.json is gzip-compressed")
            && stderr.contains("gunzip -c"),
        "{stderr}"
    );
}

/// A transcript with values of a kind it should not hold renders without them, and says which.
#[test]
fn transcript_renders_around_values_of_the_wrong_kind_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let odd = write_temp(
        dir.path(),
        "odd.json",
        br#"{"transcript":{"paragraphs":[{"speaker":{"name":"Ada"},"sentences":[
            {"text":"One.","start":"1.5","end":3},{"text":"Two.","start":"3","end":"4"}]}]}}"#,
    );
    let output = run(cli().args(["transcript", "--format", "srt"]).arg(&odd));
    assert_eq!(code(&output), 0, "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "1\n00:00:00,000 --> 00:00:03,000\nAda: One.\n\n2\n00:00:00,000 --> 00:00:02,000\nAda: Two.\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("odd.json")
            && stderr.contains("transcript.paragraphs[0].sentences[0].start and 2 more"),
        "{stderr}"
    );

    let array = write_temp(dir.path(), "array.json", b"[]");
    let output = run(cli().arg("transcript").arg(&array));
    assert_eq!(code(&output), 1);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("it is not a JSON object"),
        "{output:?}"
    );
}

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
fn answering_once(answer: &'static [u8]) -> std::net::SocketAddr {
    answering_once_seen(answer).0
}

/// [`answering_once`], and the request it answered, head and body, once it has answered.
fn answering_once_seen(
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
        let _ = std::io::Write::write_all(&mut stream, answer);
        let _ = seen.send(request);
    });
    (addr, request_seen)
}

/// `send` of the body on standard input, signed under "s3cret", to the server at `addr`.
fn send_from_stdin_to(addr: std::net::SocketAddr) -> std::process::Command {
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

/// `-` is standard input for every command that reads a body, as for Unix tools.
#[test]
fn a_dash_is_standard_input_for_every_command_that_reads_a_body() {
    let body = vectors::seed_body("complete");
    let signed = run_with_input(cli().args(["sign", "--secret", "s3cret", "-"]), &body);
    assert_eq!(code(&signed), 0, "{signed:?}");
    let header = String::from_utf8(signed.stdout).unwrap();
    let header = header.trim();
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "body.json", &body);
    let from_file = run(cli().args(["sign", "--secret", "s3cret"]).arg(&file));
    assert_eq!(String::from_utf8(from_file.stdout).unwrap().trim(), header);

    let verified = run_with_input(
        cli().args(["verify", "--secret", "s3cret", "--signature", header, "-"]),
        &body,
    );
    assert_eq!(code(&verified), 0, "{verified:?}");
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("genuine: "));

    let rendered = run_with_input(
        cli().args(["transcript", "--format", "srt", "-"]),
        &samples::transcript("agt_1"),
    );
    assert_eq!(code(&rendered), 0, "{rendered:?}");
    assert!(rendered.stdout.starts_with(b"1\n00:00:02,720 --> "));

    let (addr, request_seen) =
        answering_once_seen(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    let sent = run_with_input(&mut send_from_stdin_to(addr), &body);
    assert_eq!(code(&sent), 0, "{sent:?}");
    let request = request_seen
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert!(
        request.ends_with(&body),
        "the body from standard input was sent"
    );
    let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
    assert!(
        head.contains(&format!(
            "cronofy-hmac-sha256: {}",
            header.to_ascii_lowercase()
        )),
        "{head}"
    );
}

/// The commands that write to standard output, each with the standard input it reads: a body
/// signed under "s3cret", or a transcript.
fn writing_commands(body: &[u8]) -> Vec<(Vec<String>, Vec<u8>)> {
    let header = cronofy_notify_core::Signer::new(["s3cret"])
        .unwrap()
        .sign(body);
    let verify = ["verify", "--secret", "s3cret", "--signature", &header];
    let to_strings = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        (to_strings(&[&verify[..], &["-"]].concat()), body.to_vec()),
        (
            to_strings(&[&verify[..], &["--json", "-"]].concat()),
            body.to_vec(),
        ),
        (
            to_strings(&["sign", "--secret", "s3cret", "-"]),
            body.to_vec(),
        ),
        (
            to_strings(&["transcript", "-"]),
            samples::transcript("agt_1"),
        ),
        (
            to_strings(&["transcript", "--format", "vtt", "-"]),
            samples::transcript("agt_1"),
        ),
    ]
}

/// A reader that stops reading (`verify --json | head -n 3`) ends no command in a panic: what is
/// left is dropped quietly, and the command exits as it would have.
#[test]
fn a_reader_that_stops_reading_is_no_failure() {
    let body = vectors::seed_body("complete");
    for (args, input) in writing_commands(&body) {
        let output = run_unread(cli().args(&args), &input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 0, "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }

    let addr = answering_once(b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\n");
    let sent = run_unread(&mut send_from_stdin_to(addr), &body);
    assert_eq!(code(&sent), 0, "{sent:?}");
    assert!(sent.stderr.is_empty(), "{sent:?}");
}

/// Output that cannot be written (a full disk behind `> file`) is said, and the command exits 2,
/// as for input it cannot read: never a panic, never the exit code of a verdict.
#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_said_and_exits_2() {
    let body = vectors::seed_body("complete");
    let mut commands = writing_commands(&body);
    commands.push((vec!["sample".to_owned()], Vec::new()));
    for (args, input) in commands {
        let output = crate::run_into_a_full_device(cli().args(&args), &input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("cronofy-notify: cannot write to standard output: ")
                && stderr.contains("No space left on device")
                && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
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

#[test]
fn send_refuses_a_sample_it_would_get_wrong_before_sending_anything() {
    // Each is a usage error (exit 2) found while the command line is read: nothing is sent, so
    // the unreachable --url is never tried.
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "body.json", b"{}");
    let body = body.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--sample", "failed:"], "needs a subtype"),
        (
            &["--sample", "completed"],
            "expected activated, complete, failed",
        ),
        (&["--sub", " "], "cannot be blank"),
        (&["--resource-base", "ftp://127.0.0.1/"], "http or https"),
        (&["--resource-base", "fake-cronofy"], "not a URL"),
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
fn the_command_list_is_one_short_line_each_and_the_details_are_in_each_help() {
    let output = run(cli().arg("--help"));
    assert_eq!(code(&output), 0);
    let help = String::from_utf8_lossy(&output.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(commands.len(), 9, "{help}");
    for line in commands {
        assert!(
            line.chars().count() <= 100,
            "too long for a terminal: {line}"
        );
    }
    // What a script needs, the exit codes, is one --help away.
    let output = run(cli().args(["verify", "--help"]));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("3: genuine, but not a Cronofy notification"),
        "{help}"
    );
}

#[test]
fn receive_is_another_name_for_serve() {
    // The design card calls the command's listening job "receive".
    let output = run(cli().args(["receive", "--help"]));
    assert_eq!(code(&output), 0);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Usage: cronofy-notify serve"), "{help}");
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
    assert_eq!(code(&run(cli().args(["sample", "completed"]))), 2);
}

/// Input larger than any callback (64 MiB) or transcript (256 MiB) is refused, not read into
/// memory whole: a recording given to `transcript` by mistake, say.
#[test]
fn inputs_larger_than_a_callback_or_a_transcript_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse files, long but with nothing written: their size alone refuses them, unread.
    let sized = |name: &str, bytes: u64| {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .set_len(bytes)
            .unwrap();
        path
    };
    let recording = sized("video-conference.mp4", 300 << 20);
    let output = run(cli().arg("transcript").arg(&recording));
    assert_eq!(code(&output), 2);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        format!(
            "cronofy-notify: {} holds more than a transcript can (256 MiB at most)",
            recording.display()
        )
    );
    let body = sized("body.json", (64 << 20) + 1);
    let output = run(cli().args(["sign", "--secret", "s"]).arg(&body));
    assert_eq!(code(&output), 2);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("holds more than a callback can"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Standard input says no size: read up to the limit, then refused.
    let over = vec![b' '; (64 << 20) + 1];
    for command in [
        &["verify", "--secret", "s", "--signature", "x"][..],
        &["sign", "--secret", "s"],
        &["send", "--secret", "s", "--url", "http://127.0.0.1:9/"],
        &["download", "--api-key", "k", "--out", "unused"],
    ] {
        let output = run_with_input(cli().args(command).arg("-"), &over);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{command:?}: {stderr}");
        assert!(
            stderr.contains("standard input holds more than a callback can (64 MiB at most)"),
            "{command:?}: {stderr}"
        );
    }
}

/// A `RUST_LOG` that does not parse is said, and logging goes on at info, rather than the typo
/// dropped in silence; a valid one is taken without a word.
#[test]
fn a_rust_log_that_does_not_parse_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "body.json", b"{}");
    let sign = |rust_log: &str| {
        run(cli()
            .args(["sign", "--secret", "s"])
            .arg(&body)
            .env("RUST_LOG", rust_log))
    };
    let typo = sign("cronofy_notify=dbug");
    assert_eq!(code(&typo), 0);
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.contains("RUST_LOG is not a filter tracing understands; logging at info")
            && stderr.contains("error parsing level filter"),
        "{stderr}"
    );
    assert_eq!(
        typo.stdout,
        sign("debug").stdout,
        "the command's work is the same"
    );
    assert!(sign("debug").stderr.is_empty());
}
