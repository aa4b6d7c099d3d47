//! `OtherNotification::salvage_event_subscription`: a callback whose shape does not match the
//! model is kept whole by parsing, and salvaging it gives the typed callback as if each value
//! that does not fit were absent, with where each was.

use cronofy_notify_core::{
    Deduplicator, EventSubscription, InteractionType, Notification, OtherNotification,
    ResourceCategory, VerifiedNotification,
};
use cronofy_notify_test_support::vectors;
use proptest::prelude::*;
use serde_json::{Value, json};

fn seed() -> Value {
    serde_json::from_slice(&vectors::seed_body("complete")).unwrap()
}

fn typed(body: &Value) -> EventSubscription {
    match Notification::from_slice(body.to_string().as_bytes()).unwrap() {
        Notification::EventSubscription(callback) => callback,
        other => panic!("expected the typed form, got {other:?}"),
    }
}

fn kept_whole(body: &Value) -> OtherNotification {
    match Notification::from_slice(body.to_string().as_bytes()).unwrap() {
        Notification::Other(other) => other,
        typed => panic!("expected the general form, got {typed:?}"),
    }
}

/// `body` without the value at `pointer` (a JSON pointer such as `/event/start`).
fn without(body: &Value, pointer: &str) -> Value {
    let mut body = body.clone();
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    match body.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.remove(last).unwrap();
        }
        Value::Array(items) => {
            items.remove(last.parse().unwrap());
        }
        other => panic!("nothing to remove from {other}"),
    }
    body
}

#[test]
fn a_completed_meeting_with_values_of_other_types_still_lists_its_recordings() {
    let mut body = seed();
    body["event"]["start"] = json!({"time": "2026-04-04T15:30:00Z", "tzid": "Europe/Berlin"});
    body["meeting_agent"]["details"]["recording"]["duration_seconds"] = json!("1620");

    let salvaged = kept_whole(&body).salvage_event_subscription().unwrap();
    assert_eq!(
        salvaged.left_out,
        [
            "event.start",
            "meeting_agent.details.recording.duration_seconds"
        ]
    );
    let expected = typed(&without(
        &without(&body, "/event/start"),
        "/meeting_agent/details/recording/duration_seconds",
    ));
    assert_eq!(salvaged.callback, expected);
    let callback = &salvaged.callback;
    assert!(callback.has_interaction(&InteractionType::MeetingAgentComplete));
    assert!(callback.resources_ready());
    assert_eq!(callback.agent_sub(), Some("agt_692702a100ccd07000000000"));
    let categories: Vec<_> = callback
        .downloadable_resources()
        .map(|r| r.category.clone())
        .collect();
    assert_eq!(
        categories,
        [
            ResourceCategory::Transcript,
            ResourceCategory::Audio,
            ResourceCategory::Video
        ]
    );
}

#[test]
fn each_value_left_out_is_named_by_its_path() {
    let body = json!({
        "notification": {"type": "event_subscription",
                         "interactions": [{"type": 7}, {"type": "meeting_agent_complete"}]},
        "meeting_agent": {"sub": 42, "resources": [
            {"category": "audio", "type": "voice", "url": "https://api.cronofy.com/a"},
            "not a resource",
            {"category": "video", "type": "conference", "url": ["https://api.cronofy.com/v"]}
        ]}
    });
    let salvaged = kept_whole(&body).salvage_event_subscription().unwrap();
    assert_eq!(
        salvaged.left_out,
        [
            "meeting_agent.resources[1]",
            // Found after the one before it went: indices are of the body as it then was.
            "meeting_agent.resources[1].url",
            "meeting_agent.sub",
            "notification.interactions[0].type",
        ]
    );
    let callback = &salvaged.callback;
    assert_eq!(callback.interactions.len(), 2);
    assert_eq!(callback.interactions[0].kind, None);
    assert_eq!(callback.agent_sub(), None);
    let resources = callback.resources();
    assert_eq!(resources.len(), 2);
    assert_eq!(
        resources[0].url.as_deref(),
        Some("https://api.cronofy.com/a")
    );
    assert_eq!(resources[1].category, Some(ResourceCategory::Video));
    assert_eq!(resources[1].url, None);
}

#[test]
fn a_list_given_as_something_else_is_left_out_whole() {
    let body = json!({"notification": {"type": "event_subscription", "interactions": "not a list"},
                      "meeting_agent": {"sub": "agt_1", "resources": {"category": "audio"}}});
    let salvaged = kept_whole(&body).salvage_event_subscription().unwrap();
    assert_eq!(
        salvaged.left_out,
        ["meeting_agent.resources", "notification.interactions"]
    );
    assert!(salvaged.callback.interactions.is_empty());
    assert_eq!(salvaged.callback.agent_sub(), Some("agt_1"));
}

/// The output of a future that is ready at once, as the in-memory guard's are.
fn now<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the in-memory guard never waits"),
    }
}

#[test]
fn a_redelivered_callback_that_drifted_is_still_a_duplicate() {
    let mut body = seed();
    body["event"]["start"] = json!({"time": "2026-04-04T15:30:00Z"});
    let notification = Notification::from_slice(body.to_string().as_bytes()).unwrap();
    assert!(matches!(notification, Notification::Other(_)));
    assert_eq!(
        notification.idempotency_key(),
        Notification::from_slice(&vectors::seed_body("complete"))
            .unwrap()
            .idempotency_key(),
        "keyed as the body it drifted from"
    );

    let deduplicator = Deduplicator::default();
    let claim = now(deduplicator.admit(&notification)).unwrap();
    assert!(claim.is_some_and(|c| c.key().is_some()));
    let again = now(deduplicator.admit(&notification)).unwrap();
    assert!(again.is_none(), "the redelivery is a duplicate");
}

#[test]
fn only_an_event_subscription_is_salvaged() {
    let mut body = seed();
    body["notification"]["type"] = json!("change");
    body["event"]["start"] = json!({"time": "2026-04-04T15:30:00Z"});
    assert_eq!(kept_whole(&body).salvage_event_subscription(), None);
}

#[test]
fn a_body_far_from_the_model_is_not_salvaged() {
    let resources: Vec<Value> = (0..40).map(|i| json!(i)).collect();
    let body = json!({"notification": {"type": "event_subscription"},
                      "meeting_agent": {"sub": "agt_1", "resources": resources}});
    // Forty resources that are not resources: left out one at a time, it would take forty.
    assert_eq!(kept_whole(&body).salvage_event_subscription(), None);
}

#[test]
fn to_event_subscription_borrows_a_match_and_salvages_the_rest() {
    use std::borrow::Cow;
    let parse = |body: &Value| Notification::from_slice(body.to_string().as_bytes()).unwrap();

    let matched = parse(&seed());
    let Some(Cow::Borrowed(callback)) = matched.to_event_subscription() else {
        panic!("a body that matched the model is lent, not salvaged");
    };
    assert_eq!(callback, &typed(&seed()));

    let mut drifted = seed();
    drifted["event"]["start"] = json!({"time": "2026-04-04T15:30:00Z"});
    let Some(Cow::Owned(callback)) = parse(&drifted).to_event_subscription() else {
        panic!("a drifted event_subscription is salvaged");
    };
    assert_eq!(callback, typed(&without(&drifted, "/event/start")));

    drifted["notification"]["type"] = json!("change");
    assert_eq!(parse(&drifted).to_event_subscription(), None);
    let resources: Vec<Value> = (0..40).map(|i| json!(i)).collect();
    let hopeless = json!({"notification": {"type": "event_subscription"},
                          "meeting_agent": {"resources": resources}});
    assert_eq!(parse(&hopeless).to_event_subscription(), None);
}

#[test]
fn into_event_subscription_owns_what_to_event_subscription_lends() {
    let parse = |body: &Value| Notification::from_slice(body.to_string().as_bytes()).unwrap();
    let mut drifted = seed();
    drifted["event"]["start"] = json!({"time": "2026-04-04T15:30:00Z"});
    let mut other = seed();
    other["notification"]["type"] = json!("change");
    for body in [seed(), drifted, other] {
        let lent = parse(&body)
            .to_event_subscription()
            .map(|cow| cow.into_owned());
        assert_eq!(parse(&body).into_event_subscription(), lent, "{body}");
        let verified = VerifiedNotification::new_unchecked(body.to_string().into_bytes()).unwrap();
        assert_eq!(verified.into_event_subscription(), lent, "{body}");
    }
    assert_eq!(
        parse(&seed()).into_event_subscription(),
        Some(typed(&seed()))
    );
}

/// `value`, an object, written as the array of its values: the form serde's derived structs
/// also accept (their fields in order), which JSON has no use for.
fn as_array_of_values(value: &Value) -> Value {
    Value::Array(value.as_object().unwrap().values().cloned().collect())
}

/// Every object the spec puts in a callback, given as an array instead: never read as that
/// object. Deep in the body, the callback is kept whole and salvaging leaves out that value
/// alone; at the top or at `notification`, there is no `notification.type`, so no notification.
#[test]
fn an_array_where_the_spec_has_an_object_is_never_read_as_that_object() {
    let body = seed();
    for pointer in ["", "/notification"] {
        let mut body = body.clone();
        let slot = body.pointer_mut(pointer).unwrap();
        *slot = as_array_of_values(slot);
        assert_eq!(
            Notification::from_slice(body.to_string().as_bytes()),
            Err(cronofy_notify_core::ParseError::NotANotification),
            "{pointer:?}"
        );
    }
    let objects = [
        (
            "/notification/interactions/0",
            "notification.interactions[0]",
        ),
        ("/event", "event"),
        ("/event/conferencing", "event.conferencing"),
        ("/event/meeting_agent", "event.meeting_agent"),
        ("/meeting_agent", "meeting_agent"),
        ("/meeting_agent/details", "meeting_agent.details"),
        (
            "/meeting_agent/details/recording",
            "meeting_agent.details.recording",
        ),
        ("/meeting_agent/resources/1", "meeting_agent.resources[1]"),
    ];
    for (pointer, path) in objects {
        let mut drifted = body.clone();
        let slot = drifted.pointer_mut(pointer).unwrap();
        *slot = as_array_of_values(slot);
        let other = kept_whole(&drifted);
        assert_eq!(
            Notification::from_value(drifted.clone()).unwrap(),
            Notification::Other(other.clone()),
            "{path}: the general parse agrees"
        );
        let salvaged = other.salvage_event_subscription().unwrap();
        assert_eq!(salvaged.left_out, [path], "{path}");
        assert_eq!(
            salvaged.callback,
            typed(&without(&drifted, pointer)),
            "{path}"
        );
    }
}

/// Places in the seed body, as a JSON pointer and as the path salvaging names.
const PLACES: &[(&str, &str)] = &[
    ("/notification/interactions", "notification.interactions"),
    (
        "/notification/interactions/0/type",
        "notification.interactions[0].type",
    ),
    ("/event", "event"),
    ("/event/event_id", "event.event_id"),
    ("/event/summary", "event.summary"),
    ("/event/start", "event.start"),
    ("/event/tzid", "event.tzid"),
    ("/event/conferencing", "event.conferencing"),
    (
        "/event/conferencing/join_url",
        "event.conferencing.join_url",
    ),
    (
        "/event/meeting_agent/profile_id",
        "event.meeting_agent.profile_id",
    ),
    ("/meeting_agent", "meeting_agent"),
    ("/meeting_agent/sub", "meeting_agent.sub"),
    ("/meeting_agent/state", "meeting_agent.state"),
    ("/meeting_agent/details", "meeting_agent.details"),
    (
        "/meeting_agent/details/recording/duration_seconds",
        "meeting_agent.details.recording.duration_seconds",
    ),
    ("/meeting_agent/resources", "meeting_agent.resources"),
    ("/meeting_agent/resources/1", "meeting_agent.resources[1]"),
    (
        "/meeting_agent/resources/2/url",
        "meeting_agent.resources[2].url",
    ),
    (
        "/meeting_agent/resources/3/category",
        "meeting_agent.resources[3].category",
    ),
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any scalar anywhere in a completed meeting's body: it fits the model and the body is
    /// typed, or it does not and salvaging leaves out exactly that value, giving what the body
    /// without it would have been.
    #[test]
    fn any_scalar_in_place_of_any_value_is_typed_or_left_out_alone(
        place in proptest::sample::select(PLACES),
        value in scalar(),
    ) {
        let (pointer, path) = place;
        let mut body = seed();
        *body.pointer_mut(pointer).unwrap() = value;
        match Notification::from_slice(body.to_string().as_bytes()).unwrap() {
            Notification::EventSubscription(_) => {}
            Notification::Other(other) => {
                let salvaged = other.salvage_event_subscription().unwrap();
                prop_assert_eq!(&salvaged.left_out, &[path.to_owned()]);
                prop_assert_eq!(salvaged.callback, typed(&without(&body, pointer)));
            }
            other => prop_assert!(false, "not a notification variant this test knows: {other:?}"),
        }
    }
}
