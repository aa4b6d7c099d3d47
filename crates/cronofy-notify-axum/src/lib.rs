//! Receive Cronofy callbacks in [axum] with one extractor.
//!
//! [`CronofyCallback`] reads the raw body, checks the `Cronofy-HMAC-SHA256` signature with a
//! [`Verifier`] from your router's state, and yields the [`VerifiedNotification`]: the typed
//! model and the raw bytes. Requests that are not genuine are answered 401, 413 or 400 with a
//! short generic body; the reason goes to `tracing`.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use cronofy_notify_axum::{Background, VerifiedNotification, Verifier};
//!
//! async fn handle(verified: VerifiedNotification) {
//!     // Runs on its own task after Cronofy got its 202: do the slow work here.
//!     if let Some(callback) = verified.to_event_subscription() {
//!         tracing::info!(sub = ?callback.agent_sub(), ready = callback.resources_ready());
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::new([std::env::var("CRONOFY_CLIENT_SECRET")?])?;
//! let app = Router::new()
//!     .route("/cronofy", post(Background::new(handle)))
//!     .with_state(verifier);
//! axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?;
//! # Ok(()) }
//! ```
//!
//! Three ways in, one behaviour:
//! - [`CronofyCallback`], an extractor, for handlers that answer themselves;
//! - [`Background`], a handler that answers `202` at once and runs yours on a spawned task, once
//!   per delivery (redeliveries get `200` and are not run again), with
//!   [`drain`](Background::drain) to let the handlers in flight finish at shutdown;
//! - [`CronofyLayer`], middleware that puts the verified notification into the request's
//!   extensions, for apps built around middleware.
//!
//! # Limits
//!
//! The body is read up to the verifier's limit ([`Verifier::with_body_limit`], 256 KiB by
//! default: callbacks are 1–2 KiB), and never beyond axum's `DefaultBodyLimit` (2 MB unless you
//! set it). A `Content-Length` over the limit is refused before reading; a chunked body stops at
//! the limit. Either way: 413, and nothing is hashed. How long a request may take to arrive is
//! not the extractor's to bound, and `axum::serve` bounds no wait for a client (headers, body,
//! idle connections): on a public endpoint, put a proxy in front, or serve with hyper's
//! `header_read_timeout` and a timeout around the route (tower-http's `TimeoutLayer`), as
//! `cronofy-notify serve` does with its `--read-timeout`.
//!
//! # Refused requests
//!
//! Each refusal is logged at DEBUG, target `cronofy_notify_axum`: anyone can reach a callback
//! endpoint, and a line per forged request would let them fill your log. But a wrong client
//! secret, or one rotated on Cronofy's side only, looks just like that: every callback answered
//! 401 and nothing at INFO. Turn the target on (`RUST_LOG=info,cronofy_notify_axum=debug`), or
//! take `Result<CronofyCallback, CallbackRejection>` and count refusals your way, by status or
//! by the [`CallbackRejection`] itself (`cronofy-notify serve` logs a count by reason once a
//! minute):
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use axum::body::Body;
//! use axum::http::{Request, StatusCode};
//! use axum::response::{IntoResponse, Response};
//! use axum::{Router, routing::post};
//! use cronofy_notify_axum::{CallbackRejection, CronofyCallback, Verifier};
//! use tower::ServiceExt as _;
//!
//! static REFUSED_FOR_SIGNATURE: AtomicU64 = AtomicU64::new(0);
//!
//! async fn receive(callback: Result<CronofyCallback, CallbackRejection>) -> Response {
//!     match callback {
//!         Ok(CronofyCallback(verified)) => {
//!             tracing::info!(callback = %verified, "genuine callback");
//!             StatusCode::NO_CONTENT.into_response()
//!         }
//!         Err(rejection) => {
//!             if rejection.status() == StatusCode::UNAUTHORIZED {
//!                 REFUSED_FOR_SIGNATURE.fetch_add(1, Ordering::Relaxed);
//!             }
//!             rejection.into_response() // the same answer as the extractor alone
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new()
//!     .route("/cronofy", post(receive))
//!     .with_state(Verifier::new(["test-secret"])?);
//! let unsigned = Request::post("/cronofy").body(Body::from("{}"))?;
//! let response = app.oneshot(unsigned).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(REFUSED_FOR_SIGNATURE.load(Ordering::Relaxed), 1);
//! # Ok(()) }
//! ```
//!
//! # Testing your endpoint
//!
//! Sign a body with [`Signer`] under the secret your [`Verifier`] holds, and send it through the
//! router with `tower::ServiceExt::oneshot`: no server, no network. With [`Background`], keep a
//! clone and [`drain`](Background::drain) it before you look at what your handler did.
//! For bodies as Cronofy sends them (activated, complete with its resources, failed with a
//! reason), turn on `cronofy-notify-core`'s `samples` feature in your dev-dependencies and use
//! `cronofy_notify_core::samples::Sample`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use axum::body::Body;
//! use axum::http::{Request, StatusCode};
//! use axum::{Router, routing::post};
//! use cronofy_notify_axum::cronofy_notify_core::{SIGNATURE_HEADER, Signer};
//! use cronofy_notify_axum::{Background, VerifiedNotification, Verifier};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let background = Background::new({
//!     let seen = seen.clone();
//!     move |verified: VerifiedNotification| {
//!         let seen = seen.clone();
//!         async move {
//!             let callback = verified.as_event_subscription().expect("a Meeting Agent callback");
//!             seen.lock().unwrap().push(callback.agent_sub().unwrap_or_default().to_owned());
//!         }
//!     }
//! });
//! let app = Router::new()
//!     .route("/cronofy", post(background.clone()))
//!     .with_state(Verifier::new(["test-secret"])?);
//!
//! let body = r#"{"notification":{"type":"event_subscription",
//!     "interactions":[{"type":"meeting_agent_activated"}]},
//!     "meeting_agent":{"sub":"agt_test","state":"created"}}"#;
//! let signature = Signer::new(["test-secret"])?.sign(body.as_bytes());
//! let genuine = Request::post("/cronofy")
//!     .header(SIGNATURE_HEADER, signature)
//!     .body(Body::from(body))?;
//! assert_eq!(app.clone().oneshot(genuine).await?.status(), StatusCode::ACCEPTED);
//!
//! let forged = Request::post("/cronofy")
//!     .header(SIGNATURE_HEADER, Signer::new(["another-secret"])?.sign(body.as_bytes()))
//!     .body(Body::from(body))?;
//! assert_eq!(app.oneshot(forged).await?.status(), StatusCode::UNAUTHORIZED);
//!
//! background.drain().await; // the handler ran on its own task: wait for it
//! assert_eq!(*seen.lock().unwrap(), ["agt_test"]);
//! # Ok(()) }
//! ```
//!
//! # Changing secrets without a restart
//!
//! The verifier is found through [`FromRef`](axum::extract::FromRef) on each request, so it can
//! come from anywhere in your state: behind a lock, a rotation replaces it for the next request.
//! While both secrets are active Cronofy signs with each, so either verifies; holding both
//! until the old one is revoked covers the moments around the switch.
//!
//! ```
//! use std::sync::{Arc, PoisonError, RwLock};
//!
//! use axum::body::Body;
//! use axum::extract::FromRef;
//! use axum::http::{Request, StatusCode};
//! use axum::{Router, routing::post};
//! use cronofy_notify_axum::cronofy_notify_core::{SIGNATURE_HEADER, Signer};
//! use cronofy_notify_axum::{CronofyCallback, Verifier};
//! use tower::ServiceExt as _;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     verifier: Arc<RwLock<Verifier>>,
//! }
//!
//! impl FromRef<AppState> for Verifier {
//!     fn from_ref(state: &AppState) -> Verifier {
//!         // A clone is cheap: the keyed secrets are shared, not copied.
//!         state.verifier.read().unwrap_or_else(PoisonError::into_inner).clone()
//!     }
//! }
//!
//! async fn callback(CronofyCallback(_verified): CronofyCallback) -> StatusCode {
//!     StatusCode::NO_CONTENT
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let state = AppState { verifier: Arc::new(RwLock::new(Verifier::new(["old-secret"])?)) };
//! let app = Router::new().route("/cronofy", post(callback)).with_state(state.clone());
//!
//! let body = br#"{"notification":{"type":"event_subscription"}}"#;
//! let signature = Signer::new(["new-secret"])?.sign(body); // Cronofy moved to the new secret
//! let signed_with_new = || {
//!     Request::post("/cronofy")
//!         .header(SIGNATURE_HEADER, &signature)
//!         .body(Body::from(&body[..]))
//!         .unwrap()
//! };
//! assert_eq!(app.clone().oneshot(signed_with_new()).await?.status(), StatusCode::UNAUTHORIZED);
//!
//! // The rotation: both secrets until Cronofy has moved to the new one.
//! *state.verifier.write().unwrap_or_else(PoisonError::into_inner) =
//!     Verifier::new(["old-secret", "new-secret"])?;
//! assert_eq!(app.oneshot(signed_with_new()).await?.status(), StatusCode::NO_CONTENT);
//! # Ok(()) }
//! ```
//!
//! [`CronofyLayer`] holds the verifier it was built with: rebuild the router to change it.
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
mod layer;
mod rejection;

pub use background::Background;
pub use extract::CronofyCallback;
pub use layer::{CronofyLayer, CronofyService};
pub use rejection::CallbackRejection;

#[doc(no_inline)]
pub use cronofy_notify_core::{DuplicateGuard, MemoryGuard, VerifiedNotification, Verifier};

/// The core crate, at the version this adapter uses: the notification model, the verifier, the
/// signer and the deduplication.
pub use cronofy_notify_core;
