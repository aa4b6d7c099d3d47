//! Reading bodies from a file or standard input.

use std::io::Read;
use std::path::Path;

/// Whether `file` means standard input: none given, or `-`, as Unix tools take it.
fn is_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|path| path == Path::new("-"))
}

/// The bytes of `file`, or of standard input when there is none or it is `-`.
pub(crate) fn read(file: Option<&Path>) -> Result<Vec<u8>, String> {
    match file {
        Some(path) if !is_stdin(file) => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(body)
        }
    }
}

/// How messages name `file`: its path, or "standard input".
pub(crate) fn name(file: Option<&Path>) -> String {
    match file {
        Some(path) if !is_stdin(file) => path.display().to_string(),
        _ => "standard input".to_owned(),
    }
}
