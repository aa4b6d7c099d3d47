//! Reading bodies from a file or standard input.

use std::io::Read;
use std::path::Path;

/// Whether `file` means standard input: none given, or `-`, as Unix tools take it.
fn is_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|path| path == Path::new("-"))
}

/// The most a command reads, and of what: a file given by mistake (a recording, `/dev/zero`) is
/// refused rather than read into memory whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Largest {
    bytes: u64,
    of: &'static str,
}

/// A callback body: `serve --body-limit` goes no higher.
pub(crate) const CALLBACK: Largest = Largest {
    bytes: crate::cli::LARGEST_BODY_LIMIT as u64,
    of: "a callback",
};

/// A transcript: hundreds of hours of speech.
pub(crate) const TRANSCRIPT: Largest = Largest {
    bytes: 256 << 20,
    of: "a transcript",
};

/// The bytes of `file`, or of standard input when there is none or it is `-`, up to `largest`.
pub(crate) fn read(file: Option<&Path>, largest: Largest) -> Result<Vec<u8>, String> {
    let name = name(file);
    let too_large = || {
        format!(
            "{name} holds more than {} can ({} MiB at most)",
            largest.of,
            largest.bytes >> 20
        )
    };
    let mut body = Vec::new();
    let read = match file {
        Some(path) if !is_stdin(file) => {
            let opened = std::fs::File::open(path);
            // A regular file says its size: no need to read one that is too large.
            let size = opened.as_ref().ok().and_then(|file| file.metadata().ok());
            if size.is_some_and(|meta| meta.is_file() && meta.len() > largest.bytes) {
                return Err(too_large());
            }
            opened.and_then(|file| file.take(largest.bytes + 1).read_to_end(&mut body))
        }
        _ => {
            let stdin = std::io::stdin();
            if std::io::IsTerminal::is_terminal(&stdin) {
                // Else the command just waits, and looks hung to whoever forgot the FILE.
                crate::note(format_args!(
                    "reading {} from the terminal: paste it and end with Ctrl-D, or give a FILE",
                    largest.of
                ));
            }
            stdin.lock().take(largest.bytes + 1).read_to_end(&mut body)
        }
    };
    match read {
        Ok(_) if body.len() as u64 > largest.bytes => Err(too_large()),
        Ok(_) => Ok(body),
        Err(error) => Err(format!("cannot read {name}: {error}")),
    }
}

/// How messages name `file`: its path, or "standard input".
pub(crate) fn name(file: Option<&Path>) -> String {
    match file {
        Some(path) if !is_stdin(file) => path.display().to_string(),
        _ => "standard input".to_owned(),
    }
}
