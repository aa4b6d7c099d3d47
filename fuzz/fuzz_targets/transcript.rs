//! Parsing, salvaging and rendering any transcript: never a panic, salvage agrees with the
//! typed parse where that reads the bytes, and captions whose structure holds whatever the
//! text says.
#![no_main]

use cronofy_notify_core::Transcript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|json: &[u8]| {
    let Ok(salvaged) = Transcript::salvage(json) else {
        return;
    };
    if let Ok(typed) = Transcript::from_slice(json) {
        assert_eq!(salvaged.transcript, typed);
        assert!(salvaged.left_out.is_empty());
    }
    let transcript = salvaged.transcript;
    let _ = transcript.to_text();

    let vtt = transcript.to_webvtt();
    assert!(vtt.starts_with("WEBVTT\n"));
    // Every cue is a timing line, then text; no text line may look like a timing line.
    for cue in vtt.split("\n\n").skip(1) {
        let mut lines = cue.lines();
        let timing = lines.next().unwrap_or_default();
        assert!(timing.contains(" --> "), "a cue without timing: {cue:?}");
        assert!(
            lines.all(|line| !line.contains("-->")),
            "cue text breaks out: {cue:?}"
        );
    }

    let srt = transcript.to_srt();
    for (index, cue) in srt
        .split("\n\n")
        .filter(|c| !c.trim().is_empty())
        .enumerate()
    {
        let mut lines = cue.lines();
        assert_eq!(
            lines.next(),
            Some((index + 1).to_string().as_str()),
            "cue numbering in {srt:?}"
        );
        assert!(
            lines.next().is_some_and(|l| l.contains(" --> ")),
            "cue timing in {srt:?}"
        );
        // SRT has no escapes: an arrow in words is text, but no text line may read as a timing.
        assert!(
            lines.all(|line| !srt_timing(line)),
            "cue text breaks out: {cue:?}"
        );
    }
});

/// Whether a line starts as SRT timing lines do: a time, then `-->`.
fn srt_timing(line: &str) -> bool {
    line.split_once("-->").is_some_and(|(before, _)| {
        let time = before.trim();
        time.contains(':')
            && time
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ':' | ',' | '.'))
    })
}
