//! What a rejected request leaves in the logs: its reason, once, and never a secret.
//!
//! Alone in its own test binary: it sets the global subscriber (the server logs from its worker).

mod common;

use actix_web::{HttpResponse, web};
use cronofy_notify_actix::{Background, CronofyCallback};
use cronofy_notify_core::{VerifiedNotification, Verifier};
use cronofy_notify_test_support::http_cases;
use cronofy_notify_test_support::logs::Captured;
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

#[actix_web::test]
async fn each_rejection_is_logged_once_with_its_reason_and_no_secret() {
    let logs = Captured::globally();
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
