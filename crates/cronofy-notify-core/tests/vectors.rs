//! Every case of the shared vectors (`../shared/vectors/cases.json`), Cronofy's known answers
//! included, through the verifier and the signer.

use cronofy_notify_core::{Error, ParseError, SignatureError, Signer, Verifier};
use cronofy_notify_test_support::vectors;

#[test]
fn all_twenty_two_shared_cases_are_checked() {
    assert_eq!(vectors::cases().len(), 22);
}

#[test]
fn every_shared_case_is_accepted_or_refused_as_it_says() {
    let mut failures = Vec::new();
    for case in vectors::cases() {
        let verifier = Verifier::new(&case.secrets).expect("the vectors' secrets are not blank");
        let outcome = verifier.verify(&case.header, &case.body);
        if outcome.is_ok() != case.valid {
            failures.push(format!(
                "{}: expected valid={}, got {outcome:?}",
                case.name, case.valid
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn refused_cases_say_why() {
    let expected = [
        ("empty-header", SignatureError::Missing),
        ("only-commas", SignatureError::Malformed),
        ("not-base64", SignatureError::Malformed),
        ("truncated-signature", SignatureError::Malformed),
        ("hex-digest-base64-encoded", SignatureError::Malformed),
        ("base64url-alphabet", SignatureError::Malformed),
        ("tampered-body", SignatureError::Mismatch),
        ("trailing-newline-added", SignatureError::Mismatch),
        ("rotation-neither-secret", SignatureError::Mismatch),
        (
            "meeting_agent_complete-wrong-secret",
            SignatureError::Mismatch,
        ),
    ];
    let cases = vectors::cases();
    for (name, error) in expected {
        let case = cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        let verifier = Verifier::new(&case.secrets).unwrap();
        assert_eq!(
            verifier.verify(&case.header, &case.body),
            Err(error),
            "{name}"
        );
    }
}

#[test]
fn the_signer_reproduces_every_single_value_header() {
    for case in vectors::cases() {
        if !case.valid || case.header.contains(',') || case.secrets.len() != 1 {
            continue;
        }
        let signed = Signer::new(&case.secrets).unwrap().sign(&case.body);
        assert_eq!(signed, case.header, "{}", case.name);
    }
}

#[test]
fn the_signer_writes_a_rotation_header_in_secret_order() {
    let body = vectors::seed_body("complete");
    let header = Signer::new([vectors::secret("A"), vectors::secret("B")])
        .unwrap()
        .sign(&body);
    let rotation = vectors::cases()
        .into_iter()
        .find(|c| c.name == "rotation-old-and-new-verifier-has-new")
        .unwrap();
    assert_eq!(header, rotation.header);
}

#[test]
fn genuine_seed_bodies_verify_and_parse() {
    for case in vectors::cases() {
        if !case.valid {
            continue;
        }
        let verifier = Verifier::new(&case.secrets).unwrap();
        let result = verifier.verify_and_parse(&case.header, case.body.clone());
        if case.body_path == "bodies/well-known.json" {
            // Cronofy's known-answer body is signed but is no notification.
            assert_eq!(
                result.unwrap_err(),
                Error::Parse(ParseError::NotANotification),
                "{}",
                case.name
            );
        } else {
            let verified = result.unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(verified.body().as_ref(), case.body.as_slice());
            assert!(verified.as_event_subscription().is_some(), "{}", case.name);
        }
    }
}

#[test]
fn forged_cases_are_refused_before_parsing() {
    for case in vectors::cases().into_iter().filter(|c| !c.valid) {
        let verifier = Verifier::new(&case.secrets).unwrap();
        // Even a non-JSON body gives the signature error: the body is never parsed.
        let result = verifier.verify_and_parse(&case.header, b"not json".to_vec());
        assert!(
            matches!(result, Err(Error::Signature(_))),
            "{}: {result:?}",
            case.name
        );
    }
}

#[test]
fn a_body_over_the_limit_is_refused_unhashed_whatever_its_signature() {
    let body = vectors::seed_body("complete");
    let header = Signer::new([vectors::secret("A")]).unwrap().sign(&body);
    let verifier = Verifier::new([vectors::secret("A")]).unwrap();
    // The documented default: 256 KiB.
    assert_eq!(cronofy_notify_core::DEFAULT_BODY_LIMIT, 256 * 1024);
    assert_eq!(
        verifier.body_limit(),
        cronofy_notify_core::DEFAULT_BODY_LIMIT
    );
    assert!(verifier.verify_and_parse(&header, body.clone()).is_ok());
    // A body of exactly the limit is within it.
    let exact = verifier.clone().with_body_limit(body.len());
    assert!(exact.verify_and_parse(&header, body.clone()).is_ok());

    let strict = verifier.with_body_limit(body.len() - 1);
    let error = strict.verify_and_parse(&header, body.clone()).unwrap_err();
    assert_eq!(
        error,
        Error::TooLarge {
            limit: body.len() - 1
        }
    );
    assert_eq!(error.http_status(), 413);
    // Even with no signature at all, the size is what is reported: nothing was hashed.
    assert_eq!(
        strict.verify_and_parse("", body).unwrap_err().http_status(),
        413
    );
}

#[test]
fn every_refusal_maps_to_the_status_a_receiver_answers() {
    let verifier = Verifier::new(["s"]).unwrap();
    let unsigned = verifier.verify_and_parse("", b"{}".to_vec()).unwrap_err();
    assert_eq!(
        (unsigned.http_status(), unsigned.public_message()),
        (401, "missing or invalid Cronofy-HMAC-SHA256 signature")
    );
    let header = Signer::new(["s"]).unwrap().sign(b"not json");
    let not_json = verifier
        .verify_and_parse(&header, b"not json".to_vec())
        .unwrap_err();
    assert_eq!(not_json.http_status(), 400);
    assert!(
        !not_json.public_message().contains("line"),
        "details stay in logs"
    );
}
