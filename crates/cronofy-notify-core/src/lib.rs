//! Typed Cronofy callbacks and `Cronofy-HMAC-SHA256` signature verification.
//!
//! Cronofy POSTs signed JSON to an application when a Meeting Agent joins a call
//! (`meeting_agent_activated`), finishes (`meeting_agent_complete`, with the transcript, audio and
//! video to download) or fails (`meeting_agent_failed`, with a reason), and for its other
//! notifications (push channels, Smart Invites, the scheduler). This crate turns the bytes of such a
//! request into a verified, typed [`Notification`].
//!
//! It also models the meeting [`Transcript`] and renders it as text, WebVTT or SRT captions.
//!
//! It is sans-io: no async runtime, no HTTP framework. The adapters (`cronofy-notify-axum`,
//! `cronofy-notify-actix`) and the downloader (`cronofy-notify-resources`) build on it; depend on
//! it directly to receive callbacks in any other framework.
//!
//! # Receiving a callback
//!
//! ```
//! use cronofy_notify_core::{Error, InteractionType, Notification, Verifier, SIGNATURE_HEADER};
//! # use cronofy_notify_core::Signer;
//!
//! // Once, at start-up: every client secret that is active (two during a rotation).
//! let verifier = Verifier::new(["my-client-secret"])?;
//!
//! // Per request: the raw body bytes and the Cronofy-HMAC-SHA256 header ("" when absent).
//! let body = br#"{"notification":{"type":"event_subscription",
//!   "interactions":[{"type":"meeting_agent_complete"}]},
//!   "meeting_agent":{"sub":"agt_1","state":"complete","resources":[
//!     {"category":"transcript","type":"cronofy","url":"https://api.cronofy.com/v1/t"}]}}"#;
//! # let header = Signer::new(["my-client-secret"])?.sign(body);
//!
//! match verifier.verify_and_parse(&header, &body[..]) {
//!     Ok(verified) => {
//!         if let Some(callback) = verified.to_event_subscription() {
//!             if callback.resources_ready() {
//!                 for resource in callback.downloadable_resources() {
//!                     println!("{}: {}", resource.category, resource.url);
//!                 }
//!             }
//!         }
//!         // answer 2xx, then do the slow work
//!     }
//!     Err(Error::Signature(reason)) => { /* answer 401; log `reason` */ }
//!     Err(Error::Parse(reason)) => { /* answer 400; log `reason` */ }
//!     Err(other) => { /* answer other.http_status(): 413 for a body over the limit */ }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it guarantees
//!
//! - The signature is checked as Cronofy documents it: over the raw bytes, every comma-separated
//!   value of the header against every configured secret, in constant time. Each secret is keyed
//!   into HMAC once, when the [`Verifier`] is built.
//! - A [`VerifiedNotification`] exists only after verification, and keeps the raw body.
//! - Cronofy may add fields and enum values at any time: unknown fields are ignored, unknown enum
//!   values are kept verbatim (`Unknown(..)`), and a body of an unknown type or shape becomes a
//!   [`Notification::Other`] with its JSON. Only a body that is not JSON, or has no
//!   `notification.type`, is an error.
//! - Secrets never appear in `Debug`, `Display` or error messages, and errors never echo the
//!   expected signature.
//! - Replays are not detected by the signature (Cronofy signs no timestamp): deduplicate on
//!   [`Notification::idempotency_key`].
//!
//! # Features
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `http` | `Verifier::verify_request`: verify and parse straight from an `http::HeaderMap` (hyper, axum, warp, poem, lambda_http...), the header found case-insensitively and read as one when sent twice | no |
//! | `samples` | `samples::Sample`: activated, complete and failed callback bodies shaped as Cronofy documents them, with your agent id and resource URLs, for testing your endpoint and your download pipeline | no |
//!
//! Without features, the dependencies are serde, serde_json, serde_path_to_error, hmac, sha2,
//! base64, subtle, zeroize, bytes and thiserror.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod dedup;
mod error;
mod event_subscription;
mod kinds;
mod notification;
mod objects_only;
#[cfg(feature = "http")]
mod request;
mod salvage;
#[cfg(feature = "samples")]
#[cfg_attr(docsrs, doc(cfg(feature = "samples")))]
pub mod samples;
mod secret;
mod signature;
mod transcript;
mod verified;

pub use dedup::{
    Claim, DEFAULT_ADMISSION_TIMEOUT, Deduplicator, DuplicateGuard, GuardError, GuardFuture,
    HandlerError, HandlerOutcome, MemoryGuard,
};
pub use error::{Error, ParseError};
pub use event_subscription::{
    AgentDetails, Conferencing, DownloadableResource, Event, EventMeetingAgent, EventSubscription,
    Interaction, MeetingAgent, Recording, Resource,
};
pub use kinds::{
    AgentState, FailureReason, InteractionType, NotificationType, ResourceCategory, ResourceType,
};
pub use notification::{Notification, OtherNotification};
pub use salvage::Salvaged;
pub use secret::ClientSecret;
pub use signature::{
    DEFAULT_BODY_LIMIT, KeyError, SIGNATURE_HEADER, SignatureError, Signer, Verifier,
    combine_header_values,
};
pub use transcript::{
    Paragraph, SalvagedTranscript, Sentence, Speaker, Transcript, TranscriptAgent, TranscriptBody,
    TranscriptError,
};
pub use verified::VerifiedNotification;
