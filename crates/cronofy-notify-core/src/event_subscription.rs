//! The typed body of an `event_subscription` callback: Meeting Agent (and conferencing) callbacks.
//!
//! Cronofy publishes examples, not a schema, so every field here is optional and unknown fields are
//! ignored. Field names follow the wire; `type` is spelled `kind` in Rust.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{AgentState, FailureReason, InteractionType, ResourceCategory, ResourceType};

/// An `event_subscription` callback: what happened (the interactions), to which calendar event, and
/// the meeting agent's state and resources.
///
/// ```
/// use cronofy_notify_core::{InteractionType, Notification};
///
/// let body = br#"{"notification":{"type":"event_subscription",
///     "interactions":[{"type":"meeting_agent_complete"}]},
///   "meeting_agent":{"sub":"agt_1","state":"complete","resources":[
///     {"category":"cronofy","type":"dashboard","url":"https://app.cronofy.com/x"},
///     {"category":"transcript","type":"cronofy","url":"https://api.cronofy.com/t"}]}}"#;
/// let Notification::EventSubscription(callback) = Notification::from_slice(body)? else {
///     unreachable!("an event_subscription body");
/// };
/// assert!(callback.has_interaction(&InteractionType::MeetingAgentComplete));
/// assert!(callback.resources_ready());
/// let urls: Vec<_> = callback.downloadable_resources().map(|r| r.url).collect();
/// assert_eq!(urls, ["https://api.cronofy.com/t"]);
/// # Ok::<(), cronofy_notify_core::ParseError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct EventSubscription {
    /// `notification.interactions`: usually one, but handle every element.
    pub interactions: Vec<Interaction>,
    /// The calendar event; absent when the agent was scheduled directly, without an event.
    pub event: Option<Event>,
    /// The meeting agent.
    pub meeting_agent: Option<MeetingAgent>,
}

/// One element of `notification.interactions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Interaction {
    /// `type`: what happened.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<InteractionType>,
    /// `subtype`: for `meeting_agent_failed`, why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<FailureReason>,
}

/// The calendar event a subscription is attached to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// `event_id`: the application's own id for the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// `summary`: the event's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `start`, as Cronofy wrote it (an RFC 3339 time, or a date for all-day events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// `end`, as Cronofy wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `tzid`: the event's time zone, e.g. `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tzid: Option<String>,
    /// `conferencing`: the call the agent joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conferencing: Option<Conferencing>,
    /// `meeting_agent`: the agent profile requested on the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_agent: Option<EventMeetingAgent>,
}

/// `event.conferencing`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Conferencing {
    /// `provider_name`, e.g. `zoom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    /// `join_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
}

/// `event.meeting_agent`: the agent requested on the calendar event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventMeetingAgent {
    /// `profile_id`, e.g. `cronofy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

/// The top-level `meeting_agent`: the bot, its state and what it produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeetingAgent {
    /// `sub`: the agent's id (`agt_...`). With the interaction type it identifies a callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AgentState>,
    /// `details`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<AgentDetails>,
    /// `resources`: the dashboard page and, on completion, the recordings.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<Resource>,
}

/// `meeting_agent.details`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentDetails {
    /// `recording`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
}

/// `meeting_agent.details.recording`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recording {
    /// `duration_seconds`, kept as the JSON number Cronofy sent (integer or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<serde_json::Number>,
}

impl Recording {
    /// The recording's length, when Cronofy gave a non-negative, finite one.
    pub fn duration(&self) -> Option<Duration> {
        let seconds = self.duration_seconds.as_ref()?.as_f64()?;
        Duration::try_from_secs_f64(seconds).ok()
    }
}

/// One of `meeting_agent.resources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resource {
    /// `category`: transcript, audio, video, or `cronofy` for the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<ResourceCategory>,
    /// `type`: the form of the resource within its category.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceType>,
    /// `url`: for API resources, fetched with the API key; for the dashboard, a page for a browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A resource to fetch through the API: a transcript, audio or video recording with a URL.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct DownloadableResource<'a> {
    /// The category, one of [`ResourceCategory::DOWNLOADABLE`].
    pub category: &'a ResourceCategory,
    /// The resource's type, when given.
    pub kind: Option<&'a ResourceType>,
    /// Where to `GET` it, with the API key as a Bearer token.
    pub url: &'a str,
}

impl EventSubscription {
    /// Whether any interaction is of `kind`.
    pub fn has_interaction(&self, kind: &InteractionType) -> bool {
        self.interactions
            .iter()
            .any(|interaction| interaction.kind.as_ref() == Some(kind))
    }

    /// The agent's id, `meeting_agent.sub`; `None` when it is absent or blank. A blank id
    /// names no agent: two callbacks carrying one are not the same meeting, so such a callback
    /// has no [`idempotency_key`](Self::idempotency_key) and no folder for its recordings.
    pub fn agent_sub(&self) -> Option<&str> {
        self.meeting_agent
            .as_ref()?
            .sub
            .as_deref()
            .filter(|sub| !sub.trim().is_empty())
    }

    /// Whether this is a `meeting_agent_failed` callback.
    pub fn is_failed(&self) -> bool {
        self.has_interaction(&InteractionType::MeetingAgentFailed)
    }

    /// Why the agent failed: the subtype of the `meeting_agent_failed` interaction. `None` when the
    /// callback is not a failure, or when Cronofy did not say why (check [`Self::is_failed`]).
    pub fn failure_reason(&self) -> Option<&FailureReason> {
        self.interactions
            .iter()
            .filter(|interaction| interaction.kind == Some(InteractionType::MeetingAgentFailed))
            .find_map(|interaction| interaction.subtype.as_ref())
    }

    /// Whether the recordings can be fetched now: a `meeting_agent_complete` callback that lists at
    /// least one downloadable resource.
    pub fn resources_ready(&self) -> bool {
        self.has_interaction(&InteractionType::MeetingAgentComplete)
            && self.downloadable_resources().next().is_some()
    }

    /// Every resource of the meeting agent, the dashboard included.
    pub fn resources(&self) -> &[Resource] {
        self.meeting_agent
            .as_ref()
            .map_or(&[], |agent| agent.resources.as_slice())
    }

    /// The transcript, audio and video resources that have a URL; never the dashboard.
    pub fn downloadable_resources(&self) -> impl Iterator<Item = DownloadableResource<'_>> {
        self.resources().iter().filter_map(|resource| {
            let category = resource.category.as_ref().filter(|c| c.is_downloadable())?;
            let url = resource
                .url
                .as_deref()
                .filter(|url| !url.trim().is_empty())?;
            Some(DownloadableResource {
                category,
                kind: resource.kind.as_ref(),
                url,
            })
        })
    }

    /// The key under which to deduplicate redelivered callbacks: `meeting_agent.sub` and the
    /// interaction types, e.g. `agt_123/meeting_agent_complete`. `None` without a `sub`.
    pub fn idempotency_key(&self) -> Option<String> {
        let sub = self.agent_sub()?;
        let mut key = String::with_capacity(sub.len() + 32);
        key.push_str(sub);
        key.push('/');
        for (i, interaction) in self.interactions.iter().enumerate() {
            if i > 0 {
                key.push('+');
            }
            key.push_str(interaction.kind.as_ref().map_or("", |kind| kind.as_str()));
        }
        Some(key)
    }
}

/// Reads `null` as the type's default, so that `"resources": null` is no reason to give up.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
