//! Verification and parsing of the seed `meeting_agent_complete` body, beside naive baselines
//! measured in the same run:
//!
//! - `hmac/raw`: one HMAC-SHA256 of the body, keyed from the secret (what any verifier must do);
//! - `verify/ours` against `verify/naive` (re-keys HMAC per call, decodes, compares);
//! - `parse/typed` against `parse/value` (`serde_json::Value`);
//! - `verify_and_parse/ours` against `verify_and_parse/naive` (re-keyed HMAC, then `Value`).
//!
//! `cargo xtask bench core` runs this several times and records the ratios in docs/benchmarks.md.

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use cronofy_notify_core::{Notification, Signer, Verifier};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const SECRET: &str = "test-client-secret-A";

fn body() -> Vec<u8> {
    cronofy_notify_test_support::vectors::seed_body("complete")
}

fn raw_hmac(secret: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn naive_verify(secret: &str, header: &str, body: &[u8]) -> bool {
    header.split(',').any(|value| {
        let Ok(candidate) = STANDARD.decode(value.trim()) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        mac.verify_slice(&candidate).is_ok()
    })
}

fn benches(c: &mut Criterion) {
    let body = body();
    let header = Signer::new([SECRET]).unwrap().sign(&body);
    let verifier = Verifier::new([SECRET]).unwrap();
    let shared = bytes::Bytes::from(body.clone());

    c.bench_function("hmac/raw", |b| {
        b.iter(|| raw_hmac(black_box(SECRET.as_bytes()), black_box(&body)))
    });
    c.bench_function("verify/ours", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&header), black_box(&body))
                .unwrap()
        })
    });
    c.bench_function("verify/naive", |b| {
        b.iter(|| assert!(naive_verify(SECRET, black_box(&header), black_box(&body))))
    });
    c.bench_function("parse/typed", |b| {
        b.iter(|| Notification::from_slice(black_box(&body)).unwrap())
    });
    c.bench_function("parse/value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap())
    });
    c.bench_function("verify_and_parse/ours", |b| {
        b.iter(|| {
            verifier
                .verify_and_parse(black_box(&header), black_box(shared.clone()))
                .unwrap()
        })
    });
    c.bench_function("verify_and_parse/naive", |b| {
        b.iter(|| {
            assert!(naive_verify(SECRET, black_box(&header), black_box(&body)));
            serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap()
        })
    });
}

criterion_group! {
    name = core;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(core);
