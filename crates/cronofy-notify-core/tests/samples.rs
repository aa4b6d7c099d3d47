//! The sample bodies (feature `samples`): shaped exactly as Cronofy's documented examples, with
//! the agent and resource URLs the caller chose.
#![cfg(feature = "samples")]

use cronofy_notify_core::samples::{Sample, SampleError};
use cronofy_notify_core::{AgentState, FailureReason, InteractionType, Notification};
use cronofy_notify_test_support::vectors;
use serde_json::Value;

const SEED_AGENT: &str = "agt_692702a100ccd07000000000";

/// A body as JSON, its resource URLs blanked as the documented examples print them.
fn with_urls_blanked(body: &[u8]) -> Value {
    let mut json: Value = serde_json::from_slice(body).unwrap();
    for resource in json["meeting_agent"]["resources"].as_array_mut().unwrap() {
        resource["url"] = "https://...".into();
    }
    json
}

#[test]
fn each_sample_is_the_documented_example_but_for_its_urls() {
    for (sample, seed) in [
        (Sample::Activated, "activated"),
        (Sample::Complete, "complete"),
        (
            Sample::Failed(FailureReason::MeetingAgentRejected),
            "failed",
        ),
    ] {
        assert_eq!(
            with_urls_blanked(&sample.body(SEED_AGENT, None)),
            serde_json::from_slice::<Value>(&vectors::seed_body(seed)).unwrap(),
            "{sample:?}"
        );
    }
}

#[test]
fn the_agent_and_the_resource_urls_are_the_callers() {
    let body = Sample::Complete.body("agt_mine", Some("http://127.0.0.1:9000/"));
    let notification = Notification::from_slice(&body).unwrap();
    let callback = notification.as_event_subscription().unwrap();
    assert_eq!(callback.agent_sub(), Some("agt_mine"));
    assert_eq!(
        callback.meeting_agent.as_ref().unwrap().state,
        Some(AgentState::Complete)
    );
    let urls: Vec<_> = callback
        .downloadable_resources()
        .map(|r| r.url.to_owned())
        .collect();
    assert_eq!(
        urls,
        ["transcript", "audio", "video"]
            .map(|c| format!("http://127.0.0.1:9000/v1/meeting_agents/agt_mine/{c}"))
    );
    // Cronofy's API when no base is given.
    let body = Sample::Complete.body("agt_mine", None);
    let notification = Notification::from_slice(&body).unwrap();
    let first = notification
        .as_event_subscription()
        .unwrap()
        .downloadable_resources()
        .next()
        .unwrap()
        .url
        .to_owned();
    assert_eq!(
        first,
        "https://api.cronofy.com/v1/meeting_agents/agt_mine/transcript"
    );
}

#[test]
fn a_failure_carries_its_reason_documented_or_not() {
    for (named, reason) in [
        ("failed", FailureReason::MeetingAgentRejected),
        ("failed:join_timeout", FailureReason::JoinTimeout),
        (
            "failed:a_reason_cronofy_adds_later",
            FailureReason::Unknown("a_reason_cronofy_adds_later".into()),
        ),
    ] {
        let sample: Sample = named.parse().unwrap();
        let notification = Notification::from_slice(&sample.body("agt_1", None)).unwrap();
        let callback = notification.as_event_subscription().unwrap();
        assert!(callback.has_interaction(&InteractionType::MeetingAgentFailed));
        assert_eq!(callback.failure_reason(), Some(&reason), "{named}");
    }
}

#[test]
fn sample_names_parse_as_the_command_takes_them() {
    assert_eq!("activated".parse(), Ok(Sample::Activated));
    assert_eq!("complete".parse(), Ok(Sample::Complete));
    assert_eq!("failed: ".parse::<Sample>(), Err(SampleError::NoSubtype));
    // Each name reads back as the sample it names.
    for sample in [
        Sample::Activated,
        Sample::Complete,
        Sample::Failed(FailureReason::JoinTimeout),
        Sample::Failed(FailureReason::Unknown("new_reason".into())),
    ] {
        assert_eq!(sample.to_string().parse(), Ok(sample.clone()), "{sample}");
    }
    assert_eq!(
        Sample::Failed(FailureReason::NoMeetingAuthorization).to_string(),
        "failed:no_meeting_authorization"
    );
    for wrong in ["", "completed", "Complete", "activated:x", "complete:"] {
        assert_eq!(
            wrong.parse::<Sample>(),
            Err(SampleError::Unknown),
            "{wrong:?}"
        );
    }
}
