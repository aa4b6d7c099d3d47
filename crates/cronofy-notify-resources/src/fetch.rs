//! Fetching one resource: attempts, redirects, resume, retries.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE,
    LOCATION, RANGE,
};
use reqwest::{StatusCode, Url};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use crate::downloader::Inner;
use crate::error::redact;
use crate::headers::{header_text, parse_content_range, strong_etag, unsatisfied_total};
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
}

impl Held {
    fn nothing() -> Self {
        Self {
            written: 0,
            hash: PrefixHash::new(),
            validator: Validator::default(),
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
        let url = checked_url(self.url, self.inner.allow_http)?;
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
            };
        }

        let mut failures = 0u32;
        loop {
            report.attempts += 1;
            let before = held.written;
            let outcome = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Err(Failure::from(DownloadError::Cancelled { kept: 0 })),
                outcome = self.attempt(&url, &mut *sink, &mut held, report) => outcome,
            };
            report.bytes = held.written;
            let failure = match outcome {
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
            Some(etag) if held.written > 0 => Some(Resume {
                offset: held.written,
                etag: etag.to_owned(),
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
            Verdict::Whole { total } => {
                if held.written > 0 {
                    // The server sent the whole body again (it ignored Range, or If-Range failed).
                    restart(sink, held, report).await?;
                }
                total
            }
            Verdict::AlreadyHeld => return Ok(()),
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

        self.stream_body(response, &final_url, sink, held, report)
            .await
    }

    /// Streams an answer's body into the sink after the bytes held, counting them against the
    /// total the answer declared (`held.validator.total`).
    async fn stream_body(
        &self,
        response: reqwest::Response,
        final_url: &Url,
        sink: &mut dyn Sink,
        held: &mut Held,
        report: &mut ResourceReport,
    ) -> Result<(), Failure> {
        let total = held.validator.total;
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
            _ => Ok(()),
        }
    }

    /// Sends the GET, following redirects by hand: the API key goes to the Cronofy URL only.
    async fn send(
        &self,
        url: &Url,
        resume: Option<&Resume>,
    ) -> Result<(reqwest::Response, Url, bool), Failure> {
        let mut current = url.clone();
        for hop in 0..=self.inner.max_redirects {
            let mut request = self
                .inner
                .client
                .get(current.clone())
                .header(ACCEPT_ENCODING, "identity");
            if hop == 0 {
                request = request.header(AUTHORIZATION, self.inner.authorization.clone());
            }
            if let Some(resume) = resume {
                request = request
                    .header(RANGE, format!("bytes={}-", resume.offset))
                    .header(IF_RANGE, resume.etag.as_str());
            }
            let response = timeout(self.inner.idle_timeout, request.send())
                .await
                .map_err(|_| DownloadError::Idle {
                    url: redact(&current),
                    idle: self.inner.idle_timeout,
                })?
                .map_err(|error| DownloadError::network(&current, &error))?;
            if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED
            {
                // An injected client that follows redirects itself answers from where they led:
                // from the storage side all the same (whose 403 or 400 means an expired link).
                let followed = response.url() != &current;
                if followed {
                    warn_client_follows_redirects();
                    current = checked_url(response.url().as_str(), self.inner.allow_http)?;
                }
                return Ok((response, current, hop > 0 || followed));
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| current.join(location).ok());
            let next = match location {
                Some(next) => next,
                // Cronofy names the pre-signed URL in its JSON body too: the way on when a
                // proxy or a change at Cronofy drops the header.
                None => download_url_in_body(response, self.inner.idle_timeout)
                    .await
                    .and_then(|url| current.join(&url).ok())
                    .ok_or_else(|| DownloadError::Redirect {
                        url: redact(&current),
                        reason: "no usable Location header, nor a resource.download_url in its body",
                    })?,
            };
            current = checked_url(next.as_str(), self.inner.allow_http)?;
        }
        Err(DownloadError::Redirect {
            url: redact(url),
            reason: "too many redirects",
        }
        .into())
    }
}

/// The URL a redirect's JSON body names as `resource.download_url`, as Cronofy's do beside their
/// `Location`. Read only while small (a redirect's body is a line of JSON) and while bytes keep
/// coming; `None` when it is larger, stalls, or names no URL.
async fn download_url_in_body(mut response: reqwest::Response, idle: Duration) -> Option<String> {
    const MOST: usize = 16 * 1024;
    #[derive(serde::Deserialize)]
    struct Answer {
        resource: Named,
    }
    #[derive(serde::Deserialize)]
    struct Named {
        download_url: String,
    }
    if response
        .content_length()
        .is_some_and(|length| length > MOST as u64)
    {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = timeout(idle, response.chunk()).await.ok()?.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > MOST {
            return None;
        }
    }
    let answer: Answer = serde_json::from_slice(&body).ok()?;
    Some(answer.resource.download_url)
}

/// Says once per process that the injected client follows redirects: it should not (see
/// [`DownloaderBuilder::client`](crate::DownloaderBuilder::client)).
fn warn_client_follows_redirects() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "the reqwest::Client given to the downloader follows redirects itself; build it with \
             redirect(reqwest::redirect::Policy::none()) so that the downloader follows them, \
             without the API key"
        );
    });
}

/// Where a resumed request asks the body to start, and the validator it must still match.
struct Resume {
    offset: u64,
    etag: String,
}

/// What an answer's status and headers say of the body that follows.
#[derive(Debug)]
enum Verdict {
    /// The rest of the body, after the bytes held (a 206 from the offset asked for).
    Rest { total: Option<u64> },
    /// The whole body, from its first byte: whatever is held goes first.
    Whole { total: Option<u64> },
    /// Nothing is left to fetch (a 416 whose total is what is held).
    AlreadyHeld,
    /// The bytes held no longer match the resource: drop them, then fail the attempt.
    Discard(DownloadError),
    /// The answer is unusable; what is held is still good.
    Fail(DownloadError),
    /// A status that carries no body of the resource (4xx, 5xx, or a 202/204 "not ready yet").
    Refused,
}

/// Judges an answer from its status and headers alone, before a byte of its body is read.
fn judge(response: &reqwest::Response, resume: Option<&Resume>) -> Verdict {
    let headers = response.headers();
    let content_range = || header_text(headers, &CONTENT_RANGE).unwrap_or_default();
    match (response.status(), resume) {
        (StatusCode::PARTIAL_CONTENT, Some(resume)) => {
            let range = content_range();
            match parse_content_range(&range) {
                Some((start, _)) if start != resume.offset => {
                    Verdict::Discard(DownloadError::BadContentRange {
                        expected_start: resume.offset,
                        content_range: range,
                    })
                }
                Some(_) if header_text(headers, &ETAG).is_some_and(|etag| etag != resume.etag) => {
                    Verdict::Discard(DownloadError::Changed)
                }
                Some((_, total)) => Verdict::Rest { total },
                None => Verdict::Discard(DownloadError::BadContentRange {
                    expected_start: resume.offset,
                    content_range: range,
                }),
            }
        }
        // A 206 to a plain GET: fine if it starts at 0; a short one resumes like a cut body.
        (StatusCode::PARTIAL_CONTENT, None) => {
            let range = content_range();
            match parse_content_range(&range) {
                Some((0, total)) => Verdict::Whole { total },
                _ => Verdict::Fail(DownloadError::BadContentRange {
                    expected_start: 0,
                    content_range: range,
                }),
            }
        }
        (StatusCode::RANGE_NOT_SATISFIABLE, Some(resume)) => {
            if unsatisfied_total(&content_range()) == Some(resume.offset) {
                Verdict::AlreadyHeld
            } else {
                Verdict::Discard(DownloadError::Changed)
            }
        }
        // The whole resource. Other 2xx carry none: 202 and 204 say "not ready yet".
        (StatusCode::OK | StatusCode::NON_AUTHORITATIVE_INFORMATION, _) => Verdict::Whole {
            total: response.content_length(),
        },
        _ => Verdict::Refused,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body("").unwrap().into()
    }

    fn resume_at(offset: u64) -> Resume {
        Resume {
            offset,
            etag: "\"v1\"".into(),
        }
    }

    #[test]
    fn a_resumed_answer_must_start_where_asked_and_keep_its_etag() {
        let resume = resume_at(100);
        let judged = |headers: &[(&str, &str)]| judge(&answer(206, headers), Some(&resume));
        let range = ("content-range", "bytes 100-199/200");
        assert!(matches!(
            judged(&[range, ("etag", "\"v1\"")]),
            Verdict::Rest { total: Some(200) }
        ));
        assert!(matches!(
            judged(&[range]),
            Verdict::Rest { total: Some(200) }
        ));
        assert!(matches!(
            judged(&[range, ("etag", "\"v2\"")]),
            Verdict::Discard(DownloadError::Changed)
        ));
        for range in ["bytes 0-199/200", "bytes 101-199/200", "", "bytes */200"] {
            assert!(
                matches!(
                    judged(&[("content-range", range)]),
                    Verdict::Discard(DownloadError::BadContentRange {
                        expected_start: 100,
                        ..
                    })
                ),
                "{range:?}"
            );
        }
    }

    #[test]
    fn a_206_to_a_plain_get_counts_only_from_the_first_byte() {
        let judged = |range| judge(&answer(206, &[("content-range", range)]), None);
        assert!(matches!(
            judged("bytes 0-99/200"),
            Verdict::Whole { total: Some(200) }
        ));
        assert!(matches!(
            judged("bytes 100-199/200"),
            Verdict::Fail(DownloadError::BadContentRange {
                expected_start: 0,
                ..
            })
        ));
    }

    #[test]
    fn a_416_means_done_only_when_its_total_is_what_is_held() {
        let resume = resume_at(200);
        let judged = |range| judge(&answer(416, &[("content-range", range)]), Some(&resume));
        assert!(matches!(judged("bytes */200"), Verdict::AlreadyHeld));
        assert!(matches!(
            judged("bytes */150"),
            Verdict::Discard(DownloadError::Changed)
        ));
        assert!(matches!(
            judge(&answer(416, &[("content-range", "bytes */0")]), None),
            Verdict::Refused
        ));
    }

    #[test]
    fn a_200_is_the_whole_body_and_other_statuses_carry_none() {
        let resume = resume_at(100);
        let ok = answer(200, &[("content-length", "0")]);
        assert!(matches!(
            judge(&ok, Some(&resume)),
            Verdict::Whole { total: Some(0) }
        ));
        for status in [202, 204, 304, 404, 429, 500, 503] {
            assert!(
                matches!(judge(&answer(status, &[]), Some(&resume)), Verdict::Refused),
                "{status}"
            );
        }
    }
}
