//! The built-in sample callbacks, shaped as Cronofy documents them.

use serde_json::{Value, json};

/// A sample body: `activated`, `complete` or `failed[:SUBTYPE]`.
pub(crate) fn sample(
    which: &str,
    sub: &str,
    resource_base: Option<&str>,
) -> Result<Vec<u8>, String> {
    let (kind, subtype) = match which.split_once(':') {
        Some((kind, subtype)) => (kind, Some(subtype)),
        None => (which, None),
    };
    let base = resource_base
        .unwrap_or("https://api.cronofy.com")
        .trim_end_matches('/');
    let resource = |category: &str, kind: &str| json!({"category": category, "type": kind, "url": format!("{base}/v1/meeting_agents/{sub}/{category}")});
    let dashboard = json!({"category": "cronofy", "type": "dashboard", "url": format!("https://app.cronofy.com/meeting_agents/{sub}")});
    let (interaction, state, resources, details): (Value, &str, Vec<Value>, Option<Value>) = match (
        kind, subtype,
    ) {
        ("activated", None) => (
            json!({"type": "meeting_agent_activated"}),
            "created",
            vec![dashboard],
            None,
        ),
        ("complete", None) => (
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
        ("failed", subtype) => (
            json!({"type": "meeting_agent_failed", "subtype": subtype.unwrap_or("meeting_agent_rejected")}),
            "complete",
            vec![dashboard],
            None,
        ),
        _ => {
            return Err(format!(
                "unknown sample {which:?}: expected activated, complete or failed[:SUBTYPE]"
            ));
        }
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
