//! Helpers shared by the downloader's tests.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "object-store")]
pub mod upload_store;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronofy_notify_core::{EventSubscription, Notification};
use cronofy_notify_resources::{
    Downloader, DownloaderBuilder, MeetingReport, ProgressEvent, RetryPolicy,
};

pub const API_KEY: &str = "test-api-key-that-must-not-leak";

/// Retries that keep the suite fast.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(40))
}

/// A downloader for loopback tests: plain http allowed, quick retries, files under `root`.
pub fn builder(root: &Path) -> DownloaderBuilder {
    Downloader::builder(API_KEY)
        .root(root)
        .allow_http(true)
        .retry(quick_retries())
        .idle_timeout(Duration::from_secs(5))
}

/// Downloads the resources of a callback body with the default test downloader.
pub async fn download(root: &Path, body: &[u8]) -> MeetingReport {
    builder(root).download_body(body).await
}

/// For tests that configure their downloader beyond [`builder`]: build it, then download a
/// callback body with it.
pub trait DownloadBody {
    /// `build()`, then the download of `body`'s callback; panics if either fails as a whole.
    fn download_body(self, body: &[u8]) -> impl std::future::Future<Output = MeetingReport>;
}

impl DownloadBody for DownloaderBuilder {
    async fn download_body(self, body: &[u8]) -> MeetingReport {
        self.build()
            .expect("the downloader builds")
            .download(&callback(body))
            .await
            .expect("the meeting as a whole is fine")
    }
}

pub fn callback(body: &[u8]) -> EventSubscription {
    match Notification::from_slice(body).expect("a notification") {
        Notification::EventSubscription(callback) => callback,
        other => panic!("not an event subscription: {other:?}"),
    }
}

/// Collects every progress event.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<ProgressEvent>>>);

impl Events {
    pub fn handler(&self) -> impl Fn(ProgressEvent) + Send + Sync + 'static {
        let events = self.0.clone();
        move |event| events.lock().unwrap().push(event)
    }

    pub fn all(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}
