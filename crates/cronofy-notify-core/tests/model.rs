//! The typed model: each seed body parses into exactly the documented values; unknown types,
//! values and shapes are kept, never a failure; only non-JSON and notification-less JSON fail.

use std::time::Duration;

use cronofy_notify_core::{
    AgentState, FailureReason, InteractionType, Notification, NotificationType, ParseError,
    ResourceCategory, ResourceType, Transcript, TranscriptError,
};
use cronofy_notify_test_support::vectors;
use serde_json::{Value, json};

fn parse_seed(which: &str) -> Notification {
    Notification::from_slice(&vectors::seed_body(which)).expect("seed bodies parse")
}

#[test]
fn activated_seed_parses_into_the_documented_values() {
    let notification = parse_seed("activated");
    assert_eq!(
        notification.notification_type(),
        &NotificationType::EventSubscription
    );
    let callback = notification.as_event_subscription().unwrap();

    assert_eq!(callback.interactions.len(), 1);
    assert_eq!(
        callback.interactions[0].kind,
        Some(InteractionType::MeetingAgentActivated)
    );
    assert_eq!(callback.interactions[0].subtype, None);

    let event = callback.event.as_ref().unwrap();
    assert_eq!(event.event_id.as_deref(), Some("qTtZdczOccgaPncGJaCiLg"));
    assert_eq!(event.summary.as_deref(), Some("Meeting agent enhanced"));
    assert_eq!(event.start.as_deref(), Some("2026-04-04T15:30:00Z"));
    assert_eq!(event.end.as_deref(), Some("2026-04-04T17:00:00Z"));
    assert_eq!(event.tzid.as_deref(), Some("Europe/Berlin"));
    let conferencing = event.conferencing.as_ref().unwrap();
    assert_eq!(conferencing.provider_name.as_deref(), Some("zoom"));
    assert_eq!(
        conferencing.join_url.as_deref(),
        Some("https://zoom.us/00001111-222")
    );
    assert_eq!(
        event.meeting_agent.as_ref().unwrap().profile_id.as_deref(),
        Some("cronofy")
    );

    let agent = callback.meeting_agent.as_ref().unwrap();
    assert_eq!(agent.sub.as_deref(), Some("agt_692702a100ccd07000000000"));
    assert_eq!(agent.state, Some(AgentState::Created));
    assert_eq!(agent.details, None);
    assert_eq!(agent.resources.len(), 1);
    assert_eq!(agent.resources[0].category, Some(ResourceCategory::Cronofy));
    assert_eq!(agent.resources[0].kind, Some(ResourceType::Dashboard));
    assert_eq!(agent.resources[0].url.as_deref(), Some("https://..."));

    assert!(!callback.resources_ready());
    assert_eq!(callback.downloadable_resources().count(), 0);
    assert!(!callback.is_failed());
    assert_eq!(
        notification.idempotency_key().as_deref(),
        Some("agt_692702a100ccd07000000000/meeting_agent_activated")
    );
}

#[test]
fn complete_seed_parses_into_the_documented_values() {
    let notification = parse_seed("complete");
    let callback = notification.as_event_subscription().unwrap();
    assert_eq!(
        callback.interactions[0].kind,
        Some(InteractionType::MeetingAgentComplete)
    );

    let agent = notification.meeting_agent().unwrap();
    assert_eq!(agent.state, Some(AgentState::Complete));
    let recording = agent.details.as_ref().unwrap().recording.as_ref().unwrap();
    assert_eq!(
        recording.duration_seconds.as_ref().unwrap().as_u64(),
        Some(1620)
    );
    assert_eq!(recording.duration(), Some(Duration::from_secs(1620)));

    let kinds: Vec<_> = agent
        .resources
        .iter()
        .map(|r| (r.category.clone().unwrap(), r.kind.clone().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ResourceCategory::Cronofy, ResourceType::Dashboard),
            (ResourceCategory::Transcript, ResourceType::Cronofy),
            (ResourceCategory::Audio, ResourceType::Voice),
            (ResourceCategory::Video, ResourceType::Conference),
        ]
    );

    assert!(callback.resources_ready());
    let downloadable: Vec<_> = callback
        .downloadable_resources()
        .map(|r| r.category.clone())
        .collect();
    assert_eq!(downloadable, ResourceCategory::DOWNLOADABLE);
    assert_eq!(callback.failure_reason(), None);
}

#[test]
fn failed_seed_parses_with_its_reason() {
    let notification = parse_seed("failed");
    let callback = notification.as_event_subscription().unwrap();
    assert_eq!(
        callback.interactions[0].kind,
        Some(InteractionType::MeetingAgentFailed)
    );
    assert!(callback.is_failed());
    assert_eq!(
        callback.failure_reason(),
        Some(&FailureReason::MeetingAgentRejected)
    );
    assert!(!callback.failure_reason().unwrap().is_transient());
    assert_eq!(
        callback.meeting_agent.as_ref().unwrap().state,
        Some(AgentState::Complete)
    );
    assert!(!callback.resources_ready());
}

#[test]
fn serialising_a_seed_gives_back_the_same_json() {
    for which in ["activated", "complete", "failed"] {
        let body = vectors::seed_body(which);
        let original: Value = serde_json::from_slice(&body).unwrap();
        let written = serde_json::to_value(parse_seed(which)).unwrap();
        assert_eq!(written, original, "{which}");
    }
}

#[test]
fn unknown_enum_values_are_kept_and_written_back() {
    let body = json!({
        "notification": {"type": "event_subscription",
            "interactions": [{"type": "meeting_agent_paused", "subtype": "coffee_break"},
                             {"type": "meeting_agent_failed", "subtype": "bot_was_eaten"}]},
        "meeting_agent": {"sub": "agt_1", "state": "hibernating",
            "resources": [{"category": "slides", "type": "pdf", "url": "https://x/slides"}]}
    });
    let notification = Notification::from_slice(body.to_string().as_bytes()).unwrap();
    let callback = notification.as_event_subscription().unwrap();
    assert_eq!(
        callback.interactions[0].kind,
        Some(InteractionType::Unknown("meeting_agent_paused".into()))
    );
    assert_eq!(
        callback.failure_reason(),
        Some(&FailureReason::Unknown("bot_was_eaten".into()))
    );
    assert!(callback.failure_reason().unwrap().is_transient());
    assert_eq!(
        callback.meeting_agent.as_ref().unwrap().state,
        Some(AgentState::Unknown("hibernating".into()))
    );
    // An unknown category is not fetched by default.
    assert_eq!(callback.downloadable_resources().count(), 0);
    assert_eq!(serde_json::to_value(&notification).unwrap(), body);
}

#[test]
fn unknown_fields_are_ignored() {
    let body = json!({
        "notification": {"type": "event_subscription", "interactions": [{"type": "meeting_agent_complete", "extra": 1}], "new": true},
        "meeting_agent": {"sub": "agt_1", "future": {"deep": [1, 2]}},
        "something_else": "x"
    });
    let notification = Notification::from_slice(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        notification.as_event_subscription().unwrap().agent_sub(),
        Some("agt_1")
    );
}

#[test]
fn resources_are_ready_only_on_completion_with_something_to_fetch() {
    let ready = |interaction: &str, category: &str| {
        let body = format!(
            r#"{{"notification":{{"type":"event_subscription",
                 "interactions":[{{"type":"{interaction}"}}]}},
               "meeting_agent":{{"sub":"agt_1","resources":[
                 {{"category":"{category}","type":"x","url":"https://api.cronofy.com/r"}}]}}}}"#
        );
        let notification = Notification::from_slice(body.as_bytes()).unwrap();
        notification
            .as_event_subscription()
            .unwrap()
            .resources_ready()
    };
    assert!(ready("meeting_agent_complete", "transcript"));
    assert!(
        !ready("meeting_agent_complete", "cronofy"),
        "a dashboard only"
    );
    assert!(
        !ready("meeting_agent_activated", "transcript"),
        "not complete"
    );
}

#[test]
fn the_idempotency_key_names_every_interaction_in_order() {
    let notification = Notification::from_slice(
        br#"{"notification":{"type":"event_subscription","interactions":[
              {"type":"meeting_agent_complete"},{"type":"meeting_agent_failed"}]},
            "meeting_agent":{"sub":"agt_1"}}"#,
    )
    .unwrap();
    assert_eq!(
        notification.idempotency_key().as_deref(),
        Some("agt_1/meeting_agent_complete+meeting_agent_failed")
    );
}

/// A blank `sub` names no agent: two such callbacks from different meetings must not be taken
/// for one another, nor share a folder.
#[test]
fn a_blank_agent_sub_is_no_agent() {
    for sub in ["", "  ", "\t"] {
        let body = json!({"notification": {"type": "event_subscription",
                            "interactions": [{"type": "meeting_agent_complete"}]},
                          "meeting_agent": {"sub": sub}});
        let notification = Notification::from_slice(body.to_string().as_bytes()).unwrap();
        let callback = notification.as_event_subscription().unwrap();
        assert_eq!(callback.agent_sub(), None, "{sub:?}");
        assert_eq!(notification.idempotency_key(), None, "{sub:?}");
        assert_eq!(
            callback.meeting_agent.as_ref().unwrap().sub.as_deref(),
            Some(sub),
            "the field keeps what was sent"
        );
    }
}

#[test]
fn the_enums_say_what_they_expected_of_a_value_of_the_wrong_type() {
    let error = serde_json::from_str::<FailureReason>("3").unwrap_err();
    assert!(error.to_string().contains("expected a string"), "{error}");
}

#[test]
fn every_field_but_the_type_may_be_absent_or_null() {
    for body in [
        r#"{"notification":{"type":"event_subscription"}}"#,
        r#"{"notification":{"type":"event_subscription","interactions":null},"event":null,"meeting_agent":null}"#,
        r#"{"notification":{"type":"event_subscription","interactions":[{}]},"meeting_agent":{"resources":null}}"#,
    ] {
        let notification = Notification::from_slice(body.as_bytes()).unwrap();
        let callback = notification.as_event_subscription().expect(body);
        assert!(!callback.resources_ready());
        assert_eq!(callback.agent_sub(), None);
        assert_eq!(notification.idempotency_key(), None);
    }
}

#[test]
fn an_event_subscription_of_unexpected_shape_is_kept_whole() {
    let body = json!({"notification": {"type": "event_subscription", "interactions": "not a list"},
                      "meeting_agent": {"sub": 42}});
    let notification = Notification::from_slice(body.to_string().as_bytes()).unwrap();
    let Notification::Other(other) = &notification else {
        panic!("expected the general form, got {notification:?}");
    };
    assert_eq!(other.notification_type, NotificationType::EventSubscription);
    assert_eq!(other.json, body);
    assert_eq!(serde_json::to_value(&notification).unwrap(), body);
}

#[test]
fn a_struct_given_as_a_long_array_is_still_a_notification() {
    // serde_json calls this mismatch a syntax error; the body is valid JSON all the same.
    let body = br#"{"event":["",null,null,null,null,null,null,null,null],"notification":{"type":"event_subscription"}}"#;
    let notification = Notification::from_slice(body).unwrap();
    assert!(
        matches!(notification, Notification::Other(_)),
        "{notification:?}"
    );
}

/// Found by the `notification` fuzz target: an integer too large for u64 became an f64 whose
/// decimal form, written back and read again, was a different f64. Parsing floats exactly
/// (serde_json's `float_roundtrip`) makes the round trip stable.
#[test]
fn a_huge_number_survives_a_write_and_read_unchanged() {
    let body = b"{\n  \"notification\": {\n    \"type\": \"even't_subscripti,n\",\n    \"intearoctins\": [\n      \t\t\t\t\t\t\t\t\t\t4444444444444444444444444444444444\t\t\t   ]\n  }\n}\n\n";
    let notification = Notification::from_slice(body).unwrap();
    let written = serde_json::to_vec(&notification).unwrap();
    assert_eq!(Notification::from_slice(&written).unwrap(), notification);
    for number in [
        "1e308",
        "0.1",
        "123456789012345678901234567890",
        "-2.2250738585072014e-308",
        "9007199254740993",
    ] {
        let body = format!(r#"{{"notification":{{"type":"x"}},"n":{number}}}"#);
        let once = Notification::from_slice(body.as_bytes()).unwrap();
        let again = Notification::from_slice(&serde_json::to_vec(&once).unwrap()).unwrap();
        assert_eq!(again, once, "{number}");
    }
}

#[test]
fn other_cronofy_notification_types_parse_into_the_general_form() {
    let bodies = [
        (
            NotificationType::Change,
            json!({"notification": {"type": "change", "changes_since": "2026-01-01T00:00:00Z"}, "channel": {"channel_id": "chn_1", "callback_url": "https://x", "filters": {}}}),
        ),
        (
            NotificationType::Verification,
            json!({"notification": {"type": "verification"}, "channel": {"channel_id": "chn_1"}}),
        ),
        (
            NotificationType::ProfileDisconnected,
            json!({"notification": {"type": "profile_disconnected"}, "channel": {"channel_id": "chn_1"}}),
        ),
        (
            NotificationType::SmartInvite,
            json!({"notification": {"type": "smart_invite"}, "smart_invite": {"recipient": {"status": "accepted"}}}),
        ),
        (
            NotificationType::SchedulingRequestTimeChosen,
            json!({"notification": {"type": "scheduling_request_time_chosen"}, "scheduling_request": {}}),
        ),
        (
            NotificationType::Unknown("brand_new".into()),
            json!({"notification": {"type": "brand_new"}, "payload": [1, 2, 3]}),
        ),
    ];
    for (kind, body) in bodies {
        let notification = Notification::from_slice(body.to_string().as_bytes()).unwrap();
        assert_eq!(notification.notification_type(), &kind);
        let Notification::Other(other) = &notification else {
            panic!("{kind}: {notification:?}")
        };
        assert_eq!(other.json, body, "{kind}");
        assert!(notification.as_event_subscription().is_none());
    }
}

#[test]
fn bodies_that_are_not_json_give_a_typed_error_with_position() {
    assert_eq!(
        Notification::from_slice(b""),
        Err(ParseError::NotJson {
            reason: "unexpected end of input",
            line: 1,
            column: 0
        })
    );
    assert_eq!(
        Notification::from_slice(b"{\n  \"notification\": nope}"),
        Err(ParseError::NotJson {
            reason: "expected `true`, `false` or `null`",
            line: 2,
            column: 20
        })
    );
    // A syntax error after a shape error is still reported as not JSON.
    assert!(matches!(
        Notification::from_slice(br#"{"notification": 5, oops"#),
        Err(ParseError::NotJson { .. })
    ));
    assert!(matches!(
        Notification::from_slice(&vectors::read("bodies/meeting_agent_complete.json")[..40]),
        Err(ParseError::NotJson {
            reason: "unexpected end of input",
            ..
        })
    ));
}

/// Each way bytes stop being JSON is named, at the place it happens, for a callback and a
/// transcript alike (and never by quoting the body).
#[test]
fn bodies_that_are_not_json_say_what_was_met_and_where() {
    let cases: &[(&[u8], &str, usize)] = &[
        (br#"{"notification" 1}"#, "expected `:`", 17),
        (br#"{"notification": [1 2]}"#, "expected `,` or `]`", 21),
        (br#"{"notification": {} "x": 1}"#, "expected `,` or `}`", 21),
        (
            br#"{"notification": nope}"#,
            "expected `true`, `false` or `null`",
            19,
        ),
        (br#"{"notification": ]}"#, "expected a JSON value", 18),
        (
            br#"{"notification": "\q"}"#,
            "invalid escape in a string",
            20,
        ),
        (br#"{"notification": 01}"#, "invalid number", 19),
        (br#"{"notification": 1e400}"#, "number out of range", 22),
        (
            b"{\"notification\": \"\xff\"}",
            "invalid unicode code point",
            19,
        ),
        (
            b"{\"notification\": \"a\x01\"}",
            "control character in a string",
            20,
        ),
        (
            br#"{"notification": {1: 2}}"#,
            "object key is not a string",
            19,
        ),
        (
            br#"{"notification": "\udc00"}"#,
            "unpaired surrogate in a \\u escape",
            24,
        ),
        (
            br#"{"notification": "\ud800"}"#,
            "unpaired surrogate in a \\u escape",
            25,
        ),
        (br#"{"notification": [1,]}"#, "trailing comma", 21),
        (
            br#"{"notification": {}} x"#,
            "more after the JSON value",
            22,
        ),
        (
            br#"{"notification": "\u12x"}"#,
            "invalid escape in a string",
            24,
        ),
    ];
    for &(body, reason, column) in cases {
        let shown = String::from_utf8_lossy(body);
        let expected = ParseError::NotJson {
            reason,
            line: 1,
            column,
        };
        assert_eq!(Notification::from_slice(body), Err(expected), "{shown}");
        // A transcript reports the same, even where its typed parse met a shape error first
        // (`notification` is not a transcript field, but `transcript` as a number is).
        let transcript = [br#"{"transcript": 5, "#.as_slice(), &body[1..]].concat();
        let expected = TranscriptError::NotJson {
            reason,
            line: 1,
            column: column + 17,
        };
        assert_eq!(
            Transcript::from_slice(&transcript),
            Err(expected),
            "{shown}"
        );
    }
}

#[test]
fn json_nested_past_the_depth_guard_is_called_too_deep_not_unparseable() {
    let deep = |depth: usize| {
        format!(
            r#"{{"notification":{{"type":"change"}},"x":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // Kept whole (an `Other` notification): past 128 levels the guard refuses it, and says so.
    assert_eq!(
        Notification::from_slice(deep(200).as_bytes()),
        Err(ParseError::TooDeep {
            line: 1,
            column: 165
        })
    );
    assert!(Notification::from_slice(deep(100).as_bytes()).is_ok());
    // Unbalanced and deep: the guard still speaks first, before the missing brackets.
    assert!(matches!(
        Notification::from_slice(&b"[".repeat(10_000)),
        Err(ParseError::TooDeep { .. })
    ));
}

/// Found by the `notification` fuzz target: a number past f64's range (`1e400`) is JSON by its
/// grammar, but no `serde_json::Value` holds it. In a field the model does not read, it costs a
/// Meeting Agent callback nothing: the typed parse skips the field unread. A body kept whole
/// (another type) cannot hold it, and its refusal says why and where.
#[test]
fn a_number_past_f64_costs_a_callback_nothing_where_the_model_does_not_read_it() {
    let mut seed: Value = serde_json::from_slice(&vectors::seed_body("complete")).unwrap();
    seed["x"] = json!("HUGE");
    let huge = seed.to_string().replace(r#""HUGE""#, "1e400");
    let parsed = Notification::from_slice(huge.as_bytes()).unwrap();
    let typed = Notification::from_slice(&vectors::seed_body("complete")).unwrap();
    assert_eq!(
        parsed, typed,
        "the same callback, the unknown field skipped"
    );

    let other = r#"{"notification":{"type":"change"},"x":1e400}"#;
    assert_eq!(
        Notification::from_slice(other.as_bytes()),
        Err(ParseError::NotJson {
            reason: "number out of range",
            line: 1,
            column: 43
        })
    );
}

#[test]
fn json_without_a_notification_type_is_not_a_notification() {
    for body in [
        &b"[]"[..],
        b"42",
        b"\"text\"",
        b"null",
        b"{}",
        br#"{"notification":{}}"#,
        br#"{"notification":{"type":7}}"#,
        br#"{"notification":"event_subscription"}"#,
        &vectors::read("bodies/well-known.json"),
    ] {
        assert_eq!(
            Notification::from_slice(body),
            Err(ParseError::NotANotification),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn error_messages_say_what_happened_without_echoing_the_body() {
    let error = Notification::from_slice(b"{\"secret\": oops}").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("not JSON") && message.contains("line 1"),
        "{message}"
    );
    assert!(
        !message.contains("oops") && !message.contains("secret"),
        "{message}"
    );
}

#[test]
fn notification_deserializes_through_serde_too() {
    let notification: Notification =
        serde_json::from_slice(&vectors::seed_body("complete")).unwrap();
    assert_eq!(notification, parse_seed("complete"));
    assert!(serde_json::from_str::<Notification>("{}").is_err());
}

#[test]
fn a_notification_displays_as_one_line_for_logs() {
    let agent = "agt_692702a100ccd07000000000";
    assert_eq!(
        parse_seed("activated").to_string(),
        format!("meeting_agent_activated for {agent}"),
        "the dashboard is not a resource to fetch"
    );
    assert_eq!(
        parse_seed("complete").to_string(),
        format!("meeting_agent_complete for {agent}, resources: transcript, audio, video")
    );
    assert_eq!(
        parse_seed("failed").to_string(),
        format!("meeting_agent_failed for {agent}, failed: meeting_agent_rejected")
    );
    let odd = |json: Value| Notification::from_slice(json.to_string().as_bytes()).unwrap();
    assert_eq!(
        odd(json!({"notification": {"type": "change"}})).to_string(),
        "change notification"
    );
    assert_eq!(
        odd(json!({"notification": {"type": "event_subscription"}})).to_string(),
        "event_subscription for (no meeting agent)"
    );
    // A conferencing callback is about an event, which names it when no agent does.
    assert_eq!(
        odd(
            json!({"notification": {"type": "event_subscription", "interactions": [
            {"type": "conferencing_assigned"}]},
            "event": {"event_id": "evt_1", "summary": "Weekly"}})
        )
        .to_string(),
        "conferencing_assigned for event evt_1"
    );
    assert_eq!(
        odd(
            json!({"notification": {"type": "event_subscription", "interactions": [
            {"type": "meeting_agent_activated"}, {"type": "agent_moved_to_mars"}, {}]},
            "meeting_agent": {"sub": "agt_2"}})
        )
        .to_string(),
        "meeting_agent_activated+agent_moved_to_mars+(no type) for agt_2"
    );
    // A callback kept whole for values of unexpected types reads as what salvaging it gives,
    // and says what was left out.
    assert_eq!(
        odd(json!({"notification": {"type": "event_subscription", "interactions": [
            {"type": "meeting_agent_complete"}]},
            "event": {"start": {"time": "2026-11-30T09:00:00Z"}},
            "meeting_agent": {"sub": "agt_4", "details": {"recording": {"duration_seconds": "61"}},
                "resources": [{"category": "transcript", "type": "cronofy", "url": "https://x/t"}]}}))
        .to_string(),
        "meeting_agent_complete for agt_4, resources: transcript \
         (left out: event.start, meeting_agent.details.recording.duration_seconds)"
    );
    // Its JSON is public: changed to match the model, nothing is left out, and nothing is said.
    let Notification::Other(mut other) =
        odd(json!({"notification": {"type": "event_subscription"},
        "meeting_agent": {"sub": "agt_6", "state": 1}}))
    else {
        panic!("a state that is not a string is kept whole");
    };
    other.json["meeting_agent"]["state"] = json!("complete");
    assert_eq!(
        Notification::Other(other).to_string(),
        "event_subscription for agt_6"
    );
    // Always one line: a body's text cannot forge a second line in a log.
    let forged = odd(
        json!({"notification": {"type": "event_subscription", "interactions": [
            {"type": "meeting_agent_failed", "subtype": "x\nERROR forged"}]},
            "meeting_agent": {"sub": "agt_3\r\n2026-11-30 INFO all good"}}),
    );
    assert_eq!(
        forged.to_string(),
        "meeting_agent_failed for agt_3\\r\\n2026-11-30 INFO all good, failed: x\\nERROR forged"
    );
    assert_eq!(
        odd(json!({"notification": {"type": "event_subscription"},
            "meeting_agent": {"sub": "agt_5", "state": ["odd"]}, "event": {"end": 7}}))
        .to_string(),
        "event_subscription for agt_5 (left out: event.end, meeting_agent.state)"
    );
    assert_eq!(
        odd(json!({"notification": {"type": "odd\u{7}type"}})).to_string(),
        "odd\\u{7}type notification"
    );
    // The verified form reads the same.
    let verified =
        cronofy_notify_core::VerifiedNotification::new_unchecked(vectors::seed_body("failed"))
            .unwrap();
    assert_eq!(verified.to_string(), parse_seed("failed").to_string());
}
