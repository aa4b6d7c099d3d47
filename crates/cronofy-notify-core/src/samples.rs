//! Callback bodies shaped as Cronofy documents them, for testing your own endpoint and pipeline.

use std::fmt;
use std::str::FromStr;

use serde_json::json;

use crate::FailureReason;

/// Which Meeting Agent callback to build: activated, complete (with a transcript, audio and
/// video to fetch) or failed (with a reason).
///
/// The bodies follow Cronofy's documented examples, with the agent and the resource URLs yours to
/// choose: point the URLs at a fake of your own to test a download pipeline end to end. Sign one
/// with [`Signer`](crate::Signer) to send it to your endpoint. `cronofy-notify send --sample`
/// sends these.
///
/// ```
/// use cronofy_notify_core::samples::Sample;
/// use cronofy_notify_core::{FailureReason, Notification};
///
/// let body = Sample::Complete.body("agt_test", Some("http://127.0.0.1:8080"));
/// let notification = Notification::from_slice(&body)?;
/// let callback = notification.as_event_subscription().unwrap();
/// assert!(callback.resources_ready());
/// assert_eq!(
///     callback.downloadable_resources().next().unwrap().url,
///     "http://127.0.0.1:8080/v1/meeting_agents/agt_test/transcript"
/// );
///
/// let failed: Sample = "failed:join_timeout".parse()?;
/// assert_eq!(failed, Sample::Failed(FailureReason::JoinTimeout));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sample {
    /// `meeting_agent_activated`: the agent is preparing to join (state `created`).
    Activated,
    /// `meeting_agent_complete`: the call ended; a transcript, audio and video are listed.
    Complete,
    /// `meeting_agent_failed`, with its subtype.
    Failed(FailureReason),
}

impl Sample {
    /// The body for agent `sub`, as bytes ready to sign. Resource URLs are
    /// `{resource_base}/v1/meeting_agents/{sub}/{category}`, under `https://api.cronofy.com` when
    /// `resource_base` is `None`; the dashboard link is always Cronofy's.
    pub fn body(&self, sub: &str, resource_base: Option<&str>) -> Vec<u8> {
        let base = resource_base
            .unwrap_or("https://api.cronofy.com")
            .trim_end_matches('/');
        let resource = |category: &str, kind: &str| {
            json!({"category": category, "type": kind,
                   "url": format!("{base}/v1/meeting_agents/{sub}/{category}")})
        };
        let dashboard = json!({"category": "cronofy", "type": "dashboard",
                               "url": format!("https://app.cronofy.com/meeting_agents/{sub}")});
        let (interaction, state, resources) = match self {
            Self::Activated => (
                json!({"type": "meeting_agent_activated"}),
                "created",
                vec![dashboard],
            ),
            Self::Complete => (
                json!({"type": "meeting_agent_complete"}),
                "complete",
                vec![
                    dashboard,
                    resource("transcript", "cronofy"),
                    resource("audio", "voice"),
                    resource("video", "conference"),
                ],
            ),
            Self::Failed(reason) => (
                json!({"type": "meeting_agent_failed", "subtype": reason.as_str()}),
                "complete",
                vec![dashboard],
            ),
        };
        let mut agent = json!({"sub": sub, "state": state, "resources": resources});
        if *self == Self::Complete {
            agent["details"] = json!({"recording": {"duration_seconds": 1620}});
        }
        let body = json!({
            "notification": {"type": "event_subscription", "interactions": [interaction]},
            "event": {
                "event_id": "qTtZdczOccgaPncGJaCiLg",
                "summary": "Meeting agent enhanced",
                "start": "2026-04-04T15:30:00Z",
                "end": "2026-04-04T17:00:00Z",
                "tzid": "Europe/Berlin",
                "conferencing": {"provider_name": "zoom", "join_url": "https://zoom.us/00001111-222"},
                "meeting_agent": {"profile_id": "cronofy"}
            },
            "meeting_agent": agent
        });
        // A Value has string keys only and no Serialize of its own that fails.
        serde_json::to_vec_pretty(&body).expect("a serde_json::Value always serialises")
    }
}

/// Reads `activated`, `complete`, `failed` (reason `meeting_agent_rejected`) or
/// `failed:SUBTYPE` (any subtype, documented or not), as `cronofy-notify send --sample` takes
/// them.
impl FromStr for Sample {
    type Err = SampleError;

    fn from_str(value: &str) -> Result<Self, SampleError> {
        match value.split_once(':') {
            None if value == "activated" => Ok(Self::Activated),
            None if value == "complete" => Ok(Self::Complete),
            None if value == "failed" => Ok(Self::Failed(FailureReason::MeetingAgentRejected)),
            Some(("failed", subtype)) if !subtype.trim().is_empty() => {
                Ok(Self::Failed(FailureReason::from(subtype.trim())))
            }
            Some(("failed", _)) => Err(SampleError::NoSubtype),
            _ => Err(SampleError::Unknown),
        }
    }
}

/// The name [`FromStr`] reads back: `activated`, `complete` or `failed:SUBTYPE`.
impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Activated => f.write_str("activated"),
            Self::Complete => f.write_str("complete"),
            Self::Failed(reason) => write!(f, "failed:{reason}"),
        }
    }
}

/// A [`Sample`] name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// `failed:` with nothing after the colon.
    #[error("failed: needs a subtype after the colon, such as failed:join_timeout")]
    NoSubtype,
    /// Not a sample this crate builds.
    #[error("expected activated, complete, failed or failed:SUBTYPE")]
    Unknown,
}
