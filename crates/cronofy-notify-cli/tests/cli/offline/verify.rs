//! `verify` and `sign`: every vector, the secrets from values, variables and files, and what
//! the summary and `--json` say.

use cronofy_notify_test_support::vectors;

use crate::{cli, code, run, run_with_input, write_temp};

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
    // The limit is on the file, and a file of exactly 64 KiB is within it.
    let largest = write_temp(dir.path(), "largest", &[b'k'; 64 * 1024]);
    let output = run(cli()
        .arg("sign")
        .arg("--secret-file")
        .arg(&largest)
        .arg(&body));
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A secret file saved with a byte-order mark (Windows editors, PowerShell's `Out-File` or
/// `Set-Content -Encoding UTF8`) looks right in any editor: its secret signed and verified with
/// the mark inside, so every genuine callback was refused as forged. Refused at start, saying so.
#[test]
fn a_secret_file_saved_with_a_byte_order_mark_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    let marked = write_temp(
        dir.path(),
        "secret.txt",
        "\u{FEFF}CRN_secret\r\n".as_bytes(),
    );
    for command in [
        cli()
            .arg("sign")
            .arg("--secret-file")
            .arg(&marked)
            .arg(&body),
        cli()
            .args(["download", "--out"])
            .arg(dir.path().join("recordings"))
            .arg("--api-key-file")
            .arg(&marked)
            .arg(&body),
    ] {
        let output = run(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{stderr}");
        assert!(stderr.contains("byte-order mark"), "{stderr}");
        assert!(!stderr.contains("CRN_secret"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    assert!(!dir.path().join("recordings").exists());
}

/// `CRONOFY_CLIENT_SECRET="CRN_secret"` in a file given to `docker run --env-file` arrives with
/// its quotes, which a shell or Docker Compose would have taken away: refused, saying so, for
/// signing and for downloading alike.
#[test]
fn a_secret_in_quotes_kept_from_an_env_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "b.json", &vectors::seed_body("complete"));
    for command in [
        cli().arg("sign").arg(&body),
        cli()
            .args(["download", "--out"])
            .arg(dir.path().join("recordings"))
            .arg(&body),
    ] {
        let output = run(command.env("CRONOFY_CLIENT_SECRET", "\"CRN_secret\""));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{stderr}");
        assert!(
            stderr.contains("wrapped in quotes") && stderr.contains("--env-file"),
            "{stderr}"
        );
        assert!(!stderr.contains("CRN_secret"), "{stderr}");
    }
    assert!(!dir.path().join("recordings").exists());
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
