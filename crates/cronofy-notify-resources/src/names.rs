//! Turning names from the payload or a server into safe file and object names.

use sha2::{Digest, Sha256};

/// The longest name component written.
const MAX_COMPONENT: usize = 96;

/// A single path component made from untrusted text: letters, digits, `-`, `_` and `.` are kept,
/// anything else becomes `_`, and the result is never empty, `.`, `..` or hidden. When anything had
/// to change, a short hash of the original is appended, so two different inputs never share a
/// folder (`agt/1` and `agt_1` stay apart).
///
/// ```
/// use cronofy_notify_resources::safe_component;
///
/// assert_eq!(safe_component("agt_692702a100ccd07000000000"), "agt_692702a100ccd07000000000");
/// let escaped = safe_component("../../etc");
/// assert!(!escaped.contains('/') && !escaped.starts_with('.'));
/// ```
pub fn safe_component(untrusted: &str) -> String {
    let mut cleaned: String = untrusted
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.starts_with('.') {
        cleaned.replace_range(0..1, "_");
    }
    cleaned.truncate(MAX_COMPONENT);
    if cleaned.is_empty() || cleaned != untrusted {
        let digest = Sha256::digest(untrusted.as_bytes());
        cleaned.push('-');
        cleaned.push_str(&hex::encode(&digest[..4]));
    }
    cleaned
}

/// The file extension for a content type, `bin` when unknown.
pub(crate) fn extension_for(content_type: Option<&str>) -> &'static str {
    let Some(content_type) = content_type else {
        return "bin";
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "text/json" => "json",
        "text/plain" => "txt",
        "text/vtt" => "vtt",
        "application/x-subrip" => "srt",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/webm" => "weba",
        "audio/flac" => "flac",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "video/x-matroska" => "mkv",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_separators_never_survive() {
        for hostile in [
            "../../x", "..", ".", "", "a/b", "a\\b", "/abs", ".hidden", "x\0y", "ä",
        ] {
            let safe = safe_component(hostile);
            assert!(!safe.is_empty(), "{hostile:?}");
            assert!(!safe.starts_with('.'), "{hostile:?} -> {safe}");
            assert!(!safe.contains(['/', '\\', '\0']), "{hostile:?} -> {safe}");
            assert!(safe != "." && safe != "..");
        }
    }

    #[test]
    fn clean_names_are_kept_and_changed_ones_stay_distinct() {
        assert_eq!(safe_component("transcript-cronofy"), "transcript-cronofy");
        assert_ne!(safe_component("agt/1"), safe_component("agt_1"));
        assert!(safe_component(&"a".repeat(1000)).len() <= MAX_COMPONENT + 9);
    }

    #[test]
    fn extensions_follow_the_content_type() {
        assert_eq!(
            extension_for(Some("application/json; charset=utf-8")),
            "json"
        );
        assert_eq!(extension_for(Some("Video/MP4")), "mp4");
        assert_eq!(extension_for(Some("audio/mpeg")), "mp3");
        assert_eq!(extension_for(Some("application/x-unknown")), "bin");
        assert_eq!(extension_for(None), "bin");
    }
}
