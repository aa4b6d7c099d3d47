//! Test support for the cronofy-notify workspace.
//!
//! - [`vectors`] reads the shared signed test vectors from `../shared/vectors/` beside the project
//!   (never a copy), so every crate's tests check the same cases.
//! - [`fake`] runs a fake Cronofy on loopback: resource URLs that check the Bearer key and redirect
//!   to a second, "pre-signed" host that refuses `Authorization`, serving generated bodies of any
//!   size with `Range` and `ETag`, and faults on demand (drops, stalls, status bursts,
//!   `Retry-After`, ignored `Range`, changed `ETag`, lying `Content-Length`, expiring links),
//!   and bodies unframed on request, ended by closing the connection.
//! - [`samples`] generates content, such as a meeting transcript.
//! - [`http_cases`] is the table of requests every framework adapter must answer alike, over
//!   HTTP/1.1 and over HTTP/2 in cleartext, and [`random_requests`] draws many more, each with
//!   the status the spec gives it.
//! - [`logs`] captures what `tracing` writes, to check what is logged and what never is.

pub mod fake;
pub mod http_cases;
pub mod logs;
pub mod random_requests;
pub mod samples;
pub mod vectors;

/// One line naming the machine a figure was measured on: the CPU model and the cores.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}
