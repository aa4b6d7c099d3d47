//! The `cronofy-notify` command, end to end through the built binary, on loopback: the commands
//! that need no server (`offline`), `serve` and `download`. Here, what they share.

mod download;
mod offline;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) fn cli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cronofy-notify"));
    command
        .env_remove("CRONOFY_CLIENT_SECRET")
        .env_remove("CRONOFY_CLIENT_SECRET_FILE")
        .env_remove("CRONOFY_API_KEY")
        .env_remove("CRONOFY_API_KEY_FILE")
        .env_remove("CRONOFY_NOTIFY_LOG_FORMAT")
        .env("RUST_LOG", "warn");
    command
}

pub(crate) fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .expect("the command runs")
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
