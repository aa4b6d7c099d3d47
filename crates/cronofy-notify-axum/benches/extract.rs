//! What the extractor costs beyond reading the body, in process (no network): one request
//! through an axum router whose handler takes `Bytes` (the baseline) or `CronofyCallback`.

use std::hint::black_box;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use cronofy_notify_axum::CronofyCallback;
use cronofy_notify_core::{Signer, Verifier};
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
    let bare_app = Router::new()
        .route("/", post(bare))
        .with_state(verifier.clone());
    let verify_app = Router::new().route("/", post(verify)).with_state(verifier);

    let request = || {
        Request::post("/")
            .header("content-type", "application/json")
            .header("cronofy-hmac-sha256", &header)
            .header("content-length", body.len())
            .body(Body::from(body.clone()))
            .unwrap()
    };
    for (name, app) in [
        ("extract/bytes", bare_app),
        ("extract/cronofy_callback", verify_app),
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
