//! Turning names from the payload or a server into safe file and object names.

use cronofy_notify_core::ResourceCategory;
use sha2::{Digest, Sha256};

use crate::ResourceKey;

/// The longest name component written.
const MAX_COMPONENT: usize = 96;

/// A single path component made from untrusted text: letters, digits, `-`, `_` and `.` are kept,
/// anything else becomes `_`. The result is never empty, `.` or `..`, never starts with `.`
/// (hidden) or `-` (an option, to shell tools), never ends with a dot, is never a Windows device
/// name (`CON`, `NUL`, `COM1`...) and is at most 96 bytes long. When anything had to change, a
/// short hash of the original is appended (9 bytes more), so two different inputs never share a
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
    // Hidden (`.`), or read as an option by shell tools (`-`).
    if cleaned.starts_with(['.', '-']) {
        cleaned.replace_range(0..1, "_");
    }
    // Windows reserves device names and drops a trailing dot (`agt.` would be `agt`'s folder).
    if is_windows_device(&cleaned) {
        cleaned.insert(0, '_');
    }
    cleaned.truncate(MAX_COMPONENT);
    if cleaned.ends_with('.') {
        cleaned.pop();
        cleaned.push('_');
    }
    if cleaned.is_empty() {
        // Not a bare `-hash` either.
        cleaned.push('_');
    }
    if cleaned != untrusted {
        let digest = Sha256::digest(untrusted.as_bytes());
        cleaned.push('-');
        cleaned.push_str(&hex::encode(&digest[..4]));
    }
    cleaned
}

/// `CON`, `NUL`, `COM1`... name a device on Windows, whatever their case or extension.
fn is_windows_device(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    match stem.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => {
            (stem.starts_with("COM") || stem.starts_with("LPT"))
                && stem.len() == 4
                && matches!(stem.as_bytes()[3], b'1'..=b'9')
        }
    }
}

/// A resource's name before its content type is known: the stem (`<category>-<type>`, used for
/// partial files too) and the extension to use when the content type names no format.
#[derive(Debug)]
pub(crate) struct ResourceName {
    stem: String,
    fallback: &'static str,
}

impl ResourceName {
    pub(crate) fn new(key: &ResourceKey) -> Self {
        Self {
            stem: key.stem(),
            // Cronofy documents the transcript as JSON; object stores often serve what they
            // were not told the type of as `application/octet-stream`.
            fallback: match key.category {
                ResourceCategory::Transcript => "json",
                _ => "bin",
            },
        }
    }

    pub(crate) fn stem(&self) -> &str {
        &self.stem
    }

    /// The final name: the stem and the extension of `content_type`; when that names no format
    /// (`application/octet-stream`, or none), the extension `head`, the body's first bytes (up to
    /// [`SNIFF_LEN`]), shows it to be; else the fallback.
    pub(crate) fn final_name(&self, content_type: Option<&str>, head: &[u8]) -> String {
        let extension = content_type
            .and_then(extension_for)
            .or_else(|| sniffed_extension(head))
            .unwrap_or(self.fallback);
        format!("{}.{extension}", self.stem)
    }
}

/// How many of a body's first bytes [`ResourceName::final_name`] looks at.
pub(crate) const SNIFF_LEN: usize = 64;

/// The extension of a recording's format, told by its first bytes: for a body served without a
/// content type that names one (object stores serve what they were not told the type of as
/// `application/octet-stream`). Only formats a recording may come in, each by a signature that
/// text, JSON or another of them cannot begin with.
fn sniffed_extension(head: &[u8]) -> Option<&'static str> {
    Some(match head {
        // ISO base media (MP4 and its kin): a box of type `ftyp`, then the major brand.
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..] => match brand.get(..4) {
            Some(b"M4A " | b"M4B ") => "m4a",
            Some(b"qt  ") => "mov",
            _ => "mp4",
        },
        // EBML: WebM names its doctype in the header, Matroska otherwise.
        [0x1A, 0x45, 0xDF, 0xA3, header @ ..] => {
            if header.windows(4).any(|w| w == b"webm") {
                "webm"
            } else {
                "mkv"
            }
        }
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'A',
            b'V',
            b'E',
            ..,
        ] => "wav",
        [b'O', b'g', b'g', b'S', ..] => "ogg",
        [b'f', b'L', b'a', b'C', ..] => "flac",
        [b'I', b'D', b'3', ..] => "mp3",
        // A frame sync of 12 bits, then layer 00: AAC in ADTS frames.
        [0xFF, second, ..] if second & 0xF6 == 0xF0 => "aac",
        // A frame sync of 11 bits, then a layer other than the reserved 00: MPEG audio.
        [0xFF, second, ..] if second & 0xE0 == 0xE0 && second & 0x06 != 0 => "mp3",
        _ => return None,
    })
}

/// The file extension for a content type, when it names a format this crate knows.
fn extension_for(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Some(match essence.as_str() {
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
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_content_type_has_its_extension() {
        for (content_type, extension) in [
            ("application/json", "json"),
            ("text/json", "json"),
            ("text/plain", "txt"),
            ("text/vtt", "vtt"),
            ("application/x-subrip", "srt"),
            ("audio/mpeg", "mp3"),
            ("audio/mp3", "mp3"),
            ("audio/mp4", "m4a"),
            ("audio/m4a", "m4a"),
            ("audio/x-m4a", "m4a"),
            ("audio/aac", "m4a"),
            ("audio/wav", "wav"),
            ("audio/x-wav", "wav"),
            ("audio/wave", "wav"),
            ("audio/ogg", "ogg"),
            ("audio/opus", "ogg"),
            ("audio/webm", "weba"),
            ("audio/flac", "flac"),
            ("video/mp4", "mp4"),
            ("video/webm", "webm"),
            ("video/quicktime", "mov"),
            ("video/x-matroska", "mkv"),
            // Parameters and case do not change the format.
            ("Audio/MPEG; charset=binary", "mp3"),
            (" video/mp4 ;codecs=avc1", "mp4"),
        ] {
            assert_eq!(
                extension_for(content_type),
                Some(extension),
                "{content_type}"
            );
        }
        for unknown in ["application/octet-stream", "", "video/", "text/html"] {
            assert_eq!(extension_for(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn traversal_and_separators_never_survive() {
        for hostile in [
            "../../x", "..", ".", "", "a/b", "a\\b", "/abs", ".hidden", "x\0y", "ä", "-rf",
        ] {
            let safe = safe_component(hostile);
            assert!(!safe.is_empty(), "{hostile:?}");
            assert!(!safe.starts_with(['.', '-']), "{hostile:?} -> {safe}");
            assert!(!safe.contains(['/', '\\', '\0']), "{hostile:?} -> {safe}");
            assert!(safe != "." && safe != "..");
        }
    }

    #[test]
    fn names_windows_would_read_otherwise_are_changed() {
        for hostile in ["agt.", "CON", "nul.json", "com7", "Lpt1.txt", "aux"] {
            let safe = safe_component(hostile);
            assert_ne!(safe, hostile);
            assert!(!safe.ends_with('.') && !is_windows_device(&safe), "{safe}");
        }
        assert_ne!(safe_component("agt."), safe_component("agt"));
        for ordinary in ["console", "com10", "lpt", "nullable.json", "a.b"] {
            assert_eq!(safe_component(ordinary), ordinary);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_becomes_one_safe_component(untrusted in "\\PC{0,200}|[.a-zA-Z0-9_-]{0,120}") {
            let safe = safe_component(&untrusted);
            proptest::prop_assert!(!safe.is_empty() && safe.len() <= MAX_COMPONENT + 9);
            proptest::prop_assert!(safe.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            proptest::prop_assert!(!safe.starts_with(['.', '-']) && !safe.ends_with('.'));
            proptest::prop_assert!(!is_windows_device(&safe));
            // Kept as it is, or marked by the hash of the original.
            if safe != untrusted {
                let digest = Sha256::digest(untrusted.as_bytes());
                proptest::prop_assert!(safe.ends_with(&hex::encode(&digest[..4])));
            }
        }
    }

    #[test]
    fn clean_names_are_kept_and_changed_ones_stay_distinct() {
        assert_eq!(safe_component("transcript-cronofy"), "transcript-cronofy");
        assert_ne!(safe_component("agt/1"), safe_component("agt_1"));
        assert!(safe_component(&"a".repeat(1000)).len() <= MAX_COMPONENT + 9);
    }

    #[test]
    fn a_later_occurrence_gets_a_number_and_the_first_none() {
        let video = ResourceKey::new("agt_1", ResourceCategory::Video, None);
        assert_eq!(video.stem(), "video-resource");
        assert_eq!(video.clone().with_occurrence(0), video, "0 is the first");
        let second = video.clone().with_occurrence(2);
        assert_eq!(second.stem(), "video-resource-2");
        assert_eq!(second.label(), "video #2");
        assert_eq!(second.to_string(), "agt_1/video #2");
        assert_eq!(
            ResourceName::new(&second).final_name(Some("video/mp4"), &[]),
            "video-resource-2.mp4"
        );
    }

    #[test]
    fn extensions_follow_the_content_type() {
        let key = |category| ResourceKey::new("agt_1", category, None);
        let video = ResourceName::new(&key(ResourceCategory::Video));
        assert_eq!(
            video.final_name(Some("Video/MP4"), &[]),
            "video-resource.mp4"
        );
        assert_eq!(
            video.final_name(Some("audio/mpeg"), &[]),
            "video-resource.mp3"
        );
        assert_eq!(
            video.final_name(Some("application/x-unknown"), &[]),
            "video-resource.bin"
        );
        assert_eq!(video.final_name(None, &[]), "video-resource.bin");
        let transcript = ResourceName::new(&key(ResourceCategory::Transcript));
        assert_eq!(
            transcript.final_name(Some("application/json; charset=utf-8"), &[]),
            "transcript-resource.json"
        );
        assert_eq!(
            transcript.final_name(Some("text/vtt"), &[]),
            "transcript-resource.vtt"
        );
        // What object stores serve when nobody told them the type: the transcript is JSON.
        for generic in [
            Some("binary/octet-stream"),
            Some("application/octet-stream"),
            None,
        ] {
            assert_eq!(
                transcript.final_name(generic, &[]),
                "transcript-resource.json"
            );
        }
    }

    /// A body served as `application/octet-stream` is named by what its first bytes show; a
    /// content type that names a format wins, and bytes that show none keep the fallback.
    #[test]
    fn a_body_of_no_named_type_is_named_by_its_first_bytes() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
        let ebml = |doctype: &[u8]| {
            let mut head = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84];
            head.extend_from_slice(doctype);
            head
        };
        for (head, extension) in [
            (&mp4[..], "mp4"),
            (b"\0\0\0\x1cftypM4A \0\0\0\0", "m4a"),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", "mov"),
            (&ebml(b"webm")[..], "webm"),
            (&ebml(b"matroska")[..], "mkv"),
            (b"RIFF\x24\x08\0\0WAVEfmt ", "wav"),
            (b"OggS\0\x02", "ogg"),
            (b"fLaC\0\0\0\x22", "flac"),
            (b"ID3\x04\0\0", "mp3"),
            (b"\xFF\xFB\x90\x64", "mp3"),
            (b"\xFF\xF1\x50\x80", "aac"),
        ] {
            assert_eq!(sniffed_extension(head), Some(extension), "{head:?}");
        }
        for nothing in [
            &b""[..],
            b"{\"transcript\":{}}",
            b"<?xml version",
            b"\0\0\0\x20fty",
            b"\xFF\xE1",
            b"RIFF\0\0\0\0AVI ",
        ] {
            assert_eq!(sniffed_extension(nothing), None, "{nothing:?}");
        }
        let key = |category| ResourceKey::new("agt_1", category, None);
        let video = ResourceName::new(&key(ResourceCategory::Video));
        assert_eq!(
            video.final_name(Some("application/octet-stream"), mp4),
            "video-resource.mp4"
        );
        assert_eq!(video.final_name(None, mp4), "video-resource.mp4");
        assert_eq!(
            video.final_name(Some("video/webm"), mp4),
            "video-resource.webm",
            "the server's named format wins"
        );
        assert_eq!(video.final_name(None, b"\0\0\0\0"), "video-resource.bin");
        let transcript = ResourceName::new(&key(ResourceCategory::Transcript));
        assert_eq!(
            transcript.final_name(None, b"{}"),
            "transcript-resource.json"
        );
    }
}
