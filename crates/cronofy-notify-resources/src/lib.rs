//! Streaming, resumable, verified downloads of Cronofy Meeting Agent resources.
//!
//! When a meeting ends, Cronofy's `meeting_agent_complete` callback lists the transcript, audio
//! and video. A [`Downloader`] fetches them into a [`Storage`] (files by default) before the
//! pre-signed links expire, however large they are and however the network behaves.
//!
//! ```no_run
//! use cronofy_notify_core::Verifier;
//! use cronofy_notify_resources::Downloader;
//!
//! # async fn run(header: &str, body: bytes::Bytes) -> Result<(), Box<dyn std::error::Error>> {
//! let secret = std::env::var("CRONOFY_CLIENT_SECRET")?;
//! let verifier = Verifier::new([&secret])?;
//! let downloader = Downloader::builder(secret).root("./resources").build()?;
//!
//! let verified = verifier.verify_and_parse(header, body)?;
//! if let Some(callback) = verified.to_event_subscription().filter(|c| c.resources_ready()) {
//!     // In a web handler: answer 2xx first, and run this on a spawned task.
//!     let report = downloader.download(&callback).await?;
//!     assert!(report.is_success(), "{:?}", report.failures().collect::<Vec<_>>());
//! }
//! # Ok(()) }
//! ```
//!
//! # What a download does
//!
//! - `GET` with `Authorization: Bearer <api key>` and `Accept-Encoding: identity`; the `302` to the
//!   pre-signed storage link is followed **without** the key.
//! - Transient failures (connect errors, stalls, `408`, `429`, `5xx`, a body cut off, a `400` or
//!   `403` from an expired storage link, a `202` or `204`, which carry no recording) are retried with
//!   exponential backoff and full jitter, honouring `Retry-After`; see [`RetryPolicy`]. Every
//!   attempt starts again from the Cronofy URL.
//! - A retry resumes: `Range` from the bytes held, `If-Range` with the strong `ETag`; only a `206`
//!   starting at that offset is accepted, a `200` starts over cleanly, and a `416` whose total is
//!   what is held means done.
//! - A body that declares no length and is not chunked ends when its connection closes, so a cut
//!   connection looks like its end; a range of a resource whose total the server leaves out
//!   (`Content-Range: bytes 0-99/*`) may stop short of the end. After either, the downloader
//!   asks for what follows (`Range` and `If-Range`) before taking the resource as whole: a `416`
//!   confirms the end, a `206` carries on (an empty one is a failed attempt), a `200` under a
//!   new `ETag` is a new version, fetched whole. A server without a strong `ETag`, or that
//!   ignores `Range`, leaves no way to tell; such a body is kept as it came.
//! - Memory is constant whatever the size. Timeouts are for connecting and for silence (idle), never
//!   for a whole body. A size limit is checked against `Content-Length` and while streaming.
//! - The SHA-256 of each resource is computed as it streams and reported, with bytes, content type,
//!   attempts and duration, in a [`ResourceReport`] and the agent's [`Manifest`].
//! - A resource complete per the manifest is not fetched again, and two calls for the same
//!   meeting at once run one after the other, so a duplicate callback costs nothing. A cancelled
//!   download ([`Downloader::download_with_cancel`]) keeps its partial file for a later resume.
//! - The API key never appears in logs, errors or `Debug` output; URLs in errors lose their query.
//!   For bodies that were not verified, [`DownloaderBuilder::api_hosts`] keeps the key to
//!   Cronofy's hosts.
//!
//! # The transcript as captions
//!
//! To show captions beside the video, or to index what was said, keep the transcript in memory
//! and render it with core's [`Transcript`](cronofy_notify_core::Transcript) (a second downloader
//! on the same callback is cheap: it shares nothing but the API key):
//!
//! ```no_run
//! use cronofy_notify_core::{EventSubscription, ResourceCategory, Transcript};
//! use cronofy_notify_resources::{Downloader, MemoryStorage};
//!
//! # async fn run(callback: &EventSubscription) -> Result<(), Box<dyn std::error::Error>> {
//! let transcripts = MemoryStorage::new(16 << 20); // refuses a transcript over 16 MiB
//! let downloader = Downloader::builder(std::env::var("CRONOFY_CLIENT_SECRET")?)
//!     .storage(transcripts.clone())
//!     .categories([ResourceCategory::Transcript])
//!     .build()?;
//! let report = downloader.download(callback).await?;
//! for resource in &report.resources {
//!     // Taken out of the store, which keeps no copy of it (a store shared between
//!     // meetings would otherwise keep every transcript it fetched).
//!     if let Some(json) = resource.location.as_ref().and_then(|at| transcripts.take(at)) {
//!         // Captions even if Cronofy changes the kind of a value; say what was left out.
//!         let salvaged = Transcript::salvage(&json)?;
//!         if !salvaged.left_out.is_empty() {
//!             tracing::warn!(left_out = ?salvaged.left_out, "the transcript did not quite match");
//!         }
//!         std::fs::write("captions.vtt", salvaged.transcript.to_webvtt())?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `rustls` | HTTPS through rustls | yes |
//! | `native-tls` | HTTPS through the platform's TLS instead | no |
//! | `progress` | `IndicatifProgress`, progress bars through `indicatif` | no |
//! | `object-store` | `ObjectStoreStorage`: S3, GCS, Azure or local object stores, multipart uploads whose parts go up while the download goes on | no |
//!
//! Cronofy's URLs are `https`: turn the default features off only to choose `native-tls`
//! (`default-features = false, features = ["native-tls"]`). With neither backend, and none
//! turned on in reqwest by another crate of yours, every download fails with reqwest's
//! "invalid URL, scheme is not http".

#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod downloader;
mod error;
mod fetch;
mod headers;
mod manifest;
mod names;
mod progress;
mod retry;
mod storage;
mod urls;

pub use builder::{BuildError, DownloaderBuilder};
pub use downloader::Downloader;
pub use error::DownloadError;
pub use manifest::{EntryStatus, Manifest, ManifestEntry, MeetingReport, ResourceReport};
pub use names::safe_component;
#[cfg(feature = "progress")]
pub use progress::IndicatifProgress;
pub use progress::ProgressEvent;
pub use retry::RetryPolicy;
#[cfg(feature = "object-store")]
pub use storage::ObjectStoreStorage;
pub use storage::{
    FileStorage, Location, MemoryStorage, Partial, PrefixHash, ResourceKey, Sink, Storage,
    Validator,
};
/// Re-exported so callers need not depend on tokio-util for cancellation.
pub use tokio_util::sync::CancellationToken;

/// The core crate, at the version this crate uses: [`EventSubscription`], what
/// [`Downloader::download`] takes, and the rest of the model and the verifier.
///
/// [`EventSubscription`]: cronofy_notify_core::EventSubscription
pub use cronofy_notify_core;
#[doc(no_inline)]
pub use cronofy_notify_core::{ClientSecret, ResourceCategory};
