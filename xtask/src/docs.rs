//! Rewrites one marked section of a file under `docs/`, leaving the rest as people wrote it.

use crate::root;

/// Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` in `docs/{file}`,
/// appending the section when the markers are not there yet.
pub(crate) fn replace_section(file: &str, name: &str, body: &str) -> Result<(), String> {
    let path = root().join("docs").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let section = format!("{start}\n{}\n{end}", body.trim_end());
    let updated = match (text.find(&start), text.find(&end)) {
        (Some(s), Some(e)) if e > s => format!("{}{section}{}", &text[..s], &text[e + end.len()..]),
        _ => format!("{}\n{section}\n", text.trim_end()),
    };
    std::fs::write(&path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
