//! Receive Cronofy callbacks in [actix-web](https://actix.rs) with one extractor.
//!
//! [`CronofyCallback`] reads the raw body, checks the `Cronofy-HMAC-SHA256` signature with the
//! [`Verifier`] in your `app_data`, and yields the [`VerifiedNotification`]: the typed model and
//! the raw bytes. Requests that are not genuine are answered 401, 413 or 400 with a short generic
//! body; the reason goes to `tracing`. [`Background`] answers `202` at once and runs your handler
//! on a spawned task, once per delivery; [`Background::drain`] lets the handlers in flight finish
//! at shutdown.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use cronofy_notify_actix::{Background, VerifiedNotification, Verifier};
//!
//! async fn handle(verified: VerifiedNotification) {
//!     if let Some(callback) = verified.to_event_subscription() {
//!         tracing::info!(sub = ?callback.agent_sub(), ready = callback.resources_ready());
//!     }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let verifier = web::Data::new(Verifier::new([std::env::var("CRONOFY_CLIENT_SECRET")?])?);
//!     let background = Background::new(handle);
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(verifier.clone())
//!             .route("/cronofy", web::post().to(background.clone()))
//!     })
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! The body limit is the verifier's ([`Verifier::with_body_limit`], 256 KiB by default). A
//! `Content-Length` over it is refused before reading; a chunked body stops at it. Either way:
//! 413, and nothing is hashed. actix-web's `PayloadConfig` does not apply: it configures the
//! `web::Bytes` and `String` extractors, and this one reads the raw payload stream itself, as
//! custom extractors do, so that the bytes hashed are exactly the bytes sent.
//!
//! # Refused requests
//!
//! Each refusal is logged at DEBUG, target `cronofy_notify_actix`: anyone can reach a callback
//! endpoint, and a line per forged request would let them fill your log. But a wrong client
//! secret, or one rotated on Cronofy's side only, looks just like that: every callback answered
//! 401 and nothing at INFO. Turn the target on (`RUST_LOG=info,cronofy_notify_actix=debug`), or
//! take `Result<CronofyCallback, CallbackRejection>` and count refusals your way, by status or
//! by the [`CallbackRejection`] itself (`cronofy-notify serve` logs a count by reason once a
//! minute):
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use actix_web::http::StatusCode;
//! use actix_web::{App, HttpResponse, ResponseError as _, test, web};
//! use cronofy_notify_actix::{CallbackRejection, CronofyCallback, Verifier};
//!
//! static REFUSED_FOR_SIGNATURE: AtomicU64 = AtomicU64::new(0);
//!
//! async fn receive(callback: Result<CronofyCallback, CallbackRejection>) -> HttpResponse {
//!     match callback {
//!         Ok(CronofyCallback(verified)) => {
//!             tracing::info!(callback = %verified, "genuine callback");
//!             HttpResponse::NoContent().finish()
//!         }
//!         Err(rejection) => {
//!             if rejection.status_code() == StatusCode::UNAUTHORIZED {
//!                 REFUSED_FOR_SIGNATURE.fetch_add(1, Ordering::Relaxed);
//!             }
//!             rejection.error_response() // the same answer as the extractor alone
//!         }
//!     }
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = test::init_service(
//!     App::new()
//!         .app_data(web::Data::new(Verifier::new(["test-secret"])?))
//!         .route("/cronofy", web::post().to(receive)),
//! )
//! .await;
//! let unsigned = test::TestRequest::post().uri("/cronofy").set_payload("{}").to_request();
//! assert_eq!(test::call_service(&app, unsigned).await.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(REFUSED_FOR_SIGNATURE.load(Ordering::Relaxed), 1);
//! # Ok(()) }
//! ```
//!
//! # Testing your endpoint
//!
//! Sign a body with [`Signer`] under the secret your [`Verifier`] holds, and send it through
//! `actix_web::test`: no server, no network.
//! For bodies as Cronofy sends them (activated, complete with its resources, failed with a
//! reason), turn on `cronofy-notify-core`'s `samples` feature in your dev-dependencies and use
//! `cronofy_notify_core::samples::Sample`.
//!
//! ```
//! use actix_web::http::StatusCode;
//! use actix_web::{App, HttpResponse, test, web};
//! use cronofy_notify_actix::cronofy_notify_core::{SIGNATURE_HEADER, Signer};
//! use cronofy_notify_actix::{CronofyCallback, Verifier};
//!
//! async fn callback(CronofyCallback(verified): CronofyCallback) -> HttpResponse {
//!     match verified.as_event_subscription().and_then(|callback| callback.agent_sub()) {
//!         Some(sub) => HttpResponse::Ok().body(sub.to_owned()),
//!         None => HttpResponse::NoContent().finish(),
//!     }
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = web::Data::new(Verifier::new(["test-secret"])?);
//! let app = test::init_service(
//!     App::new()
//!         .app_data(verifier)
//!         .route("/cronofy", web::post().to(callback)),
//! )
//! .await;
//!
//! let body = r#"{"notification":{"type":"event_subscription",
//!     "interactions":[{"type":"meeting_agent_activated"}]},
//!     "meeting_agent":{"sub":"agt_test","state":"created"}}"#;
//! let genuine = test::TestRequest::post()
//!     .uri("/cronofy")
//!     .insert_header((SIGNATURE_HEADER, Signer::new(["test-secret"])?.sign(body.as_bytes())))
//!     .set_payload(body)
//!     .to_request();
//! let response = test::call_service(&app, genuine).await;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(test::read_body(response).await, "agt_test");
//!
//! let forged = test::TestRequest::post()
//!     .uri("/cronofy")
//!     .insert_header((SIGNATURE_HEADER, Signer::new(["another-secret"])?.sign(body.as_bytes())))
//!     .set_payload(body)
//!     .to_request();
//! assert_eq!(test::call_service(&app, forged).await.status(), StatusCode::UNAUTHORIZED);
//! # Ok(()) }
//! ```
//!
//! # Changing secrets
//!
//! The extractor uses the verifier the app was built with, and a rotation needs nothing more:
//! while two client secrets are active, Cronofy signs each callback with both (one header value
//! per secret), so a server holding either one verifies it. Add the new secret at Cronofy,
//! restart your servers with it (one at a time is fine), then revoke the old one. A server that
//! may start before the new secret is active at Cronofy should hold both,
//! `Verifier::new([old, new])`, until the old one is revoked.
//!
//! ```
//! use actix_web::http::StatusCode;
//! use actix_web::{App, HttpResponse, test, web};
//! use cronofy_notify_actix::cronofy_notify_core::{SIGNATURE_HEADER, Signer};
//! use cronofy_notify_actix::{CronofyCallback, Verifier};
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let body = r#"{"notification":{"type":"event_subscription"}}"#;
//! // During the rotation, as Cronofy signs: one value per active secret.
//! let during = Signer::new(["old-secret", "new-secret"])?.sign(body.as_bytes());
//! for secret in ["old-secret", "new-secret"] {
//!     let server = test::init_service(
//!         App::new()
//!             .app_data(web::Data::new(Verifier::new([secret])?))
//!             .route("/cronofy", web::post().to(|_: CronofyCallback| async {
//!                 HttpResponse::NoContent().finish()
//!             })),
//!     )
//!     .await;
//!     let request = test::TestRequest::post()
//!         .uri("/cronofy")
//!         .insert_header((SIGNATURE_HEADER, during.as_str()))
//!         .set_payload(body)
//!         .to_request();
//!     assert_eq!(test::call_service(&server, request).await.status(), StatusCode::NO_CONTENT);
//! }
//! # Ok(()) }
//! ```
//!
//! # One dependency
//!
//! The types of [`cronofy_notify_core`] that this crate's API takes and gives ([`Verifier`],
//! [`VerifiedNotification`], [`DuplicateGuard`] and [`MemoryGuard`]) are re-exported here, and
//! the core crate itself as [`cronofy_notify_core`] (the notification model, and [`Signer`] for
//! your tests), at the version this adapter is built on. Depending on this crate alone is
//! enough; a direct dependency on `cronofy-notify-core` must be of the same version, or its
//! `Verifier` is another type to the compiler.
//!
//! [`Signer`]: cronofy_notify_core::Signer
//!
//! # Features
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | (none) | the crate has no optional parts | |

mod background;
mod extract;
mod rejection;

pub use background::Background;
pub use extract::CronofyCallback;
pub use rejection::CallbackRejection;

#[doc(no_inline)]
pub use cronofy_notify_core::{DuplicateGuard, MemoryGuard, VerifiedNotification, Verifier};

/// The core crate, at the version this adapter uses: the notification model, the verifier, the
/// signer and the deduplication.
pub use cronofy_notify_core;
