//! What the extractor costs beyond reading the body, in process (no network): one request
//! through an axum router whose handler takes `Bytes` (the baseline) or `CronofyCallback`, and,
//! to show where the difference goes, handlers that take `Bytes` and check the signature by hand,
//! without and then with parsing the body.

use std::hint::black_box;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use cronofy_notify_axum::CronofyCallback;
use cronofy_notify_core::{SIGNATURE_HEADER, Signer, Verifier};
use cronofy_notify_test_support::vectors;
use tower::ServiceExt as _;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = Bytes::from(vectors::seed_body("complete"));
    let secret = vectors::secret("A");
    let header = Signer::new([&secret]).unwrap().sign(&body);
    let verifier = Verifier::new([&secret]).unwrap();

    async fn bare(_body: Bytes) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    async fn verify(_callback: CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    async fn signature_by_hand(
        State(verifier): State<Verifier>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let header = signature_of(&headers);
        assert_eq!(verifier.verify(header, &body), Ok(()));
        StatusCode::NO_CONTENT
    }
    async fn verify_and_parse_by_hand(
        State(verifier): State<Verifier>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let header = signature_of(&headers);
        black_box(verifier.verify_and_parse(header, body).unwrap());
        StatusCode::NO_CONTENT
    }
    fn signature_of(headers: &HeaderMap) -> &[u8] {
        headers
            .get(SIGNATURE_HEADER)
            .map_or(&b""[..], |value| value.as_bytes())
    }
    let app = |route| Router::new().route("/", route).with_state(verifier.clone());

    let request = || {
        Request::post("/")
            .header("content-type", "application/json")
            .header("cronofy-hmac-sha256", &header)
            .header("content-length", body.len())
            .body(Body::from(body.clone()))
            .unwrap()
    };
    for (name, app) in [
        ("extract/bytes", app(post(bare))),
        ("extract/signature_by_hand", app(post(signature_by_hand))),
        (
            "extract/verify_and_parse_by_hand",
            app(post(verify_and_parse_by_hand)),
        ),
        ("extract/cronofy_callback", app(post(verify))),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let response = runtime.block_on(app.clone().oneshot(request())).unwrap();
                assert_eq!(response.status(), StatusCode::NO_CONTENT);
                black_box(response)
            })
        });
    }
}

criterion_group! {
    name = extract;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(extract);
