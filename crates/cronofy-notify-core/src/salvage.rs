//! Making the typed model out of an `event_subscription` body that does not quite match it.

use serde_json::Value;
use serde_path_to_error::{Path, Segment};

use crate::notification::WireIn;
use crate::objects_only::ObjectsOnly;
use crate::{EventSubscription, NotificationType, OtherNotification};

/// The most values left out of one body before giving up: a body that needs more is not a
/// callback with a field or two Cronofy changed, and each try parses the whole body again.
const MAX_LEFT_OUT: usize = 32;

/// An `event_subscription` callback made typed from a body that did not match the model, and
/// what was left out to get there. See [`OtherNotification::salvage_event_subscription`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Salvaged {
    /// The callback, as if the values left out had been absent.
    pub callback: EventSubscription,
    /// Where each value left out was, as a JSON path such as `event.start` or
    /// `meeting_agent.resources[1]`, in the order they were found (an index counts the
    /// elements still there when it was).
    pub left_out: Vec<String>,
}

impl OtherNotification {
    /// For an `event_subscription` callback whose shape did not match the model (a value of a
    /// type Cronofy has not documented: `event.start` as an object, a number sent as a
    /// string...): the typed callback made from the rest, leaving out each value that does not
    /// fit, as if it had been absent, and saying where each was. `None` for every other
    /// notification type, and for a body so far from the model that more than 32 values would
    /// have to go.
    ///
    /// Parsing keeps such a body whole, as [`Notification::Other`](crate::Notification::Other),
    /// so nothing is lost and nothing is guessed; this is the step to take when the meeting agent,
    /// its interaction and its resources matter more than one field (to download the recordings
    /// of a completed meeting, say). Log what was left out: it is how a change on Cronofy's side
    /// shows.
    ///
    /// ```
    /// use cronofy_notify_core::{InteractionType, Notification};
    ///
    /// let body = br#"{"notification":{"type":"event_subscription",
    ///     "interactions":[{"type":"meeting_agent_complete"}]},
    ///   "event":{"summary":"Weekly","start":{"time":"2026-11-30T09:00:00Z","tzid":"Europe/London"}},
    ///   "meeting_agent":{"sub":"agt_1","resources":[
    ///     {"category":"transcript","type":"cronofy","url":"https://api.cronofy.com/t"}]}}"#;
    /// let Notification::Other(other) = Notification::from_slice(body)? else { unreachable!() };
    ///
    /// let salvaged = other.salvage_event_subscription().expect("an event_subscription");
    /// assert_eq!(salvaged.left_out, ["event.start"]);
    /// let callback = &salvaged.callback;
    /// assert!(callback.has_interaction(&InteractionType::MeetingAgentComplete));
    /// assert_eq!(callback.event.as_ref().and_then(|e| e.summary.as_deref()), Some("Weekly"));
    /// assert_eq!(callback.downloadable_resources().count(), 1);
    /// # Ok::<(), cronofy_notify_core::ParseError>(())
    /// ```
    pub fn salvage_event_subscription(&self) -> Option<Salvaged> {
        if self.notification_type != NotificationType::EventSubscription {
            return None;
        }
        let mut json = self.json.clone();
        let mut left_out = Vec::new();
        loop {
            match serde_path_to_error::deserialize::<_, WireIn>(ObjectsOnly(&json)) {
                Ok(wire) => {
                    return Some(Salvaged {
                        callback: wire.into(),
                        left_out,
                    });
                }
                Err(error) => {
                    if left_out.len() == MAX_LEFT_OUT || !remove(&mut json, error.path()) {
                        return None;
                    }
                    left_out.push(error.path().to_string());
                }
            }
        }
    }
}

/// Removes the value at `path` from `json`; `false` when there is none to remove there.
fn remove(json: &mut Value, path: &Path) -> bool {
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = json;
    for segment in parents {
        let child = match (segment, node) {
            (Segment::Map { key }, Value::Object(map)) => map.get_mut(key),
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match child {
            Some(child) => node = child,
            None => return false,
        }
    }
    match (last, node) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key).is_some(),
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}
