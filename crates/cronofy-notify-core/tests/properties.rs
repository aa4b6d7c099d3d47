//! Properties over any body and secret: signing then verifying holds, any single flipped bit is
//! refused, no input makes parsing panic, "not JSON" means what serde_json means by it, a
//! transcript's salvage reads whatever its typed parse would not, and its captions are timed
//! as players need.

use cronofy_notify_core::{
    ClientSecret, Notification, ParseError, SignatureError, Signer, Transcript, TranscriptError,
    Verifier,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn secret() -> impl Strategy<Value = String> {
    // Any secret that is not blank, has no white space around it and is not wrapped in quotes
    // (all three are refused at construction).
    "[ -~]{0,80}".prop_filter("not blank, not padded, not quoted", |s| {
        !s.is_empty() && s.trim() == s && !ClientSecret::from(s.as_str()).is_quoted()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sign_then_verify_holds(body in proptest::collection::vec(any::<u8>(), 0..2048), secret in secret()) {
        let header = Signer::new([&secret]).unwrap().sign(&body);
        prop_assert_eq!(Verifier::new([&secret]).unwrap().verify(&header, &body), Ok(()));
    }

    #[test]
    fn any_of_several_secrets_verifies_a_rotation_header(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        old in secret(),
        new in secret(),
    ) {
        let header = Signer::new([&old, &new]).unwrap().sign(&body);
        prop_assert_eq!(Verifier::new([&new]).unwrap().verify(&header, &body), Ok(()));
        prop_assert_eq!(Verifier::new([&old]).unwrap().verify(&header, &body), Ok(()));
    }

    #[test]
    fn flipping_any_bit_of_the_body_is_refused(
        body in proptest::collection::vec(any::<u8>(), 1..1024),
        secret in secret(),
        bit in any::<prop::sample::Index>(),
    ) {
        let header = Signer::new([&secret]).unwrap().sign(&body);
        let mut tampered = body.clone();
        let bit = bit.index(body.len() * 8);
        tampered[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(
            Verifier::new([&secret]).unwrap().verify(&header, &tampered),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn flipping_any_bit_of_the_signature_is_refused(
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        secret in secret(),
        bit in any::<prop::sample::Index>(),
    ) {
        let header = Signer::new([&secret]).unwrap().sign(&body);
        let mut tampered = header.clone().into_bytes();
        let bit = bit.index(tampered.len() * 8);
        tampered[bit / 8] ^= 1 << (bit % 8);
        // The flipped header may no longer be text, base64 or a digest: all must be refused.
        prop_assert!(Verifier::new([&secret]).unwrap().verify(&tampered, &body).is_err());
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = Notification::from_slice(&body);
    }

    #[test]
    fn verifying_arbitrary_headers_never_panics(
        header in proptest::collection::vec(any::<u8>(), 0..256),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = Verifier::new(["s"]).unwrap().verify(&header, &body);
    }

    #[test]
    fn any_json_with_a_type_is_a_notification(json in arb_json(), kind in "[a-z_]{1,20}") {
        let mut body = serde_json::Map::new();
        body.insert("notification".into(), serde_json::json!({"type": kind, "interactions": json.clone()}));
        body.insert("meeting_agent".into(), json.clone());
        body.insert("event".into(), json);
        let body = serde_json::Value::Object(body);
        let parsed = Notification::from_slice(body.to_string().as_bytes());
        prop_assert!(parsed.is_ok(), "{:?}", parsed);
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.notification_type().as_str(), kind.as_str());
    }

    /// One byte of the seed body replaced (often by one that is not UTF-8), or the body cut
    /// short: never a panic, and "not JSON" exactly when serde_json, reading the same bytes as a
    /// slice, says so, at the same place.
    #[test]
    fn mutated_seed_bodies_are_judged_as_serde_json_judges_them(
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut body = cronofy_notify_test_support::vectors::seed_body("complete");
        let at = cut.index(body.len());
        body[at] = byte;
        for body in [&body[..], &body[..at]] {
            let ours = Notification::from_slice(body);
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(_) => prop_assert!(
                    !matches!(ours, Err(ParseError::NotJson { .. })),
                    "{:?}", ours
                ),
                Err(error) => {
                    let (Err(ParseError::NotJson { line, column, .. })
                    | Err(ParseError::TooDeep { line, column })) = ours else {
                        return Err(TestCaseError::fail(format!("{ours:?} for bytes that are not JSON")));
                    };
                    prop_assert_eq!((line, column), (error.line(), error.column()));
                }
            }
        }
    }

    /// The typed parse (the fast path, straight from the text) and the general one (from a
    /// `Value`) give the same answer for any JSON, including JSON shaped nearly like a callback
    /// with arrays, or anything else, where the model has objects.
    #[test]
    fn the_typed_and_the_general_parse_agree(json in callback_ish()) {
        let text = json.to_string();
        prop_assert_eq!(
            Notification::from_slice(text.as_bytes()),
            Notification::from_value(json),
            "{}", text
        );
    }

    /// Salvage reads any object shaped nearly like a transcript: what the typed parse reads,
    /// the same, with nothing left out; anything else with the typed parse's first misfit
    /// among those left out.
    #[test]
    fn salvage_reads_what_the_typed_parse_would_not(json in transcript_ish()) {
        let text = json.to_string();
        let salvaged = Transcript::salvage(text.as_bytes());
        prop_assert!(salvaged.is_ok(), "{:?}: {}", salvaged, text);
        let salvaged = salvaged.unwrap();
        match Transcript::from_slice(text.as_bytes()) {
            Ok(transcript) => {
                prop_assert_eq!(salvaged.transcript, transcript);
                prop_assert!(salvaged.left_out.is_empty(), "{:?}", salvaged.left_out);
            }
            Err(TranscriptError::UnexpectedShape { path, .. }) => {
                prop_assert!(salvaged.left_out.contains(&path), "{} not in {:?}: {}", path, salvaged.left_out, text);
            }
            Err(error) => prop_assert!(false, "{}: {}", error, text),
        }
    }

    /// Whatever the transcript holds, its WebVTT cues are in the order of their starts and each
    /// ends after it starts (so that a player shows it), and SRT has the same cues.
    #[test]
    fn captions_are_in_time_order_and_every_cue_is_shown(json in transcript_ish()) {
        let text = json.to_string();
        let transcript = Transcript::salvage(text.as_bytes()).unwrap().transcript;
        let timings = |captions: &str, separator: char| -> Vec<(u64, u64)> {
            captions
                .lines()
                .filter_map(|line| line.split_once(" --> "))
                .filter_map(|(start, end)| Some((millis(start, separator)?, millis(end, separator)?)))
                .collect()
        };
        let cues = timings(&transcript.to_webvtt(), '.');
        for (index, &(start, end)) in cues.iter().enumerate() {
            prop_assert!(end > start, "cue {}: {:?} in {}", index, cues, text);
            if let Some(&(next, _)) = cues.get(index + 1) {
                prop_assert!(next >= start, "cue {}: {:?} in {}", index, cues, text);
            }
        }
        prop_assert_eq!(timings(&transcript.to_srt(), ','), cues);
    }
}

/// `hh:mm:ss<separator>mmm` in milliseconds; `None` for anything else (an SRT cue's text may
/// hold ` --> `: SRT has no escapes).
fn millis(clock: &str, separator: char) -> Option<u64> {
    let (time, millis) = clock.split_once(separator)?;
    let mut seconds = 0;
    for part in time.split(':') {
        seconds = seconds * 60 + part.parse::<u64>().ok()?;
    }
    Some(seconds * 1000 + millis.parse::<u64>().ok()?)
}

/// A transcript's shape, each place the model reads holding what it expects or any JSON at all.
fn transcript_ish() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    fn or_any(expected: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
        prop_oneof![4 => expected, 1 => arb_json()].boxed()
    }
    let time = || or_any(any::<u16>().prop_map(|centis| json!(f64::from(centis) / 100.0)));
    let text = || or_any("[a-z ]{0,8}".prop_map(Value::from));
    let list = |element: BoxedStrategy<Value>| {
        or_any(prop::collection::vec(element, 0..4).prop_map(Value::Array))
    };
    let sentence = or_any(
        (text(), time(), time()).prop_map(|(t, s, e)| json!({"text": t, "start": s, "end": e})),
    );
    let speaker = or_any((text(), text()).prop_map(|(i, n)| json!({"identifier": i, "name": n})));
    let paragraph = or_any(
        (speaker, time(), time(), list(sentence))
            .prop_map(|(p, s, e, l)| json!({"speaker": p, "start": s, "end": e, "sentences": l})),
    );
    let body =
        or_any((text(), list(paragraph)).prop_map(|(s, p)| json!({"summary": s, "paragraphs": p})));
    let agent = or_any(text().prop_map(|sub| json!({"sub": sub})));
    (agent, body).prop_map(|(a, b)| json!({"meeting_agent": a, "transcript": b}))
}

/// A callback's shape, each place the model reads holding what it expects, any JSON at all, or
/// the object it expects written as the array of its values in the model's field order (which
/// serde's derived structs would accept).
fn callback_ish() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    type Fields = Vec<(&'static str, Value)>;
    fn slot(fields: impl Strategy<Value = Fields> + 'static) -> BoxedStrategy<Value> {
        fields
            .prop_flat_map(|fields| {
                let object = Value::Object(
                    fields
                        .iter()
                        .map(|(k, v)| ((*k).into(), v.clone()))
                        .collect(),
                );
                let array = Value::Array(fields.into_iter().map(|(_, v)| v).collect());
                prop_oneof![3 => Just(object), 1 => arb_json(), 2 => Just(array)]
            })
            .boxed()
    }
    let resource = slot(
        ("[a-z]{1,10}", "[a-z]{1,10}", "[a-z:/.]{0,16}").prop_map(|(c, t, u)| {
            vec![
                ("category", c.into()),
                ("type", t.into()),
                ("url", u.into()),
            ]
        }),
    );
    let recording = slot(any::<u32>().prop_map(|s| vec![("duration_seconds", s.into())]));
    let details = slot(recording.prop_map(|r| vec![("recording", r)]));
    let agent = slot(
        (
            "[a-z_0-9]{1,12}",
            details,
            prop::collection::vec(resource, 0..4),
        )
            .prop_map(|(sub, details, resources)| {
                vec![
                    ("sub", sub.into()),
                    ("state", "complete".into()),
                    ("details", details),
                    ("resources", resources.into()),
                ]
            }),
    );
    let interaction = slot(
        ("[a-z_]{1,24}", proptest::option::of("[a-z_]{1,12}"))
            .prop_map(|(t, sub)| vec![("type", t.into()), ("subtype", sub.into())]),
    );
    let kind = prop_oneof![Just("event_subscription".to_owned()), "[a-z_]{1,12}"];
    let notification = slot(
        (kind, prop::collection::vec(interaction, 0..3))
            .prop_map(|(t, i)| vec![("type", t.into()), ("interactions", i.into())]),
    );
    let conferencing = slot(Just(vec![
        ("provider_name", "zoom".into()),
        ("join_url", "https://z".into()),
    ]));
    let event = slot(("[a-zA-Z0-9]{1,12}", conferencing).prop_map(|(id, c)| {
        vec![
            ("event_id", id.into()),
            ("summary", "s".into()),
            ("conferencing", c),
        ]
    }));
    slot(
        (notification, event, agent)
            .prop_map(|(n, e, a)| vec![("notification", n), ("event", e), ("meeting_agent", a)]),
    )
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z_ ]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
