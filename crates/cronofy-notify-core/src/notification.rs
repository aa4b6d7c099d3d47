//! The envelope every Cronofy callback shares, and how a body becomes a [`Notification`].

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event_subscription::null_as_default;
use crate::objects_only::{self, ObjectsOnly};
use crate::{Event, EventSubscription, Interaction, MeetingAgent, NotificationType, ParseError};

/// A Cronofy callback, parsed.
///
/// `event_subscription` callbacks (Meeting Agent and conferencing) are modelled in full. Every other
/// type, and any body whose shape does not match the model, is kept as an [`OtherNotification`]:
/// its type and its JSON, so nothing is lost and nothing fails. For an `event_subscription` body
/// with a value of a type the model does not expect, [`OtherNotification::salvage_event_subscription`]
/// gives the typed callback made from the rest, saying what it left out.
///
/// ```
/// use cronofy_notify_core::{Notification, NotificationType};
///
/// let body = br#"{"notification":{"type":"change","changes_since":"2026-04-04T15:30:00Z"},
///                 "channel":{"channel_id":"chn_1"}}"#;
/// let notification = Notification::from_slice(body)?;
/// assert_eq!(notification.notification_type(), &NotificationType::Change);
/// let Notification::Other(other) = &notification else { unreachable!() };
/// assert_eq!(other.json["channel"]["channel_id"], "chn_1");
/// # Ok::<(), cronofy_notify_core::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "the large variant is the common one; boxing it would allocate for every callback"
)]
pub enum Notification {
    /// An `event_subscription` callback that matches the model.
    EventSubscription(EventSubscription),
    /// Any other callback: another type, or a shape this version does not model (see
    /// [`OtherNotification::salvage_event_subscription`]).
    Other(OtherNotification),
}

/// A callback kept in general form: its `notification.type` and its whole JSON.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OtherNotification {
    /// `notification.type`.
    pub notification_type: NotificationType,
    /// The whole body as JSON.
    pub json: Value,
}

impl Notification {
    /// Parses a callback body.
    ///
    /// A body is a notification when it is a JSON object with a string at `notification.type`;
    /// everything else in it is optional. Where the spec has an object, only an object is read:
    /// an array there (which serde's derived structs would take as the fields in order) is a
    /// value of an unexpected type, as a number would be.
    ///
    /// # Errors
    /// [`ParseError::NotJson`] when the bytes are not JSON (or hold a number past f64's range,
    /// such as `1e400`, in a part the model keeps whole), [`ParseError::NotANotification`] when
    /// the JSON has no `notification.type`, [`ParseError::TooDeep`] when it nests more than 128
    /// levels deep (in a part the model keeps whole). A Meeting Agent callback that matches the
    /// model is read even so: the fields it does not model are skipped unread.
    pub fn from_slice(body: &[u8]) -> Result<Self, ParseError> {
        // JSON text is UTF-8 (RFC 8259 §8.1). Checked once for the whole body, it need not be
        // checked string by string, which is what serde_json does for a slice and a fifth of
        // its time on a callback. A body that is not UTF-8 takes the slice path, which finds
        // the same failure and says where it is.
        match std::str::from_utf8(body) {
            Ok(text) => Self::from_text(text),
            Err(_) => {
                Self::from_value(serde_json::from_slice(body).map_err(ParseError::from_json)?)
            }
        }
    }

    fn from_text(body: &str) -> Result<Self, ParseError> {
        match objects_only::from_str::<WireIn>(body) {
            Ok(wire) if wire.notification.kind == NotificationType::EventSubscription => {
                Ok(Self::EventSubscription(wire.into()))
            }
            // Another type (keep all of it, not just the fields modelled here), or a shape the
            // model does not match. serde_json reports some shape mismatches (a struct given as
            // a longer array) as syntax errors, so only the general parse can say "not JSON".
            _ => Self::from_value(serde_json::from_str(body).map_err(ParseError::from_json)?),
        }
    }

    /// Makes a notification from JSON already parsed.
    ///
    /// # Errors
    /// [`ParseError::NotANotification`] when the JSON has no string at `notification.type`.
    pub fn from_value(json: Value) -> Result<Self, ParseError> {
        let notification_type = match json.get("notification").and_then(|n| n.get("type")) {
            Some(Value::String(kind)) => NotificationType::from(kind.as_str()),
            _ => return Err(ParseError::NotANotification),
        };
        if notification_type == NotificationType::EventSubscription
            && let Ok(wire) = WireIn::deserialize(ObjectsOnly(&json))
        {
            return Ok(Self::EventSubscription(wire.into()));
        }
        Ok(Self::Other(OtherNotification {
            notification_type,
            json,
        }))
    }

    /// `notification.type`.
    pub fn notification_type(&self) -> &NotificationType {
        match self {
            Self::EventSubscription(_) => &NotificationType::EventSubscription,
            Self::Other(other) => &other.notification_type,
        }
    }

    /// The typed `event_subscription` body, if this is one and it matched the model. See
    /// [`to_event_subscription`](Self::to_event_subscription) for one that did not quite.
    pub fn as_event_subscription(&self) -> Option<&EventSubscription> {
        match self {
            Self::EventSubscription(callback) => Some(callback),
            Self::Other(_) => None,
        }
    }

    /// The `event_subscription` callback, typed, even when a value in it has a type the model
    /// does not expect: borrowed when the body matched the model; otherwise made by
    /// [salvaging](OtherNotification::salvage_event_subscription) the body kept whole, each value
    /// that did not fit left out (this notification's `Display` names them, so log it). `None`
    /// for other notification types.
    ///
    /// Use it where acting on the callback matters more than any one field, such as downloading
    /// the recordings of a completed meeting: a change on Cronofy's side to `event.start` should
    /// not cost a meeting its transcript. [`as_event_subscription`](Self::as_event_subscription)
    /// is for when only an exact match will do.
    ///
    /// ```
    /// use cronofy_notify_core::{InteractionType, Notification};
    ///
    /// let body = br#"{"notification":{"type":"event_subscription",
    ///     "interactions":[{"type":"meeting_agent_complete"}]},
    ///   "event":{"start":{"time":"2026-11-30T09:00:00Z","tzid":"Europe/London"}},
    ///   "meeting_agent":{"sub":"agt_1","resources":[
    ///     {"category":"transcript","type":"cronofy","url":"https://api.cronofy.com/t"}]}}"#;
    /// let notification = Notification::from_slice(body)?;
    /// assert!(notification.as_event_subscription().is_none()); // `event.start` is an object
    ///
    /// let callback = notification.to_event_subscription().expect("an event_subscription");
    /// assert!(callback.has_interaction(&InteractionType::MeetingAgentComplete));
    /// assert_eq!(callback.downloadable_resources().count(), 1);
    /// assert_eq!(
    ///     notification.to_string(),
    ///     "meeting_agent_complete for agt_1, resources: transcript (left out: event.start)"
    /// );
    /// # Ok::<(), cronofy_notify_core::ParseError>(())
    /// ```
    pub fn to_event_subscription(&self) -> Option<Cow<'_, EventSubscription>> {
        match self {
            Self::EventSubscription(callback) => Some(Cow::Borrowed(callback)),
            Self::Other(other) => other
                .salvage_event_subscription()
                .map(|salvaged| Cow::Owned(salvaged.callback)),
        }
    }

    /// [`to_event_subscription`](Self::to_event_subscription), owned: for moving the callback
    /// into a task that outlives the request, such as the download after the answer.
    ///
    /// ```
    /// use cronofy_notify_core::{EventSubscription, Notification};
    ///
    /// let body = br#"{"notification":{"type":"event_subscription",
    ///     "interactions":[{"type":"meeting_agent_complete"}]},
    ///   "meeting_agent":{"sub":"agt_1","resources":[
    ///     {"category":"transcript","type":"cronofy","url":"https://api.cronofy.com/t"}]}}"#;
    /// let notification = Notification::from_slice(body)?;
    /// let callback: EventSubscription = notification.into_event_subscription().expect("typed");
    /// let later = std::thread::spawn(move || callback.downloadable_resources().count());
    /// assert_eq!(later.join().unwrap(), 1);
    /// # Ok::<(), cronofy_notify_core::ParseError>(())
    /// ```
    pub fn into_event_subscription(self) -> Option<EventSubscription> {
        match self {
            Self::EventSubscription(callback) => Some(callback),
            Self::Other(other) => other
                .salvage_event_subscription()
                .map(|salvaged| salvaged.callback),
        }
    }

    /// The meeting agent of an `event_subscription` callback that matched the model (for one
    /// kept whole, take it from [`to_event_subscription`](Self::to_event_subscription)).
    pub fn meeting_agent(&self) -> Option<&MeetingAgent> {
        self.as_event_subscription()?.meeting_agent.as_ref()
    }

    /// The key under which to deduplicate redelivered callbacks (see
    /// [`EventSubscription::idempotency_key`]); `None` for callbacks without a meeting agent.
    /// An `event_subscription` body kept whole for a value of an unexpected type is keyed from
    /// what [salvaging](OtherNotification::salvage_event_subscription) it reads, so that its
    /// redelivery is a duplicate too.
    pub fn idempotency_key(&self) -> Option<String> {
        self.to_event_subscription()?.idempotency_key()
    }
}

/// One line for logs: what happened, to which agent, why it failed and what is ready to fetch,
/// such as `meeting_agent_complete for agt_1, resources: transcript, audio, video` or
/// `meeting_agent_failed for agt_1, failed: join_timeout`; another kind of callback is its type
/// (`change notification`). An `event_subscription` body kept whole for a value of an
/// unexpected type reads as what [salvaging](OtherNotification::salvage_event_subscription) it
/// gives, followed by what was left out: `meeting_agent_complete for agt_1, resources:
/// transcript (left out: event.start)`. Nothing in it is secret, and it is always one line: control
/// characters in the body's text are escaped.
///
/// ```
/// use cronofy_notify_core::Notification;
///
/// let body = br#"{"notification":{"type":"event_subscription",
///   "interactions":[{"type":"meeting_agent_failed","subtype":"join_timeout"}]},
///   "meeting_agent":{"sub":"agt_1","state":"complete"}}"#;
/// let notification = Notification::from_slice(body)?;
/// assert_eq!(notification.to_string(), "meeting_agent_failed for agt_1, failed: join_timeout");
/// # Ok::<(), cronofy_notify_core::ParseError>(())
/// ```
impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventSubscription(callback) => summarize(callback, f),
            Self::Other(other) => match other.salvage_event_subscription() {
                Some(salvaged) => {
                    summarize(&salvaged.callback, f)?;
                    for (i, path) in salvaged.left_out.iter().enumerate() {
                        let lead = if i == 0 { " (left out: " } else { ", " };
                        write!(f, "{lead}{}", OneLine(path))?;
                    }
                    if salvaged.left_out.is_empty() {
                        Ok(())
                    } else {
                        f.write_str(")")
                    }
                }
                None => write!(
                    f,
                    "{} notification",
                    OneLine(self.notification_type().as_str())
                ),
            },
        }
    }
}

/// The one line of a typed `event_subscription` callback.
fn summarize(callback: &EventSubscription, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if callback.interactions.is_empty() {
        f.write_str("event_subscription")?;
    }
    for (i, interaction) in callback.interactions.iter().enumerate() {
        let kind = interaction
            .kind
            .as_ref()
            .map_or("(no type)", |k| k.as_str());
        write!(f, "{}{}", if i > 0 { "+" } else { "" }, OneLine(kind))?;
    }
    // A conferencing callback has no meeting agent: its event is what it is about.
    let event = callback.event.as_ref().and_then(|e| e.event_id.as_deref());
    match (callback.agent_sub(), event) {
        (Some(sub), _) => write!(f, " for {}", OneLine(sub))?,
        (None, Some(event)) => write!(f, " for event {}", OneLine(event))?,
        (None, None) => f.write_str(" for (no meeting agent)")?,
    }
    if let Some(reason) = callback.failure_reason() {
        write!(f, ", failed: {}", OneLine(reason.as_str()))?;
    }
    for (i, resource) in callback.downloadable_resources().enumerate() {
        let lead = if i == 0 { ", resources: " } else { ", " };
        write!(f, "{lead}{}", OneLine(resource.category.as_str()))?;
    }
    Ok(())
}

/// Text from a body, written on one line: control characters (a line break in a `sub`, say)
/// are escaped, so that no body can forge a second line in a log.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

impl Serialize for Notification {
    /// Writes Cronofy's own field names; unknown enum values are written back as received, and an
    /// [`OtherNotification`] as its JSON.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::EventSubscription(callback) => WireOut {
                notification: HeaderOut {
                    kind: &NotificationType::EventSubscription,
                    interactions: &callback.interactions,
                },
                event: callback.event.as_ref(),
                meeting_agent: callback.meeting_agent.as_ref(),
            }
            .serialize(serializer),
            Self::Other(other) => other.json.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Notification {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize)]
pub(crate) struct WireIn {
    notification: HeaderIn,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    meeting_agent: Option<MeetingAgent>,
}

impl From<WireIn> for EventSubscription {
    fn from(wire: WireIn) -> Self {
        Self {
            interactions: wire.notification.interactions,
            event: wire.event,
            meeting_agent: wire.meeting_agent,
        }
    }
}

#[derive(Deserialize)]
struct HeaderIn {
    #[serde(rename = "type")]
    kind: NotificationType,
    #[serde(default, deserialize_with = "null_as_default")]
    interactions: Vec<Interaction>,
}

#[derive(Serialize)]
struct WireOut<'a> {
    notification: HeaderOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meeting_agent: Option<&'a MeetingAgent>,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    #[serde(rename = "type")]
    kind: &'a NotificationType,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    interactions: &'a [Interaction],
}
