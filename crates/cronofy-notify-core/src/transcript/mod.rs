//! The meeting transcript Cronofy produces (spec §2), and captions made from it.
//!
//! Times are float seconds from the start of the recording. Every field may be absent: a
//! paragraph without a speaker name is labelled with its identifier, a sentence without times
//! takes its paragraph's.

mod captions;
mod salvage;

use serde::{Deserialize, Serialize};

use crate::event_subscription::null_as_default;
use crate::objects_only::ObjectsOnly;

use captions::one_line;

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
    /// [`Transcript::salvage`] reads it all the same, without such values.
    #[error(
        "the JSON is not shaped like a Cronofy transcript: {} (at line {line}, column {column})",
        misfit(path)
    )]
    UnexpectedShape {
        /// Where the first value of the wrong kind is, as a JSON path such as
        /// `transcript.paragraphs[0].start`; `.` when the JSON is not an object at all.
        path: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1, as serde_json counts it: that of the last character read before the
        /// value found out of place, so 0 when it opens the line (`[]` for a whole transcript).
        column: usize,
    },
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
                    path: misfit_path(json),
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

    /// Parses a transcript as [`from_slice`](Self::from_slice) does, but leaves out each value of
    /// a kind the model does not expect, as if it had been absent, and says where each was: a
    /// time sent as a string, a speaker as a number, an element of `paragraphs` or `sentences`
    /// that is not an object. For a transcript that should render whatever Cronofy changes; log
    /// what was left out, as it is how such a change shows. One walk of the JSON, however many
    /// values go.
    ///
    /// ```
    /// use cronofy_notify_core::Transcript;
    ///
    /// let json = br#"{"transcript":{"paragraphs":[{"speaker":{"name":"Ada"},
    ///   "sentences":[{"text":"Shall we begin?","start":"2.72","end":4.1}]}]}}"#;
    /// assert!(Transcript::from_slice(json).is_err());
    ///
    /// let salvaged = Transcript::salvage(json)?;
    /// assert_eq!(salvaged.left_out, ["transcript.paragraphs[0].sentences[0].start"]);
    /// assert_eq!(salvaged.transcript.to_text(), "Ada [00:00:00]: Shall we begin?\n");
    /// # Ok::<(), cronofy_notify_core::TranscriptError>(())
    /// ```
    ///
    /// # Errors
    /// [`TranscriptError::NotJson`]; [`TranscriptError::UnexpectedShape`] only when the JSON is
    /// not an object.
    pub fn salvage(json: &[u8]) -> Result<SalvagedTranscript, TranscriptError> {
        let error = match Self::from_slice(json) {
            Ok(transcript) => {
                return Ok(SalvagedTranscript {
                    transcript,
                    left_out: Vec::new(),
                });
            }
            Err(error @ TranscriptError::NotJson { .. }) => return Err(error),
            Err(error) => error,
        };
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(json) else {
            return Err(error);
        };
        let left_out = salvage::leave_out_misfits(&mut value);
        match Self::deserialize(ObjectsOnly(&value)) {
            Ok(transcript) => Ok(SalvagedTranscript {
                transcript,
                left_out,
            }),
            Err(_) => Err(error), // not an object: nothing to salvage
        }
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
}

/// A transcript read from JSON that did not quite match the model, and what was left out to
/// read it. See [`Transcript::salvage`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SalvagedTranscript {
    /// The transcript, as if the values left out had been absent.
    pub transcript: Transcript,
    /// Where each value left out was, as a JSON path such as
    /// `transcript.paragraphs[3].sentences[0].start`, in the model's field order (an index is
    /// the element's in the JSON as it was). Empty when the JSON matched the model.
    pub left_out: Vec<String>,
}

/// Where the typed parse of `json` (JSON, but not a transcript) first meets a value of the
/// wrong kind, as a JSON path.
fn misfit_path(json: &[u8]) -> String {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, Transcript>(ObjectsOnly(&mut deserializer)) {
        Err(error) => error.path().to_string(),
        Ok(_) => ".".to_owned(), // not reached: the same parse failed before
    }
}

/// The words for where a transcript went wrong.
fn misfit(path: &str) -> String {
    if path == "." {
        "it is not a JSON object".to_owned()
    } else {
        format!("`{path}` holds the wrong kind of value")
    }
}
