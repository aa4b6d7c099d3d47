//! What the logs say: a rejected request's reason, once, and never a secret; a handler's failure,
//! and what becomes of its redelivery.
//!
//! In a test binary of its own: its tests share the global subscriber (the server logs from its
//! worker).

mod common;

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use cronofy_notify_actix::{Background, CronofyCallback};
use cronofy_notify_core::{
    DuplicateGuard, GuardError, GuardFuture, MemoryGuard, VerifiedNotification, Verifier,
};
use cronofy_notify_test_support::http_cases;
use cronofy_notify_test_support::logs::{Captured, line_with};
use cronofy_notify_test_support::vectors;

async fn extract(CronofyCallback(_verified): CronofyCallback) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

fn extractor_route() -> actix_web::Route {
    web::post().to(extract)
}

fn background_route() -> actix_web::Route {
    web::post().to(Background::new(|_: VerifiedNotification| async {}))
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(Captured::globally)
}

#[actix_web::test]
async fn each_rejection_is_logged_once_with_its_reason_and_no_secret() {
    let logs = logs();
    let secret = vectors::secret("A");
    let verifier = Verifier::new([secret.clone()]).unwrap();
    let forged = http_cases::forged(vectors::seed_body("complete"));

    for route in [extractor_route, background_route] {
        let addr = common::serve(Some(verifier.clone()), route);
        assert_eq!(http_cases::send(addr, &forged).await, 401);
    }
    // A missing verifier is the app's bug: 500, and an error that says what to add.
    let addr = common::serve(None, extractor_route);
    let signed = http_cases::signed(vectors::seed_body("complete"), 500);
    assert_eq!(http_cases::send(addr, &signed).await, 500);

    let text = logs.text();
    assert_eq!(
        text.matches("callback rejected").count(),
        3,
        "one line per rejected request:\n{text}"
    );
    assert_eq!(
        text.matches("does not match").count(),
        2,
        "the reason is logged:\n{text}"
    );
    assert!(
        text.contains("ERROR") && text.contains("app_data(web::Data::new(verifier))"),
        "{text}"
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

async fn failing(_: VerifiedNotification) -> Result<(), &'static str> {
    Err("the database was down")
}

#[actix_web::test]
async fn a_failed_handler_is_logged_with_what_becomes_of_its_redelivery() {
    let logs = logs();
    let verifier = Verifier::new([vectors::secret("A")]).unwrap();
    let released = || web::post().to(Background::new(failing));
    let kept =
        || web::post().to(Background::new(failing).deduplicate_with(Unreleasable::default()));
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    let addr = common::serve(Some(verifier.clone()), released);
    assert_eq!(http_cases::send(addr, &case).await, 202);
    let addr = common::serve(Some(verifier), kept);
    assert_eq!(http_cases::send(addr, &case).await, 202);

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
