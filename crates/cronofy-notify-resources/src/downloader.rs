//! The [`Downloader`]: built once, shared, used for every completed meeting.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use cronofy_notify_core::{ClientSecret, EventSubscription, ResourceCategory};
use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::fetch::{Fetch, fetch_resource};
use crate::progress::ProgressFn;
use crate::urls::PlainHttp;
use crate::{
    DownloadError, DownloaderBuilder, MeetingReport, ProgressEvent, ResourceKey, ResourceReport,
    RetryPolicy, Storage,
};

/// Downloads the transcript, audio and video of completed meetings into a [`Storage`].
///
/// Build it once with [`Downloader::builder`] and share it: clones are cheap and share the HTTP
/// connection pool and the concurrency limits.
///
/// Each resource is fetched with `Authorization: Bearer <api key>` from its Cronofy URL; the
/// redirect to the pre-signed storage link is followed without the key. Transient failures
/// (network errors, stalls, 408/429/5xx, bodies cut off) are retried with backoff, resuming from
/// the bytes already held (`Range` + `If-Range`), each attempt starting again from the Cronofy URL
/// so that an expired link is renewed. Memory use is constant whatever the size; the SHA-256 of
/// every resource is computed while it streams. A resource already complete per the manifest is
/// not fetched again, so a redelivered callback costs nothing.
///
/// ```no_run
/// use cronofy_notify_core::Verifier;
/// use cronofy_notify_resources::Downloader;
///
/// # async fn handle(verifier: Verifier, header: &str, body: bytes::Bytes) -> Result<(), Box<dyn std::error::Error>> {
/// let downloader = Downloader::builder(std::env::var("CRONOFY_CLIENT_SECRET")?)
///     .root("./resources")
///     .build()?;
///
/// let verified = verifier.verify_and_parse(header, body)?;
/// if let Some(callback) = verified.to_event_subscription().filter(|c| c.resources_ready()) {
///     let report = downloader.download(&callback).await?;
///     for resource in &report.resources {
///         println!("{}: {:?} {:?}", resource.category, resource.location, resource.sha256);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Downloader {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// `Bearer <api key>`, made once and marked sensitive (HTTP/2 never indexes it).
    pub(crate) authorization: HeaderValue,
    pub(crate) client: reqwest::Client,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) retry: RetryPolicy,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_size: Option<u64>,
    pub(crate) categories: Vec<ResourceCategory>,
    pub(crate) plain_http: PlainHttp,
    /// The hosts (and their subdomains) the API key may go to; `None`: any.
    pub(crate) api_hosts: Option<Vec<String>>,
    pub(crate) max_redirects: usize,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) progress_interval: Duration,
    pub(crate) global: Arc<Semaphore>,
    pub(crate) per_host: usize,
    pub(crate) hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// One lock per meeting agent being downloaded, so that two calls for the same one (a
    /// callback delivered twice at once) run one after the other. Entries die with their last
    /// holder.
    pub(crate) meetings: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for Downloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Downloader")
            .field("api_key", &"[redacted]")
            .field("storage", &inner.storage)
            .field("retry", &inner.retry)
            .field("idle_timeout", &inner.idle_timeout)
            .field("max_size", &inner.max_size)
            .field("categories", &inner.categories)
            .field("plain_http", &inner.plain_http)
            .finish_non_exhaustive()
    }
}

impl Downloader {
    /// Starts configuring a downloader that authenticates with `api_key`: the application's
    /// client secret, the same one that signs the callbacks.
    pub fn builder(api_key: impl Into<ClientSecret>) -> DownloaderBuilder {
        DownloaderBuilder::new(api_key.into())
    }

    /// Downloads every resource of `callback` whose category is configured (transcript, audio and
    /// video by default), concurrently within the limits, and records each in the agent's
    /// manifest. Resources already complete are skipped.
    ///
    /// Calls for the same meeting agent run one after the other on this downloader and its
    /// clones, so a callback delivered twice at once is downloaded once: the second call finds
    /// the first one's work in the manifest. A download that another process (or an unrelated
    /// `Downloader`) is writing into the same folder is left alone:
    /// [`FileStorage`](crate::FileStorage) locks its `.part` file, and this call reports that
    /// resource [busy](DownloadError::is_busy). Each resource is looked up in the manifest as
    /// stored when it starts, and recorded through [`Storage::record_in_manifest`] when it ends,
    /// so two processes finishing parts of one meeting keep each other's entries.
    ///
    /// # Errors
    /// Only for the meeting as a whole: [`DownloadError::NoAgentSub`] without a
    /// `meeting_agent.sub`, [`DownloadError::Storage`] when the manifest cannot be read or written.
    /// Each resource's own failure is in its [`ResourceReport`].
    pub async fn download(
        &self,
        callback: &EventSubscription,
    ) -> Result<MeetingReport, DownloadError> {
        self.download_with_cancel(callback, CancellationToken::new())
            .await
    }

    /// As [`Downloader::download`], stopping when `cancel` is cancelled: downloads under way keep
    /// what they wrote (with [`FileStorage`](crate::FileStorage)) and are resumed by a later call.
    ///
    /// # Errors
    /// As [`Downloader::download`].
    pub async fn download_with_cancel(
        &self,
        callback: &EventSubscription,
        cancel: CancellationToken,
    ) -> Result<MeetingReport, DownloadError> {
        let sub = callback
            .agent_sub()
            .ok_or(DownloadError::NoAgentSub)?
            .to_owned();
        let inner = &self.inner;
        let meeting = self.meeting_lock(&sub);
        let _meeting = match meeting.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                tracing::info!(%sub, "this meeting is being downloaded already; waiting for that to end");
                meeting.lock_owned().await
            }
        };
        // One resource at a time records its outcome: the storage's default
        // `record_in_manifest` is a read and then a write.
        let manifest_turn = tokio::sync::Mutex::new(());

        let wanted = self.wanted(&sub, callback);
        let jobs = wanted.into_iter().map(|(key, url)| {
            let (manifest_turn, sub) = (&manifest_turn, &sub);
            let cancel = cancel.clone();
            let span =
                tracing::info_span!("cronofy_resource", sub = %key.sub, resource = %key.stem());
            async move {
                if let Some(done) = self.already_complete(&key).await? {
                    tracing::debug!("already complete; not fetched again");
                    return Ok(done);
                }
                let report = self.fetch(key, url, cancel).await;
                if report.error.as_ref().is_some_and(DownloadError::is_busy) {
                    // The other download's outcome is the one to record, not this one's.
                    return Ok(report);
                }
                let _turn = manifest_turn.lock().await;
                inner
                    .storage
                    .record_in_manifest(sub, report.to_entry())
                    .await
                    .map_err(DownloadError::storage)?;
                Ok(report)
            }
            .instrument(span)
        });
        let resources = futures::future::join_all(jobs)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, DownloadError>>()?;
        Ok(MeetingReport { sub, resources })
    }

    /// The resources of `callback` to fetch, each with a key whose name no other one shares: a
    /// second resource of the same category and type (two videos) is its second occurrence, and
    /// one listed twice under the same URL is fetched once.
    fn wanted<'c>(
        &self,
        sub: &str,
        callback: &'c EventSubscription,
    ) -> Vec<(ResourceKey, &'c str)> {
        let mut listed = HashSet::new();
        let mut stems = HashSet::new();
        let mut wanted = Vec::new();
        for resource in callback.resources() {
            let Some(category) = resource.category.as_ref() else {
                tracing::warn!(
                    kind = ?resource.kind,
                    "a resource without a category is not fetched: nothing says what it is"
                );
                continue;
            };
            let Some(url) = resource.url.as_deref().filter(|u| !u.trim().is_empty()) else {
                if self.inner.categories.contains(category) {
                    tracing::warn!(%category, "a resource without a URL cannot be fetched");
                }
                continue;
            };
            if !self.inner.categories.contains(category)
                || *category == ResourceCategory::Cronofy
                || !listed.insert((category, &resource.kind, url))
            {
                continue;
            }
            let mut key = ResourceKey::new(sub, category.clone(), resource.kind.clone());
            // Names are sanitised, so two types can meet in one name (`conference-2` and the
            // second `conference`): take the next occurrence until the name is free.
            while !stems.insert(key.stem()) {
                key.occurrence += 1;
            }
            wanted.push((key, url));
        }
        wanted
    }

    /// The lock of one meeting agent's downloads, shared by every call for it in flight.
    fn meeting_lock(&self, sub: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut meetings = self
            .inner
            .meetings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(lock) = meetings.get(sub).and_then(Weak::upgrade) {
            return lock;
        }
        meetings.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        meetings.insert(sub.to_owned(), Arc::downgrade(&lock));
        lock
    }

    /// The report of a resource the manifest stored now records as complete, and that is still
    /// where it went; `None` when it is to be fetched.
    async fn already_complete(
        &self,
        key: &ResourceKey,
    ) -> Result<Option<ResourceReport>, DownloadError> {
        let storage = &self.inner.storage;
        let manifest = storage
            .load_manifest(&key.sub)
            .await
            .map_err(DownloadError::storage)?;
        let Some(entry) = manifest
            .as_ref()
            .and_then(|manifest| manifest.entry_for(key))
            .filter(|entry| entry.status == crate::EntryStatus::Complete)
        else {
            return Ok(None);
        };
        let Some(location) = entry.location.as_ref() else {
            return Ok(None);
        };
        Ok(storage
            .contains(location, entry.bytes)
            .await
            .then(|| ResourceReport::from_complete_entry(entry)))
    }

    async fn fetch(
        &self,
        key: ResourceKey,
        url: &str,
        cancel: CancellationToken,
    ) -> ResourceReport {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let host_limit = {
            let mut hosts = self
                .inner
                .hosts
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.inner.per_host)))
                .clone()
        };
        // Semaphores here are never closed, so acquiring cannot fail.
        let _global = self.inner.global.acquire().await.expect("never closed");
        let _host = host_limit.acquire().await.expect("never closed");
        let report = fetch_resource(Fetch {
            inner: &self.inner,
            key: key.clone(),
            url,
            cancel,
        })
        .await;
        // Being stopped, or finding another download at work on the file, is no failure to warn
        // an operator of: a shutdown would otherwise raise a warning per resource in flight.
        match &report.error {
            None => tracing::info!(
                bytes = report.bytes,
                sha256 = report.sha256.as_deref(),
                "stored"
            ),
            Some(error) if error.is_cancelled() => {
                tracing::info!(%error, "stopped; what was written is kept for a resume");
            }
            Some(error) if error.is_busy() => {
                tracing::info!(%error, "left to the download already writing it");
            }
            Some(error) => tracing::warn!(%error, "failed"),
        }
        if let (Some(progress), Some(error)) = (&self.inner.progress, &report.error) {
            (progress.0)(ProgressEvent::Failed {
                resource: key,
                reason: error.to_string(),
            });
        }
        report
    }

    /// The storage resources go to.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn downloader() -> Downloader {
        Downloader::builder("key")
            .storage(crate::MemoryStorage::new(1024))
            .build()
            .unwrap()
    }

    #[test]
    fn a_meeting_keeps_its_lock_while_held_and_loses_its_entry_after() {
        let downloader = downloader();
        let held = downloader.meeting_lock("agt_a");
        // Another meeting's call prunes the table: the lock in use must survive that, or a
        // second call for agt_a would get a lock of its own and run beside the first.
        let other = downloader.meeting_lock("agt_b");
        assert!(Arc::ptr_eq(&held, &downloader.meeting_lock("agt_a")));
        drop((held, other));

        // Nobody holds either any more: the next call leaves only its own entry.
        let _held = downloader.meeting_lock("agt_c");
        let meetings = downloader.inner.meetings.lock().unwrap();
        assert_eq!(meetings.keys().collect::<Vec<_>>(), ["agt_c"]);
    }
}
