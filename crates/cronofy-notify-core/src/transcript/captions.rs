//! Captions and plain text made from a transcript: cues, times, and text that cannot break
//! out of its cue.

use std::fmt::Write as _;

use super::Transcript;

/// One caption: a sentence with its times and speaker.
pub(super) struct Cue<'a> {
    /// Milliseconds from the start of the meeting, as [`millis`] reads them.
    start: u64,
    end: u64,
    speaker: Option<String>,
    text: &'a str,
}

impl Transcript {
    /// One cue per sentence with text, in the order of their starts (captions must be: WebVTT
    /// requires it, and SRT players number cues in time order), sentences that start together
    /// in the transcript's order. A cue needs an end after its start to be shown at all
    /// (players show a cue from its start until just before its end): one whose end is
    /// missing, or not after its start, ends where the first later cue starts (at most
    /// [`LONGEST_FILLED_CUE_MS`] after its own start), or [`FALLBACK_CUE_MS`] after its start
    /// when none starts later.
    pub(super) fn cues(&self) -> Vec<Cue<'_>> {
        let mut cues: Vec<Cue<'_>> = self
            .paragraphs()
            .iter()
            .flat_map(|paragraph| {
                let label = paragraph.speaker_label();
                paragraph.sentences.iter().filter_map(move |sentence| {
                    let text = sentence.text.trim();
                    if text.is_empty() {
                        return None;
                    }
                    Some(Cue {
                        start: millis(sentence.start.or(paragraph.start)),
                        end: millis(sentence.end.or(paragraph.end)),
                        speaker: label.clone(),
                        text,
                    })
                })
            })
            .collect();
        // Stable: a transcript in time order stays as it is.
        cues.sort_by_key(|cue| cue.start);
        // From the last cue back, so that the first later start is known at each one.
        let mut later = None;
        for index in (0..cues.len()).rev() {
            let start = cues[index].start;
            if let Some(next) = cues.get(index + 1).filter(|next| next.start > start) {
                later = Some(next.start);
            }
            if cues[index].end <= start {
                cues[index].end = later.map_or(start + FALLBACK_CUE_MS, |later| {
                    later.min(start + LONGEST_FILLED_CUE_MS)
                });
            }
        }
        cues
    }

    /// Plain text: one line per paragraph, `Speaker [hh:mm:ss]: sentences`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for paragraph in self.paragraphs() {
            let text = paragraph
                .sentences
                .iter()
                .map(|s| one_line(&s.text))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if text.is_empty() {
                continue;
            }
            let start = millis(
                paragraph
                    .start
                    .or_else(|| paragraph.sentences.first().and_then(|s| s.start)),
            );
            let label = paragraph
                .speaker_label()
                .unwrap_or_else(|| "Unknown speaker".into());
            let _ = writeln!(out, "{label} [{}]: {text}", clock(start, None));
        }
        out
    }

    /// WebVTT captions: one cue per sentence, in time order, with a `<v Speaker>` voice span
    /// (plain text, by contrast, keeps the transcript's order: it is read, not timed). A sentence
    /// without an end after its start (nor its paragraph's) ends where a later one starts (7 s
    /// on at most), or two seconds on, so that every cue is shown.
    pub fn to_webvtt(&self) -> String {
        let mut out = String::from("WEBVTT\n");
        for cue in self.cues() {
            let _ = write!(
                out,
                "\n{} --> {}\n",
                clock(cue.start, Some('.')),
                clock(cue.end, Some('.'))
            );
            match &cue.speaker {
                Some(speaker) => {
                    let _ = writeln!(out, "<v {}>{}", vtt_voice(speaker), vtt_escape(cue.text));
                }
                None => {
                    let _ = writeln!(out, "{}", vtt_escape(cue.text));
                }
            }
        }
        out
    }

    /// SubRip (SRT) captions: numbered cues, one per sentence in time order, prefixed with the
    /// speaker; cue times as in [`to_webvtt`](Self::to_webvtt).
    pub fn to_srt(&self) -> String {
        let mut out = String::new();
        for (index, cue) in self.cues().into_iter().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            let _ = write!(
                out,
                "{}\n{} --> {}\n",
                index + 1,
                clock(cue.start, Some(',')),
                clock(cue.end, Some(','))
            );
            let text = match &cue.speaker {
                Some(speaker) => format!("{speaker}: {}", cue.text),
                None => cue.text.to_owned(),
            };
            let _ = writeln!(out, "{}", srt_text(&text));
        }
        out
    }
}

/// How long a cue without an end of its own is shown when no later cue bounds it, in
/// milliseconds: long enough to read a short sentence.
const FALLBACK_CUE_MS: u64 = 2_000;

/// The longest a cue without an end of its own is shown until a later cue starts, in
/// milliseconds: as long as subtitle guidelines show one cue (about 7 s), so that a pause in
/// the meeting does not keep the last words on screen.
const LONGEST_FILLED_CUE_MS: u64 = 7_000;

/// The latest time a caption shows, in milliseconds: a million hours (a meeting lasts hours).
/// Later times are taken as this one, so that a cue's end can still be after its start (in
/// floating point, 2 s after 10^16 s is 10^16 s).
const LATEST_MS: u64 = 1_000_000 * 3_600_000;

/// A time in seconds as whole milliseconds, with missing, negative or non-finite values as 0
/// and later ones than [`LATEST_MS`] as that. Cues are compared in these, as they are shown: a
/// sentence ending a tenth of a millisecond after its start would otherwise be a cue that ends
/// where it starts.
fn millis(seconds: Option<f64>) -> u64 {
    seconds
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(0, |s| (s * 1000.0).round().min(LATEST_MS as f64) as u64)
}

/// `hh:mm:ss`, or `hh:mm:ss<sep>mmm` with milliseconds.
fn clock(total_ms: u64, millis_separator: Option<char>) -> String {
    let (h, m, s, ms) = (
        total_ms / 3_600_000,
        total_ms / 60_000 % 60,
        total_ms / 1000 % 60,
        total_ms % 1000,
    );
    match millis_separator {
        Some(sep) => format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}"),
        None => format!("{h:02}:{m:02}:{s:02}"),
    }
}

/// Text on one line: line breaks of any kind become spaces.
pub(super) fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text without blank lines (which end a cue in both caption formats) or carriage returns.
fn no_blank_lines(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cue text for SRT, which has no escapes: no blank line (which ends a cue), and no line that
/// reads as a timing line (`00:00:05,000 --> ...`, which would start a cue of its own); such a
/// line's arrow becomes `-- >`. Other arrows are text and stay.
fn srt_text(text: &str) -> String {
    no_blank_lines(text)
        .split('\n')
        .map(|line| {
            if is_srt_timing(line) {
                line.replace("-->", "-- >")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a line starts like an SRT timing line: a time (digits, `:`, `,` or `.`), then `-->`.
fn is_srt_timing(line: &str) -> bool {
    line.split_once("-->").is_some_and(|(before, _)| {
        let time = before.trim();
        time.contains(':')
            && time
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ':' | ',' | '.'))
    })
}

/// A speaker name for a `<v ...>` tag: escaped, and never ending in `-`, which with the tag's
/// `>` would spell the `-->` of a timing line.
fn vtt_voice(name: &str) -> String {
    let mut voice = vtt_escape(name);
    if voice.ends_with('-') {
        voice.push(' ');
    }
    voice
}

fn vtt_escape(text: &str) -> String {
    no_blank_lines(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_round_to_milliseconds_and_clamp_nonsense() {
        assert_eq!(clock(millis(Some(3725.0005)), Some('.')), "01:02:05.001");
        assert_eq!(clock(millis(Some(-4.0)), Some(',')), "00:00:00,000");
        assert_eq!(clock(millis(Some(f64::NAN)), None), "00:00:00");
        assert_eq!(clock(millis(Some(f64::INFINITY)), None), "00:00:00");
        assert_eq!(clock(millis(None), None), "00:00:00");
        assert_eq!(clock(millis(Some(1e300)), Some('.')), "1000000:00:00.000");
    }

    #[test]
    fn vtt_text_cannot_break_out_of_its_cue() {
        assert_eq!(vtt_escape("a --> b <i>&"), "a --&gt; b &lt;i&gt;&amp;");
        assert_eq!(vtt_escape("x\n\n\ny\r\n \nz"), "x\ny\nz");
    }

    /// Found by the `transcript` fuzz target: a name ending in dashes closed its voice tag as
    /// `-->`, which players read as a timing line.
    #[test]
    fn a_voice_tag_never_spells_a_timing_arrow() {
        assert_eq!(vtt_voice("Grace Hopper--"), "Grace Hopper-- ");
        assert_eq!(vtt_voice("Jean-Luc"), "Jean-Luc");
        let transcript = Transcript::from_slice(
            br#"{"transcript":{"paragraphs":[{"speaker":{"name":"Grace Hopper---"},"start":1,"end":2,"sentences":[{"text":"Hi"}]}]}}"#,
        )
        .unwrap();
        let vtt = transcript.to_webvtt();
        let text_lines: Vec<_> = vtt.lines().filter(|l| l.starts_with("<v")).collect();
        assert_eq!(text_lines, ["<v Grace Hopper--- >Hi"]);
    }

    /// SRT has no escapes: a sentence holding `-->` and a cue's number (as a transcript of
    /// someone reading captions aloud might) must not start a cue of its own.
    #[test]
    fn srt_text_cannot_spell_a_timing_line() {
        assert_eq!(srt_text("a --> b"), "a --> b", "an arrow in words is text");
        assert_eq!(
            srt_text("x\n\n2\n00:00:01,000 --> 00:00:02,000"),
            "x\n2\n00:00:01,000 -- > 00:00:02,000"
        );
        assert!(is_srt_timing(" 1:02:03.5-->x") && !is_srt_timing("Yes --> go"));
        let transcript = Transcript::from_slice(
            br#"{"transcript":{"paragraphs":[{"speaker":{"name":"Ada -->"},"start":1,"end":2,
                "sentences":[{"text":"Hi\n2\n00:00:05,000 --> 00:00:06,000\nInjected"}]}]}}"#,
        )
        .unwrap();
        let srt = transcript.to_srt();
        let timings = srt.lines().filter(|l| is_srt_timing(l)).count();
        assert_eq!(timings, 1, "{srt}");
        assert!(
            srt.starts_with("1\n00:00:01,000 --> 00:00:02,000\nAda -->: Hi\n2\n00:00:05,000 -- > "),
            "{srt}"
        );
    }

    #[test]
    fn plain_text_is_one_line_per_paragraph_whatever_the_sentences_hold() {
        let transcript = Transcript::from_slice(
            br#"{"transcript":{"paragraphs":[{"speaker":{"name":"Ada"},"start":1,
                "sentences":[{"text":"Hello\nthere,\r\n"},{"text":" \n "},{"text":"all."}]}]}}"#,
        )
        .unwrap();
        assert_eq!(transcript.to_text(), "Ada [00:00:01]: Hello there, all.\n");
    }

    #[test]
    fn labels_and_texts_cannot_hold_blank_lines() {
        assert_eq!(one_line(" Ada\n\nLovelace\r"), "Ada Lovelace");
        assert_eq!(no_blank_lines("a\n\n\nb"), "a\nb");
    }
}
