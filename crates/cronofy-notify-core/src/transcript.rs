//! The meeting transcript Cronofy produces (spec §2), and captions made from it.
//!
//! Times are float seconds from the start of the recording. Every field may be absent: a
//! paragraph without a speaker name is labelled with its identifier, a sentence without times
//! takes its paragraph's.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::event_subscription::null_as_default;

/// A meeting transcript.
///
/// ```
/// use cronofy_notify_core::Transcript;
///
/// let json = br#"{"meeting_agent":{"sub":"agt_1"},"transcript":{"summary":"Plans.",
///   "paragraphs":[{"speaker":{"identifier":"A","name":"Ada"},"start":2.72,"end":7.6,
///     "sentences":[{"text":"Shall we begin?","start":2.72,"end":7.6}]}]}}"#;
/// let transcript = Transcript::from_slice(json)?;
/// assert_eq!(transcript.to_text(), "Ada [00:00:02]: Shall we begin?\n");
/// assert!(transcript.to_webvtt().contains("00:00:02.720 --> 00:00:07.600\n<v Ada>Shall we begin?"));
/// assert!(transcript.to_srt().starts_with("1\n00:00:02,720 --> 00:00:07,600\nAda: Shall we begin?\n"));
/// # Ok::<(), cronofy_notify_core::TranscriptError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transcript {
    /// `meeting_agent`: which agent recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_agent: Option<TranscriptAgent>,
    /// `transcript`: the text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub transcript: TranscriptBody,
}

/// `meeting_agent` of a transcript.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptAgent {
    /// `sub`: the agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// `transcript` of a transcript: a summary and the paragraphs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptBody {
    /// `summary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `paragraphs`, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub paragraphs: Vec<Paragraph>,
}

/// What one speaker said in one stretch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Paragraph {
    /// `speaker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<Speaker>,
    /// `start`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    /// `end`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// `sentences`, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sentences: Vec<Sentence>,
}

/// A speaker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Speaker {
    /// `identifier`, e.g. `A`: stable within a transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// `name`, when Cronofy knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One sentence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Sentence {
    /// `text`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub text: String,
    /// `start`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    /// `end`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
}

/// Why bytes are not a transcript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The bytes are not JSON.
    #[error("the transcript is not JSON ({reason} at line {line}, column {column})")]
    NotJson {
        /// What the JSON parser met.
        reason: &'static str,
        /// Line, from 1.
        line: usize,
        /// Column, from 1, as serde_json counts it: 0 when the input ends at the start of a
        /// line (an empty file, say).
        column: usize,
    },
    /// JSON, but not shaped like a transcript (a field holds the wrong kind of value).
    #[error("the JSON is not shaped like a Cronofy transcript (at line {line}, column {column})")]
    UnexpectedShape {
        /// Line, from 1.
        line: usize,
        /// Column, from 1, as serde_json counts it: that of the last character read before the
        /// value found out of place, so 0 when it opens the line (`[]` for a whole transcript).
        column: usize,
    },
}

/// One caption: a sentence with its times and speaker.
struct Cue<'a> {
    start: f64,
    end: f64,
    speaker: Option<String>,
    text: &'a str,
}

impl Paragraph {
    /// The label for the speaker: the name, else `Speaker <identifier>`, else `None`.
    pub fn speaker_label(&self) -> Option<String> {
        let speaker = self.speaker.as_ref()?;
        match (&speaker.name, &speaker.identifier) {
            (Some(name), _) if !name.trim().is_empty() => Some(one_line(name)),
            (_, Some(id)) if !id.trim().is_empty() => Some(format!("Speaker {}", one_line(id))),
            _ => None,
        }
    }
}

impl Transcript {
    /// Parses a transcript.
    ///
    /// # Errors
    /// [`TranscriptError::NotJson`] or [`TranscriptError::UnexpectedShape`].
    pub fn from_slice(json: &[u8]) -> Result<Self, TranscriptError> {
        crate::objects_only::from_slice(json).map_err(|error| {
            // Some shape mismatches are reported as syntax errors, and a shape error can come
            // before a syntax error further on: only a general parse can tell whether the
            // bytes are JSON at all, and where they stop being JSON. Into a `Value`, as a
            // callback's is, so that both mean the same by "not JSON" (skipping values, as
            // `IgnoredAny` does, reads no string as UTF-8 and no number as one).
            match serde_json::from_slice::<serde_json::Value>(json) {
                Ok(_) => TranscriptError::UnexpectedShape {
                    line: error.line(),
                    column: error.column(),
                },
                Err(not_json) => TranscriptError::NotJson {
                    reason: crate::error::json_reason(&not_json),
                    line: not_json.line(),
                    column: not_json.column(),
                },
            }
        })
    }

    /// The paragraphs.
    pub fn paragraphs(&self) -> &[Paragraph] {
        &self.transcript.paragraphs
    }

    /// Whether there is nothing to render: no sentence with any text. A JSON object that is not
    /// a transcript at all parses (every field is optional) and is empty.
    pub fn is_empty(&self) -> bool {
        self.cues().is_empty()
    }

    /// One cue per sentence with text. A cue needs an end after its start to be shown at all
    /// (players show a cue from its start until just before its end): one whose end is
    /// missing, or not after its start, ends where the next cue starts, or [`FALLBACK_CUE`]
    /// after its start when the next does not start later.
    fn cues(&self) -> Vec<Cue<'_>> {
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
                        start: seconds(sentence.start.or(paragraph.start)),
                        end: seconds(sentence.end.or(paragraph.end)),
                        speaker: label.clone(),
                        text,
                    })
                })
            })
            .collect();
        for index in 0..cues.len() {
            let start = cues[index].start;
            if cues[index].end <= start {
                let next = cues.get(index + 1).map(|cue| cue.start);
                cues[index].end = next
                    .filter(|&next| next > start)
                    .unwrap_or(start + FALLBACK_CUE);
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
            let start = seconds(
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

    /// WebVTT captions: one cue per sentence, with a `<v Speaker>` voice span. A sentence
    /// without an end after its start (nor its paragraph's) ends where the next one starts, or
    /// two seconds on, so that every cue is shown.
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

    /// SubRip (SRT) captions: numbered cues, one per sentence, prefixed with the speaker; cue
    /// times as in [`to_webvtt`](Self::to_webvtt).
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

/// How long a cue without an end of its own is shown when no later cue bounds it: long enough
/// to read a short sentence.
const FALLBACK_CUE: f64 = 2.0;

/// Seconds, with missing, negative or non-finite values as 0.
fn seconds(value: Option<f64>) -> f64 {
    value.filter(|v| v.is_finite() && *v > 0.0).unwrap_or(0.0)
}

/// `hh:mm:ss`, or `hh:mm:ss<sep>mmm` with milliseconds.
fn clock(seconds: f64, millis_separator: Option<char>) -> String {
    let total_ms = (seconds * 1000.0).round().min(u64::MAX as f64) as u64;
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
fn one_line(text: &str) -> String {
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
        assert_eq!(clock(3725.0005, Some('.')), "01:02:05.001");
        assert_eq!(clock(seconds(Some(-4.0)), Some(',')), "00:00:00,000");
        assert_eq!(clock(seconds(Some(f64::NAN)), None), "00:00:00");
        assert_eq!(clock(seconds(Some(f64::INFINITY)), None), "00:00:00");
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
