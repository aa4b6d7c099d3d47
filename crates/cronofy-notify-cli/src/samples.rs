//! The built-in sample callbacks, shaped as Cronofy documents them.

use serde_json::{Value, json};

/// Which sample `send` builds: `activated`, `complete` or `failed[:SUBTYPE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sample {
    Activated,
    Complete,
    /// A failure, with its subtype (`meeting_agent_rejected` when none is named).
    Failed(String),
}

impl std::str::FromStr for Sample {
    type Err = String;

    /// Parsed when the command line is, so that a mistake is a usage error before anything is sent.
    fn from_str(value: &str) -> Result<Self, String> {
        match value.split_once(':') {
            None if value == "activated" => Ok(Self::Activated),
            None if value == "complete" => Ok(Self::Complete),
            None if value == "failed" => Ok(Self::Failed("meeting_agent_rejected".into())),
            Some(("failed", subtype)) if !subtype.trim().is_empty() => {
                Ok(Self::Failed(subtype.trim().to_owned()))
            }
            Some(("failed", _)) => {
                Err("failed: needs a subtype after the colon, such as failed:join_timeout".into())
            }
            _ => Err("expected activated, complete, failed or failed:SUBTYPE".into()),
        }
    }
}

/// A sample body, signed by nobody yet.
pub(crate) fn sample(
    which: &Sample,
    sub: &str,
    resource_base: Option<&str>,
) -> Result<Vec<u8>, String> {
    let base = resource_base
        .unwrap_or("https://api.cronofy.com")
        .trim_end_matches('/');
    let resource = |category: &str, kind: &str| json!({"category": category, "type": kind, "url": format!("{base}/v1/meeting_agents/{sub}/{category}")});
    let dashboard = json!({"category": "cronofy", "type": "dashboard", "url": format!("https://app.cronofy.com/meeting_agents/{sub}")});
    let (interaction, state, resources, details): (Value, &str, Vec<Value>, Option<Value>) =
        match which {
            Sample::Activated => (
                json!({"type": "meeting_agent_activated"}),
                "created",
                vec![dashboard],
                None,
            ),
            Sample::Complete => (
                json!({"type": "meeting_agent_complete"}),
                "complete",
                vec![
                    dashboard,
                    resource("transcript", "cronofy"),
                    resource("audio", "voice"),
                    resource("video", "conference"),
                ],
                Some(json!({"recording": {"duration_seconds": 1620}})),
            ),
            Sample::Failed(subtype) => (
                json!({"type": "meeting_agent_failed", "subtype": subtype}),
                "complete",
                vec![dashboard],
                None,
            ),
        };
    let mut agent = json!({"sub": sub, "state": state, "resources": resources});
    if let Some(details) = details {
        agent["details"] = details;
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
    serde_json::to_vec_pretty(&body).map_err(|e| e.to_string())
}
