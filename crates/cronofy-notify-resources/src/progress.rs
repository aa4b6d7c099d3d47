//! Typed progress events, delivered to a callback of the application's.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ResourceKey;

/// What a download is doing. Sent to the callback given to
/// [`DownloaderBuilder::on_progress`](crate::DownloaderBuilder::on_progress); `Progress` events
/// are throttled (see [`DownloaderBuilder::progress_interval`](crate::DownloaderBuilder::progress_interval)).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The first response arrived; bytes are about to flow.
    Started {
        /// Which resource.
        resource: ResourceKey,
        /// The full length, when the server declared it.
        total: Option<u64>,
        /// Bytes already held from an earlier attempt or process.
        resumed_from: u64,
    },
    /// Bytes were written.
    Progress {
        /// Which resource.
        resource: ResourceKey,
        /// Bytes held so far.
        bytes: u64,
        /// The full length, when known.
        total: Option<u64>,
    },
    /// An attempt failed and another follows after `delay`.
    Retrying {
        /// Which resource.
        resource: ResourceKey,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it failed.
        reason: String,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// The resource is stored.
    Finished {
        /// Which resource.
        resource: ResourceKey,
        /// Its length.
        bytes: u64,
        /// Its SHA-256, lowercase hex.
        sha256: String,
    },
    /// The resource could not be stored.
    Failed {
        /// Which resource.
        resource: ResourceKey,
        /// Why.
        reason: String,
    },
}

impl ProgressEvent {
    /// The resource the event is about.
    pub fn resource(&self) -> &ResourceKey {
        match self {
            Self::Started { resource, .. }
            | Self::Progress { resource, .. }
            | Self::Retrying { resource, .. }
            | Self::Finished { resource, .. }
            | Self::Failed { resource, .. } => resource,
        }
    }
}

/// The callback progress events go to.
#[derive(Clone)]
pub(crate) struct ProgressFn(pub(crate) Arc<dyn Fn(ProgressEvent) + Send + Sync>);

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn(..)")
    }
}

#[cfg(feature = "progress")]
pub use bars::IndicatifProgress;

#[cfg(feature = "progress")]
mod bars {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, PoisonError};

    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

    use super::ProgressEvent;
    use crate::ResourceKey;

    /// Progress bars for downloads, one per resource, through `indicatif`.
    ///
    /// ```
    /// use cronofy_notify_resources::{Downloader, IndicatifProgress};
    ///
    /// let bars = IndicatifProgress::new(indicatif::MultiProgress::new());
    /// let downloader = Downloader::builder("api-key")
    ///     .on_progress(bars.handler())
    ///     .build()?;
    /// # Ok::<(), cronofy_notify_resources::BuildError>(())
    /// ```
    #[derive(Clone, Debug)]
    pub struct IndicatifProgress {
        multi: MultiProgress,
        bars: Arc<Mutex<HashMap<ResourceKey, ProgressBar>>>,
    }

    impl IndicatifProgress {
        /// Bars drawn in `multi`.
        pub fn new(multi: MultiProgress) -> Self {
            Self {
                multi,
                bars: Arc::default(),
            }
        }

        /// The callback to give to `DownloaderBuilder::on_progress`.
        pub fn handler(&self) -> impl Fn(ProgressEvent) + Send + Sync + 'static {
            let this = self.clone();
            move |event| this.handle(&event)
        }

        /// The bar of a resource, once an event about it arrived.
        pub fn bar_for(&self, resource: &ResourceKey) -> Option<ProgressBar> {
            let bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
            bars.get(resource).cloned()
        }

        fn bar(&self, resource: &ResourceKey, total: Option<u64>) -> ProgressBar {
            let mut bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
            bars.entry(resource.clone())
                .or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>24} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                        )
                        .expect("the template is valid"),
                    );
                    bar.set_prefix(resource.label());
                    bar
                })
                .clone()
        }

        fn handle(&self, event: &ProgressEvent) {
            match event {
                ProgressEvent::Started {
                    resource,
                    total,
                    resumed_from,
                } => {
                    let bar = self.bar(resource, *total);
                    if let Some(total) = total {
                        bar.set_length(*total);
                    }
                    bar.set_position(*resumed_from);
                }
                ProgressEvent::Progress {
                    resource,
                    bytes,
                    total,
                } => {
                    let bar = self.bar(resource, *total);
                    bar.set_position(*bytes);
                }
                ProgressEvent::Retrying {
                    resource,
                    reason,
                    delay,
                    ..
                } => {
                    self.bar(resource, None)
                        .set_message(format!("retrying in {delay:.1?}: {reason}"));
                }
                ProgressEvent::Finished {
                    resource, bytes, ..
                } => {
                    let bar = self.bar(resource, None);
                    bar.set_position(*bytes);
                    bar.finish_with_message("done");
                }
                ProgressEvent::Failed { resource, reason } => {
                    self.bar(resource, None)
                        .abandon_with_message(format!("failed: {reason}"));
                }
            }
        }
    }
}
