//! Parsing any bytes as a notification never panics, refuses as "not JSON" (or "too deep")
//! exactly what serde_json refuses as such, at the same place, agrees with the general parse
//! (`from_value`) on whatever JSON serde_json reads, and what parses writes back to
//! JSON that parses to the same notification. A body kept whole that salvaging makes typed
//! writes back to JSON that parses typed, to the same callback, and is what
//! `to_event_subscription` gives.
#![no_main]

use cronofy_notify_core::{Notification, ParseError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let parsed = Notification::from_slice(body);
    match (serde_json::from_slice::<serde_json::Value>(body), &parsed) {
        (Err(json), Err(ParseError::NotJson { line, column, .. })) => {
            assert!(
                !json.to_string().starts_with("recursion limit exceeded"),
                "too deep, called not JSON"
            );
            assert_eq!(
                (*line, *column),
                (json.line(), json.column()),
                "not JSON, elsewhere"
            );
        }
        (Err(json), Err(ParseError::TooDeep { line, column })) => {
            assert!(
                json.to_string().starts_with("recursion limit exceeded"),
                "called too deep: {json}"
            );
            assert_eq!(
                (*line, *column),
                (json.line(), json.column()),
                "too deep, elsewhere"
            );
        }
        // serde_json's `Value` refuses nesting deeper than 128, and a number past f64's range
        // (`1e400`); the typed parse skips fields it does not model without building them, so
        // it may accept such a body. Either is safe.
        (Err(json), Ok(_))
            if ["recursion limit exceeded", "number out of range"]
                .iter()
                .any(|refusal| json.to_string().starts_with(refusal)) => {}
        (Err(_), other) => panic!("serde_json refuses the bytes, from_slice gave {other:?}"),
        (Ok(_), Err(ParseError::NotJson { .. })) => panic!("JSON called not JSON"),
        // The typed fast path and the general one agree on any JSON.
        (Ok(json), parsed) => assert_eq!(
            &Notification::from_value(json),
            parsed,
            "from_slice and from_value disagree"
        ),
    }
    let Ok(notification) = parsed else {
        return;
    };
    let _ = notification.idempotency_key();
    // The log line is one line, whatever the body: a sub or a reason cannot forge another.
    let line = notification.to_string();
    assert!(!line.contains(char::is_control), "{line:?}");
    if let Some(callback) = notification.as_event_subscription() {
        let _ = (
            callback.resources_ready(),
            callback.failure_reason(),
            callback.downloadable_resources().count(),
        );
    }
    if let Notification::Other(other) = &notification
        && let Some(salvaged) = other.salvage_event_subscription()
    {
        let typed = Notification::EventSubscription(salvaged.callback);
        let written = serde_json::to_vec(&typed).expect("a notification always serialises");
        let again = Notification::from_slice(&written).expect("what we write parses");
        assert_eq!(
            again, typed,
            "a salvaged callback is not what its JSON parses to"
        );
    }
    // `to_event_subscription` lends the typed callback, or gives what salvaging gives.
    let lenient = notification.to_event_subscription();
    if let Notification::EventSubscription(callback) = &notification {
        assert_eq!(
            lenient.as_deref(),
            Some(callback),
            "a typed callback, not lent"
        );
    } else if let Notification::Other(other) = &notification {
        let salvaged = other.salvage_event_subscription().map(|s| s.callback);
        assert_eq!(lenient.map(std::borrow::Cow::into_owned), salvaged);
    }
    let written = serde_json::to_vec(&notification).expect("a notification always serialises");
    let again = Notification::from_slice(&written).expect("what we write parses");
    assert_eq!(again, notification, "a round trip changed the notification");
});
