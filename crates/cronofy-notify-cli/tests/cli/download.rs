//! `download` of a saved callback body.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cronofy_notify_test_support::fake::{FakeCronofy, ResourceSpec};
use cronofy_notify_test_support::vectors;

#[cfg(target_os = "linux")]
use crate::cli_without_room;
use crate::{
    cli, code, run, run_unread, run_with_input, sha256_file, video_that_stalls_halfway, wait_until,
    write_temp,
};

/// `download` of the body in `file` into `out`, keyed for the fake Cronofy on plain http.
fn download_from_the_fake(out: &Path, file: &Path) -> Output {
    download_from_the_fake_with(out, file, &[])
}

/// [`download_from_the_fake`], with more options.
fn download_from_the_fake_with(out: &Path, file: &Path, options: &[&str]) -> Output {
    run(keyed_download()
        .args(options)
        .arg("--out")
        .arg(out)
        .arg(file))
}

/// `download`, keyed for the fake Cronofy on plain http: `--out` and the body to follow.
fn keyed_download() -> Command {
    keyed(cli())
}

/// `command` (the `cronofy-notify` command) given `download`, keyed for the fake Cronofy.
fn keyed(mut command: Command) -> Command {
    command.args([
        "download",
        "--allow-http",
        "--api-key",
        &vectors::secret("A"),
    ]);
    command
}

/// A fake Cronofy serving `size` bytes of audio.
async fn fake_with_audio(size: u64) -> FakeCronofy {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add("audio", ResourceSpec::generated(size, "audio/mpeg"));
    fake
}

/// The `complete` body of agent `sub`, listing the fake's audio, saved in `dir`.
fn saved_audio_body(fake: &FakeCronofy, sub: &str, dir: &Path) -> PathBuf {
    let body = fake.complete_body(sub, &[("audio", "voice", "audio")]);
    write_temp(dir, "body.json", &body)
}

/// `download` exited 0 and the fake's audio is at `path`, byte for byte.
fn assert_audio_stored(output: &Output, path: &Path, fake: &FakeCronofy) {
    assert_eq!(
        code(output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(sha256_file(path), fake.sha256("audio"));
}

/// Without --api-key, the client secret in the environment is the key, as it is Cronofy's; with
/// no key anywhere, `download` says where one may come from and fetches nothing.
#[tokio::test(flavor = "multi_thread")]
async fn download_takes_the_client_secret_from_the_environment_as_its_key() {
    let fake = fake_with_audio(10_000).await;
    let out = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_env", out.path());
    let unset = [
        "CRONOFY_API_KEY",
        "CRONOFY_API_KEY_FILE",
        "CRONOFY_CLIENT_SECRET",
        "CRONOFY_CLIENT_SECRET_FILE",
    ];
    let download = |secret: Option<String>| {
        let mut command = cli();
        command
            .args(["download", "--allow-http", "--out"])
            .arg(out.path())
            .arg(&file);
        for name in unset {
            command.env_remove(name);
        }
        if let Some(secret) = secret {
            command.env("CRONOFY_CLIENT_SECRET", secret);
        }
        run(&mut command)
    };

    let keyless = download(None);
    assert_eq!(code(&keyless), 2);
    assert!(String::from_utf8_lossy(&keyless.stderr).contains("no API key"));
    assert!(fake.seen().is_empty(), "nothing was fetched without a key");

    let output = download(Some(vectors::secret("A")));
    assert_audio_stored(&output, &out.path().join("agt_env/audio-voice.mp3"), &fake);
}

/// A reader that stops reading the report (`download ... | head -n 1`) changes nothing: the
/// recordings are stored, and the exit code says how the download went.
#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_stops_reading_the_report_changes_nothing() {
    let fake = fake_with_audio(20_000).await;
    let out = tempfile::tempdir().unwrap();
    let body = std::fs::read(saved_audio_body(&fake, "agt_unread", out.path())).unwrap();
    let stored = run_unread(
        keyed_download().arg("--out").arg(out.path()).arg("-"),
        &body,
    );
    assert_audio_stored(
        &stored,
        &out.path().join("agt_unread/audio-voice.mp3"),
        &fake,
    );
    assert!(stored.stderr.is_empty(), "{stored:?}");

    // Refused (plain http without --allow-http): still the exit code of a failed download.
    let refused = run_unread(
        cli()
            .args(["download", "--api-key", "k", "--out"])
            .arg(out.path().join("refused"))
            .arg("-"),
        &body,
    );
    assert_eq!(code(&refused), 1, "{refused:?}");
    assert!(
        !String::from_utf8_lossy(&refused.stderr).contains("panicked"),
        "{refused:?}"
    );
}

/// A saved body holding a value of a type the model does not expect still gives its recordings.
#[tokio::test(flavor = "multi_thread")]
async fn download_fetches_from_a_body_with_values_of_unexpected_types() {
    let fake = fake_with_audio(100_000).await;
    let out = tempfile::tempdir().unwrap();
    let mut body: serde_json::Value =
        serde_json::from_slice(&fake.complete_body("agt_dl", &[("audio", "voice", "audio")]))
            .unwrap();
    body["meeting_agent"]["state"] = serde_json::json!({"name": "complete"});
    let file = write_temp(out.path(), "body.json", &serde_json::to_vec(&body).unwrap());
    let output = download_from_the_fake(out.path(), &file);
    assert_audio_stored(&output, &out.path().join("agt_dl/audio-voice.mp3"), &fake);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("meeting_agent.state"), "{stderr}");
}

/// `--out` given relative to where the command runs: the manifest names the file by its
/// absolute path, and a later run given the same folder by that path (from elsewhere) finds it
/// stored and fetches nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_relative_out_is_recorded_absolute_and_found_again_from_elsewhere() {
    let fake = fake_with_audio(50_000).await;
    let work = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_rel", work.path());

    let output = run(keyed_download()
        .current_dir(work.path())
        .args(["--out", "recordings"])
        .arg(&file));
    let out = work.path().join("recordings");
    assert_audio_stored(&output, &out.join("agt_rel/audio-voice.mp3"), &fake);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("agt_rel/manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["resources"][0]["location"]["file"],
        out.join("agt_rel/audio-voice.mp3").to_str().unwrap(),
        "{manifest:#}"
    );
    let fetched = fake.seen().len();

    let again = download_from_the_fake(&out, &file);
    assert_audio_stored(&again, &out.join("agt_rel/audio-voice.mp3"), &fake);
    assert_eq!(
        fake.seen().len(),
        fetched,
        "nothing fetched the second time"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn download_fetches_a_saved_body_and_fails_loudly() {
    let fake = fake_with_audio(1 << 20).await;
    let out = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_dl", out.path());
    let output = download_from_the_fake(out.path(), &file);
    assert_audio_stored(&output, &out.path().join("agt_dl/audio-voice.mp3"), &fake);
    assert!(String::from_utf8_lossy(&output.stdout).contains(&fake.sha256("audio")));

    // The key from a file works the same; the file's line break is not part of it.
    let keyed = tempfile::tempdir().unwrap();
    let key_file = write_temp(
        keyed.path(),
        "key",
        format!("{}\n", vectors::secret("A")).as_bytes(),
    );
    let output = run(cli()
        .args(["download", "--allow-http", "--api-key-file"])
        .arg(&key_file)
        .arg("--out")
        .arg(keyed.path())
        .arg(&file));
    assert_audio_stored(&output, &keyed.path().join("agt_dl/audio-voice.mp3"), &fake);

    // `-` reads the body from standard input, and messages name it so.
    let piped = tempfile::tempdir().unwrap();
    let output = run_with_input(
        keyed_download().arg("--out").arg(piped.path()).arg("-"),
        &std::fs::read(&file).unwrap(),
    );
    assert_audio_stored(&output, &piped.path().join("agt_dl/audio-voice.mp3"), &fake);
    let not_json = run_with_input(
        cli()
            .args(["download", "--api-key", "k", "--out"])
            .arg(piped.path())
            .arg("-"),
        b"{oops",
    );
    assert_eq!(code(&not_json), 1);
    assert!(
        String::from_utf8_lossy(&not_json.stderr).contains("standard input: "),
        "{not_json:?}"
    );

    // Without --allow-http the plain-http URL is refused, and the exit code says so.
    let other = tempfile::tempdir().unwrap();
    let refused = run(cli()
        .args(["download", "--api-key", "k", "--out"])
        .arg(other.path())
        .arg(&file));
    assert_eq!(code(&refused), 1);
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(said.contains("only https is allowed"), "{said}");
    assert!(said.contains("--allow-http allows it"), "{said}");
    // A wrong API key is a clear failure too.
    let wrong = run(cli()
        .args(["download", "--allow-http", "--api-key", "wrong", "--out"])
        .arg(other.path())
        .arg(&file));
    assert_eq!(code(&wrong), 1);
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("401"));
    // Each failure is logged once (by the downloader, naming the resource's URL), not once
    // more by the command's own progress log.
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    let logged: Vec<_> = stderr.lines().filter(|line| line.contains("401")).collect();
    assert_eq!(logged.len(), 1, "{stderr}");
    assert!(logged[0].contains("agt_dl/audio"), "{stderr}");
}

/// `download` reads a body nobody verified: its resource URLs could point anywhere, and the
/// API key goes with the request. Hosts other than Cronofy's are refused before anything is
/// sent (the library's `the_key_goes_only_to_the_api_hosts_allowed` shows a host allowed).
#[test]
fn download_sends_the_key_to_cronofy_hosts_only() {
    let out = tempfile::tempdir().unwrap();
    let body = serde_json::json!({
        "notification": {"type": "event_subscription",
                         "interactions": [{"type": "meeting_agent_complete"}]},
        "meeting_agent": {"sub": "agt_elsewhere", "resources": [
            {"category": "audio", "type": "voice",
             "url": "https://recordings.attacker.invalid/v1/audio"}]}
    });
    let file = write_temp(out.path(), "body.json", body.to_string().as_bytes());
    let output = run(cli()
        .args(["download", "--api-key", "CRN_key", "--out"])
        .arg(out.path())
        .arg(&file));
    assert_eq!(code(&output), 1);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("refusing to send the API key to recordings.attacker.invalid"),
        "{said}"
    );
}

/// `--api-host` given as a URL (or with a port, or a wildcard) matched no host, so the key was
/// refused to the very host named, as if the option had not been given: now a usage error,
/// before anything is sent or stored.
#[test]
fn download_refuses_an_api_host_that_is_not_a_host() {
    let out = tempfile::tempdir().unwrap();
    let file = write_temp(out.path(), "complete.json", &vectors::seed_body("complete"));
    let output = run(cli()
        .args([
            "download",
            "--api-key",
            "k",
            "--api-host",
            "https://api.example.com",
        ])
        .arg("--out")
        .arg(out.path().join("recordings"))
        .arg(&file));
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"https://api.example.com\" cannot be an API host"),
        "{stderr}"
    );
    assert!(!out.path().join("recordings").exists());
}

#[test]
fn download_says_when_a_callback_lists_nothing_to_fetch() {
    let out = tempfile::tempdir().unwrap();
    let file = write_temp(
        out.path(),
        "activated.json",
        &vectors::seed_body("activated"),
    );
    let output = run(cli()
        .args(["download", "--api-key", "k", "--out"])
        .arg(out.path())
        .arg(&file));
    assert_eq!(code(&output), 0, "nothing failed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nothing to download") && stderr.contains("meeting_agent_activated"),
        "{stderr}"
    );
}

/// `--out` naming a file is a usage error that says so, before anything is fetched: it failed
/// each recording with "Not a directory" at a path inside it, which did not say which was wrong.
#[tokio::test(flavor = "multi_thread")]
async fn an_out_that_is_a_file_is_refused_before_anything_is_fetched() {
    let fake = fake_with_audio(1_000).await;
    let dir = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_file", dir.path());
    let not_a_folder = write_temp(dir.path(), "recordings", b"a file");
    let output = download_from_the_fake(&not_a_folder, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot download into {}: it is there, but not a directory",
            not_a_folder.display()
        )),
        "{stderr}"
    );
    assert!(fake.seen().is_empty(), "nothing fetched");
    assert_eq!(std::fs::read(&not_a_folder).unwrap(), b"a file");
}

/// An `--out` whose path is not UTF-8 cannot be named in the manifest: a usage error before
/// anything is fetched. Every recording was fetched, then the manifest failed with "path
/// contains invalid UTF-8 characters", and the next run fetched them all again.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_out_whose_path_is_not_utf8_is_refused_before_anything_is_fetched() {
    use std::os::unix::ffi::OsStrExt as _;

    let fake = fake_with_audio(1_000).await;
    let dir = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_bytes", dir.path());
    let out = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"recordings-\xff"));
    let output = download_from_the_fake(&out, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(stderr.contains("its path is not UTF-8"), "{stderr}");
    assert!(fake.seen().is_empty(), "nothing fetched");
    assert!(!out.exists());
}

/// `--categories` ignores case, refuses the dashboard and empty names as usage errors, and keeps
/// a category Cronofy does not document (it may add one) with a warning, since a typo there
/// would otherwise fetch nothing without a word.
#[test]
fn categories_are_checked_before_anything_is_fetched() {
    let out = tempfile::tempdir().unwrap();
    let file = write_temp(out.path(), "complete.json", &vectors::seed_body("complete"));
    let download = |categories: &str| {
        run(cli()
            .args(["download", "--api-key", "k", "--categories", categories])
            .arg("--out")
            .arg(out.path().join("out"))
            .arg(&file))
    };
    for (categories, says) in [
        ("cronofy", "dashboard"),
        ("transcript,", "empty category"),
        (",,", "empty category"),
    ] {
        let output = download(categories);
        assert_eq!(code(&output), 2, "{categories:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{categories:?}: {stderr}");
        assert!(!out.path().join("out").exists(), "nothing may be written");
    }

    // Known categories in any case, and an unknown one: the seed body lists no "screenshare",
    // and its URLs ("https://...") fail at once, so the lines show what was asked for.
    let output = download("Transcript,AUDIO,screenshare");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a category Cronofy documents") && stderr.contains("screenshare"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Transcript"),
        "known categories are not warned about: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("transcript-cronofy") && stdout.contains("audio-voice"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("video"),
        "video was not asked for: {stdout}"
    );
}

/// `--max-size` refuses a recording larger than it before a byte is written, says so and by
/// how much, and leaves nothing at the recording's path; one within it is stored.
#[tokio::test(flavor = "multi_thread")]
async fn download_refuses_a_recording_over_max_size() {
    let fake = fake_with_audio(1 << 20).await;
    let out = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_max", out.path());
    let audio = out.path().join("agt_max/audio-voice.mp3");
    let with_max = |max: &str| download_from_the_fake_with(out.path(), &file, &["--max-size", max]);

    let refused = with_max("1023KiB");
    assert_eq!(code(&refused), 1);
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(
        stdout.contains("1048576 bytes or more, over the limit of 1047552"),
        "{stdout}"
    );
    assert!(!audio.exists(), "nothing at the recording's path");
    let manifest = std::fs::read_to_string(out.path().join("agt_max/manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let entry = &manifest["resources"][0];
    assert_eq!(entry["status"], "failed", "{manifest}");
    assert!(
        entry["error"].as_str().unwrap().contains("over the limit"),
        "{manifest}"
    );

    assert_audio_stored(&with_max("1MiB"), &audio, &fake);

    for (max, says) in [("0", "refuse every recording"), ("1.5GiB", "not a size")] {
        let output = with_max(max);
        assert_eq!(code(&output), 2);
        assert!(String::from_utf8_lossy(&output.stderr).contains(says));
    }
}

/// With JSON logs (and standard error not a terminal), progress is log events whose fields are
/// values a collector can use: numbers as numbers, the SHA-256 as its hex string.
#[tokio::test(flavor = "multi_thread")]
async fn download_with_json_logs_logs_progress_as_events_with_typed_fields() {
    let fake = fake_with_audio(1 << 20).await;
    let out = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_json", out.path());
    let output = run(keyed_download()
        .env("RUST_LOG", "info")
        .args(["--log-format", "json"])
        .arg("--out")
        .arg(out.path())
        .arg(&file));
    assert_audio_stored(&output, &out.path().join("agt_json/audio-voice.mp3"), &fake);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).expect(line))
        .collect();
    let event = |message: &str| {
        events
            .iter()
            .find(|e| e["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} in:\n{stderr}"))
    };
    let started = event("download started");
    assert_eq!(started["total"], 1 << 20, "{stderr}");
    assert_eq!(started["resumed_from"], 0, "{stderr}");
    let stored = event("stored");
    assert_eq!(stored["bytes"], 1 << 20, "{stderr}");
    assert_eq!(stored["sha256"], fake.sha256("audio").as_str(), "{stderr}");
}

/// On a disk with no room, `download` fails and says where, and leaves nothing half-written: no
/// cut manifest for the next run to stumble on, no partial recording, no temporary file. Once
/// there is room, the same download stores the recording.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn a_download_with_no_room_to_write_leaves_nothing_half_written() {
    let fake = fake_with_audio(100_000).await;
    let out = tempfile::tempdir().unwrap();
    let file = saved_audio_body(&fake, "agt_full", out.path());
    let agent = out.path().join("agt_full");

    let output = run(keyed(cli_without_room())
        .arg("--out")
        .arg(out.path())
        .arg(&file));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{}", agent.join("manifest.json").display()))
            && stderr.contains("File too large"),
        "names the file it could not write, and why: {stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(&agent)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");

    let output = download_from_the_fake(out.path(), &file);
    assert_audio_stored(&output, &agent.join("audio-voice.mp3"), &fake);
}

/// Ctrl-C stops `download` where it is: the recording is reported stopped, the command says what
/// to do and exits 130, and what was fetched is kept; the same command then fetches only the
/// rest. It used to die at once, with up to a megabyte fetched but not yet written.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_a_download_keeping_what_it_fetched_for_the_next_run() {
    let size: u64 = 8 << 20;
    let fake = video_that_stalls_halfway(size).await;
    let dir = tempfile::tempdir().unwrap();
    let body = fake.complete_body("agt_ctrl_c", &[("video", "conference", "video")]);
    let file = write_temp(dir.path(), "body.json", &body);
    let out = dir.path().join("out");
    let mut child = keyed_download()
        .arg("--out")
        .arg(&out)
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let part = out.join("agt_ctrl_c/video-conference.part");
    assert!(
        wait_until(std::time::Duration::from_secs(20), || std::fs::metadata(
            &part
        )
        .is_ok_and(|m| m.len() >= size / 4)),
        "the download never got going"
    );

    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(
        wait_until(std::time::Duration::from_secs(15), || child
            .try_wait()
            .unwrap()
            .is_some()),
        "download did not stop within 15 s of Ctrl-C"
    );
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 130, "{stdout}{stderr}");
    assert!(
        stdout.contains("video-conference") && stdout.contains("cancelled after"),
        "{stdout}"
    );
    assert!(
        stderr.contains("interrupted: what was fetched is kept"),
        "{stderr}"
    );
    let held = std::fs::metadata(&part).unwrap().len();
    assert!(held >= size / 4 && held < size, "{held}");

    let output = download_from_the_fake(&out, &file);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        sha256_file(&out.join("agt_ctrl_c/video-conference.mp4")),
        fake.sha256("video")
    );
    let last = fake
        .seen()
        .into_iter()
        .rfind(|seen| seen.side == "storage")
        .unwrap();
    assert_eq!(
        last.range.as_deref(),
        Some(format!("bytes={held}-").as_str()),
        "the second run asked for the rest only"
    );
}
