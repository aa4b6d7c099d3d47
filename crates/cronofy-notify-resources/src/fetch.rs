//! Fetching one resource: attempts, redirects, resume, retries.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap,
    IF_RANGE, LOCATION, RANGE,
};
use reqwest::{StatusCode, Url};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use crate::downloader::Inner;
use crate::error::redact;
use crate::retry::retry_after;
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
        let url = self.checked_url(self.url)?;
        self.check_api_host(&url)?;
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
            Some(etag) if held.written > 0 => Some((held.written, etag.to_owned())),
            _ => {
                if held.written > 0 {
                    // Without a strong validator the bytes held cannot be trusted to match.
                    restart(sink, held, report).await?;
                }
                None
            }
        };
        let (response, final_url, on_redirect) = self.send(url, resume.as_ref()).await?;
        let status = response.status();
        let headers = response.headers();
        let etag = header_text(headers, &ETAG);

        let total = match (status, &resume) {
            (StatusCode::PARTIAL_CONTENT, Some((offset, our_etag))) => {
                let range = header_text(headers, &CONTENT_RANGE).unwrap_or_default();
                let Some((start, total)) = parse_content_range(&range) else {
                    restart(sink, held, report).await?;
                    return Err(DownloadError::BadContentRange {
                        expected_start: *offset,
                        content_range: range,
                    }
                    .into());
                };
                if start != *offset {
                    restart(sink, held, report).await?;
                    return Err(DownloadError::BadContentRange {
                        expected_start: *offset,
                        content_range: range,
                    }
                    .into());
                }
                if etag.as_ref().is_some_and(|etag| etag != our_etag) {
                    restart(sink, held, report).await?;
                    return Err(DownloadError::Changed.into());
                }
                if report.resumed_from == 0 {
                    report.resumed_from = start;
                }
                total
            }
            // A 206 to a plain GET: fine if it starts at 0; a short one resumes like a cut body.
            (StatusCode::PARTIAL_CONTENT, None) => {
                let range = header_text(headers, &CONTENT_RANGE).unwrap_or_default();
                match parse_content_range(&range) {
                    Some((0, total)) => total,
                    _ => {
                        return Err(DownloadError::BadContentRange {
                            expected_start: 0,
                            content_range: range,
                        }
                        .into());
                    }
                }
            }
            (StatusCode::RANGE_NOT_SATISFIABLE, Some(_)) => {
                let range = header_text(headers, &CONTENT_RANGE).unwrap_or_default();
                if unsatisfied_total(&range) == Some(held.written) {
                    // Everything is already held.
                    return Ok(());
                }
                restart(sink, held, report).await?;
                return Err(DownloadError::Changed.into());
            }
            // The whole resource. Other 2xx carry none: 202 and 204 say "not ready yet".
            (StatusCode::OK | StatusCode::NON_AUTHORITATIVE_INFORMATION, _) => {
                if held.written > 0 {
                    // The server sent the whole body again (it ignored Range, or If-Range failed).
                    restart(sink, held, report).await?;
                }
                response.content_length()
            }
            (status, _) => {
                return Err(Failure {
                    error: DownloadError::Status {
                        status: status.as_u16(),
                        url: redact(&final_url),
                        on_redirect,
                    },
                    retry_after: retry_after(headers),
                });
            }
        };
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

        let mut body = response.bytes_stream();
        let mut last_progress = Instant::now();
        loop {
            let next = timeout(self.inner.idle_timeout, body.next())
                .await
                .map_err(|_| DownloadError::Idle {
                    url: redact(&final_url),
                    idle: self.inner.idle_timeout,
                })?;
            let chunk = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                Some(Err(error)) => return Err(DownloadError::network(&final_url, &error).into()),
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
        resume: Option<&(u64, String)>,
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
            if let Some((offset, etag)) = resume {
                request = request
                    .header(RANGE, format!("bytes={offset}-"))
                    .header(IF_RANGE, etag.as_str());
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
                return Ok((response, current, hop > 0));
            }
            let next = response
                .headers()
                .get(LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| current.join(location).ok())
                .ok_or_else(|| DownloadError::Redirect {
                    url: redact(&current),
                    reason: "no usable Location header",
                })?;
            current = self.checked_url(next.as_str())?;
        }
        Err(DownloadError::Redirect {
            url: redact(url),
            reason: "too many redirects",
        }
        .into())
    }

    /// The API key goes only to the hosts allowed, when they are set.
    fn check_api_host(&self, url: &Url) -> Result<(), DownloadError> {
        let Some(allowed) = &self.inner.api_hosts else {
            return Ok(());
        };
        let host = url.host_str().unwrap_or_default().trim_end_matches('.');
        if allowed.iter().any(|allowed| within(host, allowed)) {
            Ok(())
        } else {
            Err(DownloadError::UntrustedHost {
                host: host.to_owned(),
                url: redact(url),
            })
        }
    }

    fn checked_url(&self, url: &str) -> Result<Url, DownloadError> {
        let parsed = Url::parse(url).map_err(|e| DownloadError::InvalidUrl {
            url: url.split('?').next().unwrap_or_default().to_owned(),
            reason: e.to_string(),
        })?;
        // A host that is not a DNS name never resolves: say so now rather than spend every
        // attempt and its backoff on it (about 18 s by default), as a network error would: with
        // rustls such a host fails inside the connect, as "invalid dns name".
        if let Some(domain) = parsed.domain()
            && !is_dns_name(domain)
        {
            return Err(DownloadError::InvalidUrl {
                url: redact(&parsed),
                reason: format!("{domain:?} is not a host name"),
            });
        }
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if self.inner.allow_http => Ok(parsed),
            "http" => Err(DownloadError::InsecureUrl {
                url: redact(&parsed),
            }),
            other => Err(DownloadError::InvalidUrl {
                url: redact(&parsed),
                reason: format!("scheme {other:?} is not http(s)"),
            }),
        }
    }
}

/// Whether `host` is `allowed` or one of its subdomains.
fn within(host: &str, allowed: &str) -> bool {
    host == allowed
        || host
            .strip_suffix(allowed)
            .is_some_and(|subdomain| subdomain.ends_with('.'))
}

/// Whether `domain` (as the URL parser gives it: lower case, internationalised names already
/// in ASCII) is a DNS host name: labels of 1 to 63 letters, digits, `-` or `_`, not starting or
/// ending with `-`, 253 bytes at most, one trailing dot allowed.
fn is_dns_name(domain: &str) -> bool {
    let name = domain.strip_suffix('.').unwrap_or(domain);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
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

fn header_text(headers: &HeaderMap, name: &reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
}

/// A strong ETag (weak ones, `W/"..."`, cannot validate a byte range).
fn strong_etag(etag: Option<&str>) -> Option<&str> {
    etag.filter(|etag| !etag.is_empty() && !etag.starts_with("W/"))
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`): the start and, when known, the total.
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        total => {
            let total: u64 = total.parse().ok()?;
            if end >= total {
                return None;
            }
            Some(total)
        }
    };
    Some((start, total))
}

/// The total of a 416's `bytes */TOTAL`.
fn unsatisfied_total(value: &str) -> Option<u64> {
    value.trim().strip_prefix("bytes */")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allowed_host_covers_itself_and_its_subdomains_only() {
        assert!(within("cronofy.com", "cronofy.com"));
        assert!(within("api.cronofy.com", "cronofy.com"));
        assert!(within("api-de.cronofy.com", "cronofy.com"));
        assert!(!within("evilcronofy.com", "cronofy.com"));
        assert!(!within("cronofy.com.evil.example", "cronofy.com"));
        assert!(!within("com", "cronofy.com"));
        assert!(!within("", "cronofy.com"));
    }

    #[test]
    fn content_ranges_are_read_strictly() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, None)));
        assert_eq!(parse_content_range("bytes 10-5/200"), None);
        assert_eq!(parse_content_range("bytes 0-200/200"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(unsatisfied_total("bytes */200"), Some(200));
        assert_eq!(unsatisfied_total("bytes 0-1/2"), None);
    }

    #[test]
    fn weak_etags_do_not_validate_ranges() {
        assert_eq!(strong_etag(Some("\"abc\"")), Some("\"abc\""));
        assert_eq!(strong_etag(Some("W/\"abc\"")), None);
        assert_eq!(strong_etag(Some("")), None);
        assert_eq!(strong_etag(None), None);
    }
}
