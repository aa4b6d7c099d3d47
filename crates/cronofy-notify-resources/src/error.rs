//! What can go wrong while fetching a resource.

use std::sync::Arc;
use std::time::Duration;

/// Why a resource could not be downloaded.
///
/// Every variant is safe to log: URLs are shown without their query string (pre-signed links
/// carry credentials there) and the API key never appears.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The resource URL is not `https` and plain http was not allowed.
    #[error(
        "refusing to send the API key to {url}: only https is allowed (allow_http(true) is for local tests)"
    )]
    InsecureUrl {
        /// The URL, without its query.
        url: String,
    },
    /// The resource URL's host is not one the API key may be sent to
    /// ([`DownloaderBuilder::api_hosts`](crate::DownloaderBuilder::api_hosts)); nothing was sent.
    #[error(
        "refusing to send the API key to {host} ({url}): it is not one of the API hosts allowed"
    )]
    UntrustedHost {
        /// The host.
        host: String,
        /// The URL, without its query.
        url: String,
    },
    /// The resource URL could not be parsed.
    #[error("the resource URL {url:?} is not valid: {reason}")]
    InvalidUrl {
        /// The URL as given, without its query.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A server answered with a status that is not success.
    #[error("{url} answered HTTP {status}{}", status_hint(*status, *on_redirect))]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The URL that answered, without its query.
        url: String,
        /// Whether the answer came from the redirect target (object storage), not Cronofy's API.
        on_redirect: bool,
    },
    /// The connection failed, or broke while the body was streaming.
    #[error("network error on {url}: {message}")]
    Network {
        /// The URL being fetched, without its query.
        url: String,
        /// What happened, as the HTTP client reported it (without the URL).
        message: String,
    },
    /// No byte arrived for the idle timeout.
    #[error("{url} sent nothing for {idle:?}; the connection looks stalled")]
    Idle {
        /// The URL being fetched, without its query.
        url: String,
        /// The idle timeout that expired.
        idle: Duration,
    },
    /// The body ended before the length the server declared.
    #[error("the body ended after {received} of {expected} bytes")]
    Truncated {
        /// Bytes declared.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// The body went on past the length the server declared for the resource (a `206` whose
    /// chunked body outran its `Content-Range`): the bytes cannot be trusted, and the next
    /// attempt starts over.
    #[error("the body went on past the {expected} bytes declared; starting over")]
    Overlong {
        /// Bytes declared for the whole resource.
        expected: u64,
    },
    /// The resource is larger than the configured limit.
    #[error(
        "the resource is {size} bytes or more, over the limit of {limit}; raise max_size to fetch it"
    )]
    TooLarge {
        /// The configured limit.
        limit: u64,
        /// The size declared or seen so far.
        size: u64,
    },
    /// A `206 Partial Content` answer did not start where the download stands.
    #[error(
        "asked for bytes from {expected_start}, got a 206 with Content-Range {content_range:?}"
    )]
    BadContentRange {
        /// The offset asked for.
        expected_start: u64,
        /// The `Content-Range` received.
        content_range: String,
    },
    /// The resource changed between attempts (its `ETag` differs); the next attempt starts over.
    #[error("the resource changed between attempts (its ETag differs); starting over")]
    Changed,
    /// The callback has no `meeting_agent.sub` to file its resources under.
    #[error("the callback has no meeting_agent.sub, so its resources have nowhere to go")]
    NoAgentSub,
    /// A redirect had no usable `Location`, or there were too many.
    #[error("bad redirect from {url}: {reason}")]
    Redirect {
        /// The URL that redirected, without its query.
        url: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// Writing to storage failed.
    #[error("storage error: {0}")]
    Storage(#[source] Arc<std::io::Error>),
    /// The download was cancelled; what was written is kept for a later resume where the
    /// storage can resume.
    #[error("cancelled after {kept} bytes")]
    Cancelled {
        /// Bytes kept.
        kept: u64,
    },
    /// Every attempt allowed failed.
    #[error("gave up after {attempts} attempts without progress; last error: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<DownloadError>,
    },
    /// The overall deadline passed.
    #[error("the overall deadline of {deadline:?} passed; last error: {last}")]
    DeadlineExceeded {
        /// The deadline.
        deadline: Duration,
        /// The last attempt's error.
        last: Box<DownloadError>,
    },
}

fn status_hint(status: u16, on_redirect: bool) -> &'static str {
    match status {
        401 => " (check the API key: it is the application's client secret)",
        403 if on_redirect => " (the pre-signed link may have expired)",
        403 => " (the API key may lack access to this meeting agent)",
        404 => " (the resource is gone or the URL is wrong)",
        202 | 204 => " (no recording in it: not ready yet, will retry)",
        408 | 429 => " (will retry)",
        500..=599 => " (server error)",
        _ => "",
    }
}

impl DownloadError {
    /// Whether another attempt may succeed: network errors, stalls, truncated bodies, 408, 429,
    /// 5xx, a 202 or 204 (an answer without the resource: not ready yet), and a 403 from the
    /// pre-signed storage link (which a new attempt renews).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Network { .. } | Self::Idle { .. } | Self::Truncated { .. } => true,
            Self::Overlong { .. } => true,
            Self::BadContentRange { .. } | Self::Changed => true,
            Self::Status {
                status,
                on_redirect,
                ..
            } => {
                matches!(status, 202 | 204 | 408 | 429 | 500..=599)
                    || (*on_redirect && *status == 403)
            }
            _ => false,
        }
    }

    /// The HTTP status, for a [`DownloadError::Status`] (or the last error of a retried one).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::GaveUp { last, .. } | Self::DeadlineExceeded { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether the download was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }

    /// Whether another download was writing the same resource to the same storage (another
    /// process, or another `Downloader` on the same folder), so this one left it alone. A later
    /// call finds that download's result in the manifest.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Storage(error) if error.kind() == std::io::ErrorKind::ResourceBusy)
    }

    pub(crate) fn storage(error: std::io::Error) -> Self {
        Self::Storage(Arc::new(error))
    }

    /// A transport error: retryable, unless the request could not even be built (which no
    /// retry mends).
    pub(crate) fn network(url: &reqwest::Url, error: &reqwest::Error) -> Self {
        if error.is_builder() {
            return Self::InvalidUrl {
                url: redact(url),
                reason: describe(error),
            };
        }
        Self::Network {
            url: redact(url),
            message: describe(error),
        }
    }
}

/// A URL fit for logs: scheme, host, port and path, never the query or credentials.
pub(crate) fn redact(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A reqwest error in words, from its source chain, without the URL it carries.
fn describe(error: &reqwest::Error) -> String {
    let mut words = if error.is_connect() {
        "could not connect".to_owned()
    } else if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the body was cut off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words
}
