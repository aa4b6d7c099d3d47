//! The string enums of the wire that Cronofy may extend.
//!
//! Each keeps a value it does not know in `Unknown`, verbatim, so a new value from Cronofy is never
//! a parse failure and is written back unchanged. Build one from its wire form with `From<&str>`
//! (which picks the known variant when there is one) rather than by naming `Unknown`.

use std::fmt;
use std::str::FromStr;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the crate does not know, kept exactly as received.
            Unknown(String),
        }

        impl $name {
            /// The value as it stands on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(other) => other,
                }
            }

            /// Whether this version of the crate knows the value.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            fn known(wire: &str) -> Option<Self> {
                match wire {
                    $( $wire => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }

        impl From<&str> for $name {
            fn from(wire: &str) -> Self {
                Self::known(wire).unwrap_or_else(|| Self::Unknown(wire.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(wire: String) -> Self {
                Self::known(&wire).unwrap_or(Self::Unknown(wire))
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(wire: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(wire))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(WireVisitor::<$name>::default())
            }
        }
    };
}

/// Turns any JSON string into one of the enums above.
struct WireVisitor<T>(std::marker::PhantomData<T>);

impl<T> Default for WireVisitor<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: From<String> + for<'a> From<&'a str>> serde::de::Visitor<'_> for WireVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, wire: &str) -> Result<T, E> {
        Ok(T::from(wire))
    }

    fn visit_string<E: serde::de::Error>(self, wire: String) -> Result<T, E> {
        Ok(T::from(wire))
    }
}

wire_enum! {
    /// `notification.type`: what kind of callback this is (spec §1 and §4).
    pub enum NotificationType {
        /// A subscription on an event or a meeting agent: Meeting Agent and conferencing callbacks.
        EventSubscription = "event_subscription",
        /// A push channel saw calendar changes.
        Change = "change",
        /// Sent once when a push channel is created.
        Verification = "verification",
        /// A calendar profile lost its authorization.
        ProfileDisconnected = "profile_disconnected",
        /// An invitee replied to a Smart Invite.
        SmartInvite = "smart_invite",
        /// A time was chosen for an Embedded Scheduler request.
        SchedulingRequestTimeChosen = "scheduling_request_time_chosen",
    }
}

wire_enum! {
    /// `notification.interactions[].type`: what happened.
    pub enum InteractionType {
        /// The agent is preparing to join the call.
        MeetingAgentActivated = "meeting_agent_activated",
        /// The call ended and its resources (transcript, audio, video) are ready.
        MeetingAgentComplete = "meeting_agent_complete",
        /// The agent could not do its job; the subtype says why.
        MeetingAgentFailed = "meeting_agent_failed",
        /// Conferencing details were assigned to an event.
        ConferencingAssigned = "conferencing_assigned",
        /// Conferencing could not be assigned to an event.
        ConferencingFailing = "conferencing_failing",
    }
}

wire_enum! {
    /// `notification.interactions[].subtype`: why a `meeting_agent_failed` callback failed.
    ///
    /// Cronofy says the list will grow: treat [`FailureReason::Unknown`] as an unknown error.
    pub enum FailureReason {
        /// The agent failed to start.
        MeetingAgentActivationFailed = "meeting_agent_activation_failed",
        /// Not admitted, or recording rights not granted (Zoom hosts must allow external
        /// participants to request local recording).
        MeetingAgentRejected = "meeting_agent_rejected",
        /// Left waiting in the waiting room and never admitted.
        JoinTimeout = "join_timeout",
        /// Not allowed to begin joining.
        AccessDenied = "access_denied",
        /// The conference could not be found; usually a bad `join_url`.
        MeetingNotFound = "meeting_not_found",
        /// A network or other internal error at Cronofy.
        InternalError = "internal_error",
        /// Meeting agents are off or unavailable for the application.
        MeetingAgentsDisabled = "meeting_agents_disabled",
        /// No Zoom authorization could be obtained for the meeting.
        NoMeetingAuthorization = "no_meeting_authorization",
    }
}

impl FailureReason {
    /// Whether trying again later might help: Cronofy's own errors are transient, a rejected or
    /// misconfigured agent is not.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::InternalError | Self::Unknown(_))
    }
}

wire_enum! {
    /// `meeting_agent.state`.
    pub enum AgentState {
        /// Requested; preparing to join.
        Created = "created",
        /// Finished, successfully or not: look at the interaction.
        Complete = "complete",
    }
}

wire_enum! {
    /// `meeting_agent.resources[].category`.
    pub enum ResourceCategory {
        /// A page for a person's browser (type `dashboard`); never downloaded.
        Cronofy = "cronofy",
        /// The JSON transcript.
        Transcript = "transcript",
        /// The audio recording.
        Audio = "audio",
        /// The video recording; can be several GB.
        Video = "video",
    }
}

impl ResourceCategory {
    /// The categories fetched through the API by default: transcript, audio and video.
    pub const DOWNLOADABLE: [ResourceCategory; 3] = [Self::Transcript, Self::Audio, Self::Video];

    /// Whether this is one of [`ResourceCategory::DOWNLOADABLE`].
    pub fn is_downloadable(&self) -> bool {
        matches!(self, Self::Transcript | Self::Audio | Self::Video)
    }
}

wire_enum! {
    /// `meeting_agent.resources[].type`: the form of a resource within its category.
    pub enum ResourceType {
        /// Cronofy's dashboard page (category `cronofy`).
        Dashboard = "dashboard",
        /// Cronofy's JSON transcript (category `transcript`).
        Cronofy = "cronofy",
        /// The voice recording (category `audio`).
        Voice = "voice",
        /// The conference recording (category `video`).
        Conference = "conference",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_through_the_wire() {
        for wire in [
            "meeting_agent_activated",
            "meeting_agent_complete",
            "meeting_agent_failed",
        ] {
            let parsed: InteractionType = serde_json::from_str(&format!("\"{wire}\"")).unwrap();
            assert!(parsed.is_known());
            assert_eq!(
                serde_json::to_string(&parsed).unwrap(),
                format!("\"{wire}\"")
            );
        }
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let parsed: FailureReason = serde_json::from_str("\"bot_was_eaten\"").unwrap();
        assert_eq!(parsed, FailureReason::Unknown("bot_was_eaten".into()));
        assert_eq!(parsed.as_str(), "bot_was_eaten");
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"bot_was_eaten\"");
    }

    #[test]
    fn from_str_picks_the_known_variant() {
        assert_eq!(AgentState::from("complete"), AgentState::Complete);
        assert_eq!(
            ResourceCategory::from(String::from("video")),
            ResourceCategory::Video
        );
    }

    #[test]
    fn a_non_string_is_a_type_error() {
        assert!(serde_json::from_str::<NotificationType>("42").is_err());
    }
}
