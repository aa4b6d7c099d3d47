//! Verify-and-parse on any header and body: never a panic; a body signed by us always
//! verifies, and fails only for not being a notification.
#![no_main]

use std::sync::LazyLock;

use cronofy_notify_core::{Error, Signer, Verifier};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| Verifier::new(["fuzz-secret"]).unwrap());
static SIGNER: LazyLock<Signer> = LazyLock::new(|| Signer::new(["fuzz-secret"]).unwrap());

fuzz_target!(|data: &[u8]| {
    let split = data
        .first()
        .map_or(0, |n| usize::from(*n))
        .min(data.len().saturating_sub(1));
    let (header, body) = data.get(1..).unwrap_or_default().split_at(split);
    let _ = VERIFIER.verify_and_parse(header, body.to_vec());

    let signed = SIGNER.sign(body);
    match VERIFIER.verify_and_parse(&signed, body.to_vec()) {
        Ok(verified) => assert_eq!(verified.body().as_ref(), body),
        Err(Error::Parse(_)) => {}
        Err(other) => panic!("a body we signed was refused: {other}"),
    }
});
