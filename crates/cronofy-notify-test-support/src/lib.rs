//! Test support for the cronofy-notify workspace.
//!
//! - [`vectors`] reads the shared signed test vectors from `../shared/vectors/` beside the project
//!   (never a copy), so every crate's tests check the same cases.
//! - [`fake`] runs a fake Cronofy on loopback: resource URLs that check the Bearer key and redirect
//!   to a second, "pre-signed" host that refuses `Authorization`, serving generated bodies of any
//!   size with `Range` and `ETag`, and faults on demand (drops, stalls, status bursts,
//!   `Retry-After`, ignored `Range`, changed `ETag`, lying `Content-Length`, expiring links).
//! - [`samples`] generates content, such as a meeting transcript.
//! - [`http_cases`] is the table of requests every framework adapter must answer alike.

pub mod fake;
pub mod http_cases;
pub mod samples;
pub mod vectors;
