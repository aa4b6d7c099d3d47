//! `Verifier::verify_request` (feature `http`): the shared vectors through a real
//! `http::HeaderMap`, with the header's name in any case, sent twice, or not at all.
#![cfg(feature = "http")]

use cronofy_notify_core::{Error, SignatureError, Signer, Verifier};
use cronofy_notify_test_support::vectors;
use http::{HeaderMap, HeaderName, HeaderValue};

fn headers(values: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in values {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn every_shared_case_is_judged_as_it_says_whatever_the_header_case() {
    let mut failures = Vec::new();
    for case in vectors::cases() {
        let verifier = Verifier::new(&case.secrets).unwrap();
        for name in [
            "Cronofy-HMAC-SHA256",
            "cronofy-hmac-sha256",
            "CRONOFY-HMAC-SHA256",
        ] {
            let map = if case.header.is_empty() {
                HeaderMap::new()
            } else {
                headers(&[(name, &case.header)])
            };
            let outcome = verifier.verify_request(&map, case.body.clone());
            let genuine = !matches!(outcome, Err(Error::Signature(_)));
            if genuine != case.valid {
                failures.push(format!("{} ({name}): got {outcome:?}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_header_sent_twice_is_read_as_one_list() {
    let body = vectors::seed_body("complete");
    let verifier = Verifier::new([vectors::secret("A")]).unwrap();
    let good = Signer::new([vectors::secret("A")]).unwrap().sign(&body);
    let other = Signer::new(["another-secret"]).unwrap().sign(&body);

    let twice = headers(&[
        ("cronofy-hmac-sha256", &other),
        ("Cronofy-HMAC-SHA256", &good),
    ]);
    let verified = verifier.verify_request(&twice, body.clone()).unwrap();
    assert_eq!(verified.body(), &body);

    let both_wrong = headers(&[
        ("cronofy-hmac-sha256", &other),
        ("cronofy-hmac-sha256", &other),
    ]);
    assert!(matches!(
        verifier.verify_request(&both_wrong, body),
        Err(Error::Signature(SignatureError::Mismatch))
    ));
}

#[test]
fn no_header_and_a_body_over_the_limit_are_refused() {
    let body = vectors::seed_body("complete");
    let verifier = Verifier::new([vectors::secret("A")]).unwrap();
    let unrelated = headers(&[("content-type", "application/json")]);
    assert!(matches!(
        verifier.verify_request(&unrelated, body.clone()),
        Err(Error::Signature(SignatureError::Missing))
    ));

    let good = Signer::new([vectors::secret("A")]).unwrap().sign(&body);
    let small = verifier.clone().with_body_limit(body.len() - 1);
    assert!(matches!(
        small.verify_request(&headers(&[("cronofy-hmac-sha256", &good)]), body),
        Err(Error::TooLarge { .. })
    ));
}

/// The requests test-support draws at random (bodies altered, signatures right and wrong, the
/// header in every form), each judged as the spec says, without a server: many more of them
/// than the adapters' tests send over HTTP. Header values are trimmed of the white space around
/// them, as an HTTP server hands them over.
#[test]
fn random_requests_are_judged_as_the_spec_says() {
    use cronofy_notify_test_support::random_requests;
    let mut wrong = Vec::new();
    let table = random_requests::table(random_requests::seed(), 5000, 204);
    for case in &table {
        let verifier = Verifier::new(&case.secrets).unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in &case.headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim_matches([' ', '\t'])).unwrap(),
            );
        }
        let status = verifier
            .verify_request(&map, case.body.clone())
            .map_or_else(|error| error.http_status(), |_| 204);
        if status != case.expected {
            wrong.push(format!(
                "{}: expected {}, got {status}",
                case.name, case.expected
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        table.len(),
        wrong.join("\n")
    );
}
