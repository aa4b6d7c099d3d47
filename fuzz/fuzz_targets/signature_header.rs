//! Any header value, against a fixed body and two secrets: never a panic, and never accepted
//! unless it holds the body's true digest.
#![no_main]

use std::sync::LazyLock;

use cronofy_notify_core::{Signer, Verifier};
use libfuzzer_sys::fuzz_target;

const BODY: &[u8] = br#"{"notification":{"type":"event_subscription"}}"#;

static VERIFIER: LazyLock<Verifier> =
    LazyLock::new(|| Verifier::new(["secret-one", "secret-two"]).unwrap());
static DIGESTS: LazyLock<[String; 2]> = LazyLock::new(|| {
    [
        Signer::new(["secret-one"]).unwrap().sign(BODY),
        Signer::new(["secret-two"]).unwrap().sign(BODY),
    ]
});

fuzz_target!(|header: &[u8]| {
    if VERIFIER.verify(header, BODY).is_ok() {
        let text = String::from_utf8_lossy(header);
        let holds_a_digest = text
            .split(',')
            .any(|value| DIGESTS.iter().any(|digest| value.trim_ascii() == digest));
        assert!(
            holds_a_digest,
            "accepted a header without the digest: {text:?}"
        );
    }
});
