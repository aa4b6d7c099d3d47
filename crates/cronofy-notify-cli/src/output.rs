//! Writing a command's output, whose reader may stop reading early or be unable to take it.
//!
//! `println!` panics when standard output cannot be written, so `verify --json | head -n 3`
//! ended in a panic and a backtrace once `head` had its lines. A reader that stops reading (a
//! closed pipe) is how such a pipeline ends, not a failure of the command: what is left is dropped
//! quietly and the command exits as it would have. Any other failure to write (a full disk behind
//! `> file`) is said, and the command exits 2, as for input it cannot read.

use std::io::{ErrorKind, Write};

use crate::{exit, fail};

/// Writes `bytes` to standard output, flushed. `Err` says why they could not be written; a
/// reader that has gone away is not an error.
pub(crate) fn write(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {error}"))
        }
        _ => Ok(()),
    }
}

/// Writes `text` and a line break to standard output, as [`write()`] does.
pub(crate) fn line(text: impl std::fmt::Display) -> Result<(), String> {
    write(format!("{text}\n").as_bytes())
}

/// The exit code of a command that has done its work and written its output: `code` when the
/// output was written, or 2 when it could not be, said on standard error.
pub(crate) fn exit_code(written: Result<(), String>, code: u8) -> u8 {
    written.map_or_else(|message| fail(exit::USAGE, message), |()| code)
}

/// Writes `text` and a line break to standard error, for the user to read. Nothing is left to
/// tell anyone when that fails, so a failure is ignored (where `eprintln!` would panic).
pub(crate) fn say(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
