//! The `cronofy-notify` command, end to end through the built binary, on loopback: the commands
//! that need no server (`offline`), `serve` and `download`. Here, what they share.

mod completions;
mod download;
mod offline;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
use cronofy_notify_test_support::vectors;

pub(crate) fn cli() -> Command {
    apart_from_the_environment(Command::new(env!("CARGO_BIN_EXE_cronofy-notify")))
}

/// [`cli`], with no room to write: under a file size limit of zero (`ulimit -f 0`, SIGXFSZ
/// ignored), it may create files and folders but every byte written into a file fails, as on a
/// full disk. That includes its standard output and error when they are files (as when the
/// tests' output goes to one): pipes and `/dev/null` are not limited.
#[cfg(target_os = "linux")]
pub(crate) fn cli_without_room() -> Command {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        r#"trap '' XFSZ && ulimit -f 0 && exec "$0" "$@""#,
        env!("CARGO_BIN_EXE_cronofy-notify"),
    ]);
    apart_from_the_environment(command)
}

/// `command` without the variables of the environment the tests run in that the command reads.
fn apart_from_the_environment(mut command: Command) -> Command {
    command
        .env_remove("CRONOFY_CLIENT_SECRET")
        .env_remove("CRONOFY_CLIENT_SECRET_FILE")
        .env_remove("CRONOFY_API_KEY")
        .env_remove("CRONOFY_API_KEY_FILE")
        .env_remove("CRONOFY_NOTIFY_LOG_FORMAT")
        .env("RUST_LOG", "warn");
    command
}

/// How long a command that the tests expect to stop by itself may run: a guard against a hang,
/// far above what any of them takes, not a measure of speed.
const STOPS_WITHIN: Duration = Duration::from_secs(180);

/// Runs `command` with nothing on its standard input and waits for its output, for at most
/// [`STOPS_WITHIN`].
pub(crate) fn run(command: &mut Command) -> Output {
    run_within(STOPS_WITHIN, command)
}

/// Runs `command` with `input` on its standard input, written from a thread of its own so that
/// a command that answers before reading it all cannot block the test.
pub(crate) fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    fed(command.stdout(Stdio::piped()), input, |_| {})
}

/// [`run_with_input`], with standard output closed before the input is given, as by a reader
/// that stopped reading (`| head`): the command meets it at its first write.
pub(crate) fn run_unread(command: &mut Command, input: &[u8]) -> Output {
    fed(command.stdout(Stdio::piped()), input, |child| {
        drop(child.stdout.take());
    })
}

/// [`run_with_input`], with standard output on `/dev/full`, where every write fails as on a
/// full disk.
#[cfg(target_os = "linux")]
pub(crate) fn run_into_a_full_device(command: &mut Command, input: &[u8]) -> Output {
    fed(command.stdout(full_device()), input, |_| {})
}

/// `/dev/full`, opened for writing: every write to it fails, as on a full disk.
#[cfg(target_os = "linux")]
pub(crate) fn full_device() -> std::fs::File {
    std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens")
}

/// Starts `command` (its standard output already chosen), calls `before_input` with it, then
/// gives it `input` and waits for it.
fn fed(
    command: &mut Command,
    input: &[u8],
    before_input: impl FnOnce(&mut std::process::Child),
) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    before_input(&mut child);
    let mut stdin = child.stdin.take().expect("a piped standard input");
    let input = input.to_vec();
    // A command that stops reading early closes the pipe: not the test's concern here.
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let output = output_within(STOPS_WITHIN, child);
    let _ = writer.join();
    output
}

/// [`run`] for a command expected to stop by itself within `limit` (`serve` refusing to
/// start, say), killed and failed if it does not, so that a regression fails the test rather
/// than hanging it.
pub(crate) fn run_within(limit: Duration, command: &mut Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    output_within(limit, child)
}

/// `child`'s status and output once it has exited, if within `limit`; if not, it is killed and
/// the test fails. Its output is read as it comes, so a command saying much cannot stall.
fn output_within(limit: Duration, child: std::process::Child) -> Output {
    let pid = child.id().to_string();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    if let Ok(output) = receiver.recv_timeout(limit) {
        return output.expect("the command runs");
    }
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    let stderr = receiver
        .recv()
        .ok()
        .and_then(Result::ok)
        .map(|output| String::from_utf8_lossy(&output.stderr).into_owned())
        .unwrap_or_default();
    panic!("still running after {limit:?}, so killed: {stderr}");
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("an exit code")
}

pub(crate) fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub(crate) fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Whether `done` holds within `limit`, asked every 20 ms.
pub(crate) fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A fake Cronofy serving one video of `size` bytes that stalls halfway through its first
/// download, long enough for a test to stop `serve` or `download` mid-transfer.
pub(crate) async fn video_that_stalls_halfway(size: u64) -> FakeCronofy {
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
