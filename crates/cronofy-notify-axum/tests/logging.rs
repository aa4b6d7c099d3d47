//! What the logs say: a rejected request's reason, once, and never a secret; a handler's failure,
//! and what becomes of its redelivery.
//!
//! In a test binary of its own: its tests share the global subscriber (the servers log from
//! worker threads).

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use cronofy_notify_axum::{Background, CronofyCallback, CronofyLayer};
use cronofy_notify_core::{
    DuplicateGuard, GuardError, GuardFuture, MemoryGuard, VerifiedNotification, Verifier,
};
use cronofy_notify_test_support::http_cases;
use cronofy_notify_test_support::logs::{Captured, line_with};
use cronofy_notify_test_support::vectors;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(Captured::globally)
}

#[tokio::test]
async fn each_rejection_is_logged_once_with_its_reason_and_no_secret() {
    let logs = logs();
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

/// A shared guard whose store goes down between a claim and its release.
#[derive(Debug, Default)]
struct Unreleasable(MemoryGuard);

impl DuplicateGuard for Unreleasable {
    fn claim<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<bool, GuardError>> {
        self.0.claim(key)
    }

    fn release<'a>(&'a self, _: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
        Box::pin(async { Err(GuardError::new("connection reset")) })
    }
}

#[tokio::test]
async fn a_failed_handler_is_logged_with_what_becomes_of_its_redelivery() {
    let logs = logs();
    let failing = |_: VerifiedNotification| async { Err::<(), _>("the database was down") };
    let apps = [
        Background::new(failing),
        Background::new(failing).deduplicate_with(Unreleasable::default()),
    ];
    for background in apps {
        let verifier = Verifier::new([vectors::secret("A")]).unwrap();
        let addr = serve(
            Router::new()
                .route("/", post(background))
                .with_state(verifier),
        )
        .await;
        let case = http_cases::signed(vectors::seed_body("complete"), 202);
        assert_eq!(http_cases::send(addr, &case).await, 202);
    }

    logs.wait_for("a redelivery will run it again").await;
    let text = logs
        .wait_for("a redelivery will be taken for a duplicate")
        .await;
    let released = line_with(&text, "a redelivery will run it again");
    assert!(
        released.contains("WARN") && released.contains("the database was down"),
        "{released}"
    );
    let kept = line_with(&text, "a redelivery will be taken for a duplicate");
    assert!(
        kept.contains("ERROR")
            && kept.contains("the database was down")
            && kept.contains("connection reset"),
        "{kept}"
    );
}
