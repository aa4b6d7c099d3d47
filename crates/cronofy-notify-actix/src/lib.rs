//! Receive Cronofy callbacks in [actix-web](https://actix.rs) with one extractor.
//!
//! [`CronofyCallback`] reads the raw body, checks the `Cronofy-HMAC-SHA256` signature with the
//! [`Verifier`](cronofy_notify_core::Verifier) in your `app_data`, and yields the
//! [`VerifiedNotification`](cronofy_notify_core::VerifiedNotification): the typed model and the
//! raw bytes. Requests that are not genuine are answered 401, 413 or 400 with a short generic
//! body; the reason goes to `tracing`. [`Background`] answers `202` at once and runs your handler
//! on a spawned task, once per delivery; [`Background::drain`] lets the handlers in flight finish
//! at shutdown.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use cronofy_notify_actix::Background;
//! use cronofy_notify_core::{VerifiedNotification, Verifier};
//!
//! async fn handle(verified: VerifiedNotification) {
//!     if let Some(callback) = verified.as_event_subscription() {
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
//! [`Verifier::with_body_limit`]: cronofy_notify_core::Verifier::with_body_limit
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
