//! What a rejected request leaves in the logs: its reason, once, and never a secret.
//!
//! Alone in its own test binary: it sets the global subscriber (the servers log from worker
//! threads).

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use cronofy_notify_axum::{Background, CronofyCallback, CronofyLayer};
use cronofy_notify_core::{VerifiedNotification, Verifier};
use cronofy_notify_test_support::http_cases;
use cronofy_notify_test_support::logs::Captured;
use cronofy_notify_test_support::vectors;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn each_rejection_is_logged_once_with_its_reason_and_no_secret() {
    let logs = Captured::globally();
    let secret = vectors::secret("A");
    let verifier = Verifier::new([secret.clone()]).unwrap();

    async fn extract(CronofyCallback(_verified): CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    async fn extension(Extension(_verified): Extension<VerifiedNotification>) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let apps = [
        Router::new()
            .route("/", post(extract))
            .with_state(verifier.clone()),
        Router::new()
            .route(
                "/",
                post(Background::new(|_: VerifiedNotification| async {})),
            )
            .with_state(verifier.clone()),
        Router::new()
            .route("/", post(extension))
            .layer(CronofyLayer::new(verifier.clone())),
    ];
    let forged = http_cases::forged(vectors::seed_body("complete"));
    for app in apps {
        let addr = serve(app).await;
        assert_eq!(http_cases::send(addr, &forged).await, 401);
    }

    let text = logs.text();
    let rejections = text.matches("callback rejected").count();
    assert_eq!(rejections, 3, "one line per rejected request:\n{text}");
    assert_eq!(
        text.matches("does not match").count(),
        3,
        "the reason is logged:\n{text}"
    );
    assert!(!text.contains(&secret), "the secret reached the logs");
}
