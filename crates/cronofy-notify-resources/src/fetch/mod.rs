//! Fetching one resource: attempts, resume, retries. Redirects are followed in `redirects`;
//! each answer is judged in `verdict`.

mod redirects;
mod verdict;

use std::time::Duration;

use futures::StreamExt;
use reqwest::Url;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, ETAG};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use self::verdict::{Resume, Verdict, judge};
use crate::downloader::Inner;
use crate::error::redact;
use crate::headers::{ends_with_connection, header_text, strong_etag};
use crate::retry::retry_after;
use crate::urls::{check_api_host, checked_url};
use crate::{
    DownloadError, PrefixHash, ProgressEvent, ResourceKey, ResourceReport, Sink, Validator,
};

/// One resource to fetch.
pub(crate) struct Fetch<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) key: ResourceKey,
    pub(crate) url: &'a str,
    pub(crate) cancel: CancellationToken,
}

/// A failed attempt, with the server's `Retry-After` when it gave one.
struct Failure {
    error: DownloadError,
    retry_after: Option<Duration>,
}

impl From<DownloadError> for Failure {
    fn from(error: DownloadError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// The bytes held so far and what the server said about them.
struct Held {
    written: u64,
    hash: PrefixHash,
    validator: Validator,
    /// The last answer's body ended, but nothing said the resource ends there: it came without
    /// a length, ended by its connection's close (which a cut looks like too), or it was a range
    /// of a resource whose total the server did not give (`Content-Range: bytes 0-99/*`).
    open_end: bool,
}

impl Held {
    fn nothing() -> Self {
        Self {
            written: 0,
            hash: PrefixHash::new(),
            validator: Validator::default(),
            open_end: false,
        }
    }
}

pub(crate) async fn fetch_resource(fetch: Fetch<'_>) -> ResourceReport {
    let started = Instant::now();
    let mut report = ResourceReport {
        category: fetch.key.category.clone(),
        kind: fetch.key.kind.clone(),
        occurrence: fetch.key.occurrence,
        source_url: fetch.url.to_owned(),
        location: None,
        bytes: 0,
        sha256: None,
        content_type: None,
        content_encoding: None,
        attempts: 0,
        resumed_from: 0,
        duration: Duration::ZERO,
        skipped: false,
        error: None,
    };
    if let Err(error) = fetch.run(&mut report).await {
        report.error = Some(error);
    }
    report.duration = started.elapsed();
    report
}

impl Fetch<'_> {
    fn emit(&self, event: impl FnOnce() -> ProgressEvent) {
        if let Some(progress) = &self.inner.progress {
            (progress.0)(event());
        }
    }

    async fn run(&self, report: &mut ResourceReport) -> Result<(), DownloadError> {
        let url = checked_url(self.url, self.inner.plain_http)?;
        check_api_host(&url, self.inner.api_hosts.as_deref())?;
        let policy = &self.inner.retry;
        // None: a deadline too far away to be a time, which is to say none.
        let deadline = Instant::now().checked_add(policy.overall_deadline());
        let mut sink = self
            .inner
            .storage
            .open(&self.key)
            .await
            .map_err(DownloadError::storage)?;
        let mut held = Held::nothing();
        if let Some(partial) = sink.take_partial() {
            tracing::info!(offset = partial.offset, "resuming what an earlier run left");
            held = Held {
                written: partial.offset,
                hash: partial.hash,
                validator: partial.validator,
                open_end: false,
            };
        }

        let mut failures = 0u32;
        loop {
            report.attempts += 1;
            let before = held.written;
            let asking = held.open_end;
            let outcome = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Err(Failure::from(DownloadError::Cancelled { kept: 0 })),
                outcome = self.attempt(&url, &mut *sink, &mut held, report) => outcome,
            };
            report.bytes = held.written;
            let askable = held.open_end && strong_etag(held.validator.etag.as_deref()).is_some();
            let failure = match outcome {
                // A question answered with nothing further, the end as open as before (an empty
                // range): a failed attempt, so that a server of empty answers is not asked
                // for ever, and a body it may have cut is not kept as whole.
                Ok(()) if askable && asking && held.written == before => {
                    Failure::from(DownloadError::Unconfirmed {
                        received: held.written,
                    })
                }
                // Ask for what follows the bytes held: a 416 confirms the end; a 206 carries on
                // where the body was cut, or where its range stopped.
                Ok(()) if askable => {
                    tracing::debug!(
                        bytes = held.written,
                        "nothing said the resource ends here; asking for what follows to confirm its end"
                    );
                    continue;
                }
                Ok(()) => {
                    let content_type = held.validator.content_type.clone();
                    let location = sink
                        .finish(content_type.clone())
                        .await
                        .map_err(DownloadError::storage)?;
                    let sha256 = held.hash.finish_hex();
                    self.emit(|| ProgressEvent::Finished {
                        resource: self.key.clone(),
                        bytes: held.written,
                        sha256: sha256.clone(),
                    });
                    report.location = Some(location);
                    report.sha256 = Some(sha256);
                    report.content_type = content_type;
                    report.content_encoding = held.validator.content_encoding.clone();
                    return Ok(());
                }
                Err(failure) => failure,
            };
            if failure.error.is_cancelled() {
                sink.suspend().await.map_err(DownloadError::storage)?;
                return Err(DownloadError::Cancelled { kept: held.written });
            }
            if !failure.error.is_retryable() {
                // Permanent: nothing to resume later. A failed clean-up is not the news here.
                let _ = sink.abort().await;
                return Err(failure.error);
            }
            if held.written > before {
                failures = 0;
            }
            failures += 1;
            if failures >= policy.max_attempts() {
                let _ = sink.suspend().await;
                return Err(DownloadError::GaveUp {
                    attempts: report.attempts,
                    last: Box::new(failure.error),
                });
            }
            let delay = policy.delay(failures, failure.retry_after);
            let past_deadline = deadline.is_some_and(|deadline| {
                Instant::now()
                    .checked_add(delay)
                    .is_none_or(|retry_at| retry_at >= deadline)
            });
            if past_deadline {
                let _ = sink.suspend().await;
                return Err(DownloadError::DeadlineExceeded {
                    deadline: policy.overall_deadline(),
                    last: Box::new(failure.error),
                });
            }
            tracing::warn!(error = %failure.error, ?delay, attempt = report.attempts, "retrying");
            self.emit(|| ProgressEvent::Retrying {
                resource: self.key.clone(),
                attempt: report.attempts,
                reason: failure.error.to_string(),
                delay,
            });
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
                    sink.suspend().await.map_err(DownloadError::storage)?;
                    return Err(DownloadError::Cancelled { kept: held.written });
                }
                () = sleep(delay) => {}
            }
        }
    }

    /// One HTTP attempt, from the Cronofy URL, resuming from what is held when it can.
    async fn attempt(
        &self,
        url: &Url,
        sink: &mut dyn Sink,
        held: &mut Held,
        report: &mut ResourceReport,
    ) -> Result<(), Failure> {
        let resume = match strong_etag(held.validator.etag.as_deref()) {
            // With nothing held, the question whether an empty body was all is `bytes=0-`.
            Some(etag) if held.written > 0 || held.open_end => Some(Resume {
                offset: held.written,
                etag: etag.to_owned(),
                asking: held.open_end,
            }),
            _ => {
                if held.written > 0 {
                    // Without a strong validator the bytes held cannot be trusted to match.
                    restart(sink, held, report).await?;
                }
                None
            }
        };
        let (response, final_url, on_redirect) = self.send(url, resume.as_ref()).await?;
        // A 206 that leaves its ETag out still answered the If-Range it was sent, so the
        // validator asked with stays good for the next resume.
        let mut confirmed_etag = None;
        let total = match judge(&response, resume.as_ref()) {
            Verdict::Rest { total } => {
                if report.resumed_from == 0 {
                    report.resumed_from = held.written;
                }
                confirmed_etag = resume.map(|resume| resume.etag);
                total
            }
            Verdict::Whole { .. } if held.open_end && !changed(&response, held) => {
                // Asked to confirm the end of a body that came without a length, the server
                // would send it all again (it ignores Range): the end cannot be confirmed, and
                // the body is kept as it came, as any client would. (A body under a new ETag
                // is a new version of the resource, and is taken whole below.)
                tracing::info!(
                    bytes = held.written,
                    "the server does not answer Range, so the end of a body that came without its length cannot be confirmed"
                );
                held.open_end = false;
                return Ok(());
            }
            Verdict::Whole { total } => {
                if held.written > 0 {
                    // The server sent the whole body again (it ignored Range, or If-Range failed).
                    restart(sink, held, report).await?;
                }
                total
            }
            Verdict::AlreadyHeld => {
                held.open_end = false;
                return Ok(());
            }
            Verdict::Discard(error) => {
                restart(sink, held, report).await?;
                return Err(error.into());
            }
            Verdict::Fail(error) => return Err(error.into()),
            Verdict::Refused => {
                return Err(Failure {
                    error: DownloadError::Status {
                        status: response.status().as_u16(),
                        url: redact(&final_url),
                        on_redirect,
                    },
                    retry_after: retry_after(response.headers()),
                });
            }
        };
        let headers = response.headers();
        let etag = header_text(headers, &ETAG).or(confirmed_etag);
        if let (Some(limit), Some(total)) = (self.inner.max_size, total)
            && total > limit
        {
            return Err(DownloadError::TooLarge { limit, size: total }.into());
        }

        held.validator = Validator {
            etag: strong_etag(etag.as_deref()).map(str::to_owned),
            total,
            content_type: header_text(headers, &CONTENT_TYPE),
            content_encoding: header_text(headers, &CONTENT_ENCODING)
                .filter(|encoding| !encoding.eq_ignore_ascii_case("identity")),
        };
        if let Some(encoding) = &held.validator.content_encoding {
            tracing::warn!(
                %encoding,
                "the server encoded the body though asked for identity; it is stored as served"
            );
        }
        sink.checkpoint(&held.validator)
            .await
            .map_err(DownloadError::storage)?;
        self.emit(|| ProgressEvent::Started {
            resource: self.key.clone(),
            total,
            resumed_from: held.written,
        });

        // A range with no total (`bytes 0-99/*`) may stop short of the end, as a body that
        // only its connection's close ends may have been cut: neither says the resource ends.
        let open_ended = response.status() == reqwest::StatusCode::PARTIAL_CONTENT
            || ends_with_connection(response.version(), headers);
        self.stream_body(response, open_ended, &final_url, sink, held, report)
            .await
    }

    /// Streams an answer's body into the sink after the bytes held, counting them against the
    /// total the answer declared (`held.validator.total`). `open_ended`: the end of this body,
    /// when no total was declared, need not be the end of the resource.
    async fn stream_body(
        &self,
        response: reqwest::Response,
        open_ended: bool,
        final_url: &Url,
        sink: &mut dyn Sink,
        held: &mut Held,
        report: &mut ResourceReport,
    ) -> Result<(), Failure> {
        let total = held.validator.total;
        held.open_end = false;
        let mut body = response.bytes_stream();
        let mut last_progress = Instant::now();
        loop {
            let next = timeout(self.inner.idle_timeout, body.next())
                .await
                .map_err(|_| DownloadError::Idle {
                    url: redact(final_url),
                    idle: self.inner.idle_timeout,
                })?;
            let chunk = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                Some(Err(error)) => return Err(DownloadError::network(final_url, &error).into()),
            };
            let size = held.written + chunk.len() as u64;
            if let Some(expected) = total
                && size > expected
            {
                restart(sink, held, report).await?;
                return Err(DownloadError::Overlong { expected }.into());
            }
            if let Some(limit) = self.inner.max_size
                && size > limit
            {
                return Err(DownloadError::TooLarge { limit, size }.into());
            }
            sink.write(&chunk).await.map_err(DownloadError::storage)?;
            held.hash.update(&chunk);
            held.written = size;
            if last_progress.elapsed() >= self.inner.progress_interval {
                last_progress = Instant::now();
                self.emit(|| ProgressEvent::Progress {
                    resource: self.key.clone(),
                    bytes: size,
                    total,
                });
            }
        }
        match total {
            Some(expected) if held.written < expected => Err(DownloadError::Truncated {
                expected,
                received: held.written,
            }
            .into()),
            Some(_) => Ok(()),
            None => {
                // However many bytes came, none at all included (a body may be cut before its
                // first): the caller asks what follows, and fails an answer that added nothing.
                held.open_end = open_ended;
                Ok(())
            }
        }
    }
}

/// Whether an answer names a version of the resource other than the one held: its ETag differs.
fn changed(response: &reqwest::Response, held: &Held) -> bool {
    header_text(response.headers(), &ETAG)
        .is_some_and(|etag| Some(etag.as_str()) != held.validator.etag.as_deref())
}

async fn restart(
    sink: &mut dyn Sink,
    held: &mut Held,
    report: &mut ResourceReport,
) -> Result<(), Failure> {
    sink.restart().await.map_err(DownloadError::storage)?;
    *held = Held::nothing();
    report.resumed_from = 0;
    Ok(())
}
