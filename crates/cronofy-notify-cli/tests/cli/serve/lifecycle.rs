//! Starting, stopping and starting again: what `serve` refuses, keeps and resumes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use cronofy_notify_test_support::fake::{FakeCronofy, ResourceSpec};
use cronofy_notify_test_support::{samples, vectors};

use super::{
    manifest_complete, send, send_complete, serve, serve_refusing, serve_with,
    video_that_stalls_halfway, wait_until,
};
use crate::{code, sha256_file, write_temp};

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
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut running = serve_with(out.path(), |command| {
        command
            .args(["--secret", &vectors::secret("A")])
            .env("RUST_LOG", "info")
            .stderr(log.reopen().unwrap());
    });
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

    let status = running.terminate();
    assert!(status.success(), "{status:?}");
    assert!(part.exists(), "the partial file is kept for a resume");
    assert!(
        out.path()
            .join("agt_term/video-conference.part.json")
            .exists()
    );
    // A download cut short by the stop is no failure: it is said to resume, not to have failed.
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.contains("download checkpointed; it resumes on the next start sub=agt_term"),
        "{logged}"
    );
    assert!(!logged.contains("not stored"), "{logged}");
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
    let stderr = serve_refusing_to_start(&out);
    assert!(stderr.contains("cannot keep callbacks in"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing left behind"
    );
}

/// `--out` naming a file: said as such, where the system's words were "File exists".
#[test]
fn serve_says_when_out_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::write_temp(dir.path(), "recordings", b"not a directory");
    let stderr = serve_refusing_to_start(&file);
    assert!(
        stderr.contains("recordings: it is there, but not a directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
}

/// `--out` whose path is not UTF-8, which the manifests could not name: refused at start-up,
/// nothing made, rather than every completed meeting's recordings fetched and then failed.
#[cfg(unix)]
#[test]
fn serve_will_not_start_on_a_folder_whose_path_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt as _;

    let dir = tempfile::tempdir().unwrap();
    let out = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"recordings-\xff"));
    let stderr = serve_refusing_to_start(&out);
    assert!(stderr.contains("its path is not UTF-8"), "{stderr}");
    assert!(!out.exists(), "nothing made");
}

/// What `serve --out OUT` says as it refuses to start.
fn serve_refusing_to_start(out: &Path) -> String {
    serve_refusing(|command| {
        command
            .args(["--listen", "127.0.0.1:0", "--secret", "s", "--out"])
            .arg(out);
    })
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

/// Two `serve` processes started together on one `--out` both take up the completed meetings
/// of earlier runs, each storing the recordings the other is not already writing: every
/// recording ends whole at its name and in its meeting's manifest, whichever process stored
/// it, with no retry to make up for an entry one process's manifest dropped of the other's.
#[tokio::test(flavor = "multi_thread")]
async fn two_serves_on_one_folder_share_the_meetings_of_earlier_runs() {
    let fake = FakeCronofy::start(&vectors::secret("A")).await.unwrap();
    fake.add(
        "transcript",
        ResourceSpec::fixed(samples::transcript("agt_shared"), "application/json"),
    );
    fake.add("audio", ResourceSpec::generated(256 << 10, "audio/mpeg"));
    fake.add("video", ResourceSpec::generated(1 << 20, "video/mp4"));
    let out = tempfile::tempdir().unwrap();
    let subs: Vec<String> = (0..8).map(|n| format!("agt_shared_{n}")).collect();
    let recordings = [
        ("transcript", "cronofy", "transcript"),
        ("audio", "voice", "audio"),
        ("video", "conference", "video"),
    ];
    for sub in &subs {
        let kept = out.path().join(sub).join("callbacks");
        std::fs::create_dir_all(&kept).unwrap();
        let body = fake.complete_body(sub, &recordings);
        std::fs::write(kept.join("meeting_agent_complete.json"), body).unwrap();
    }

    let start = || {
        serve_with(out.path(), |command| {
            command.args(["--secret", &vectors::secret("A"), "--retry-every", "0"]);
        })
    };
    let both = [start(), start()];
    assert!(
        wait_until(Duration::from_secs(60), || subs.iter().all(|sub| {
            manifest_complete(&out.path().join(sub).join("manifest.json"), 3)
        })),
        "{:?}",
        subs.iter()
            .map(|sub| std::fs::read_to_string(out.path().join(sub).join("manifest.json")))
            .collect::<Vec<_>>()
    );
    for sub in &subs {
        for (file, name) in [
            ("transcript-cronofy.json", "transcript"),
            ("audio-voice.mp3", "audio"),
            ("video-conference.mp4", "video"),
        ] {
            let path = out.path().join(sub).join(file);
            assert_eq!(sha256_file(&path), fake.sha256(name), "{}", path.display());
        }
    }
    // A recording the other process was storing is no failure to warn of.
    for serve in &both {
        let log = std::fs::read_to_string(serve.stderr.as_ref().unwrap().path()).unwrap();
        assert!(!log.contains("WARN"), "{log}");
    }
}
