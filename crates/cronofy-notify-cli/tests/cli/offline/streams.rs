//! What every command shares: standard input and output (a terminal, `-`, a reader that
//! stops, a full disk, input too large), logs, and `--help`.

use cronofy_notify_test_support::{samples, vectors};

use super::send::{answering_once, answering_once_seen, send_from_stdin_to};
use crate::{cli, code, run, run_unread, run_with_input, write_temp};

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
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("not a transcript")
    );
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

/// Input larger than any callback (64 MiB) or transcript (256 MiB) is refused, not read into
/// memory whole: a recording given to `transcript` by mistake, say. Input of exactly the limit
/// is taken.
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

    // A path to something that says no size (a device, a pipe) is read up to the limit too.
    #[cfg(unix)]
    {
        let output = run(cli().args(["sign", "--secret", "s", "/dev/zero"]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{stderr}");
        assert!(
            stderr.contains("/dev/zero holds more than a callback can"),
            "{stderr}"
        );
    }

    // At the limit exactly, a body is taken, from a file and from standard input alike.
    let largest = sized("largest.json", 64 << 20);
    let from_file = run(cli().args(["sign", "--secret", "s"]).arg(&largest));
    assert_eq!(
        code(&from_file),
        0,
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    let from_stdin = run_with_input(
        cli().args(["sign", "--secret", "s", "-"]),
        &vec![0; 64 << 20],
    );
    assert_eq!(
        code(&from_stdin),
        0,
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert_eq!(
        from_file.stdout, from_stdin.stdout,
        "the same 64 MiB signed"
    );
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
