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
    /// The resource URL is not `https` and plain http was not allowed
    /// ([`DownloaderBuilder::allow_http`](crate::DownloaderBuilder::allow_http),
    /// [`allow_http_on_loopback`](crate::DownloaderBuilder::allow_http_on_loopback)).
    #[error(
        "refusing to send the API key to {url}: only https is allowed (plain http only when allowed, for local tests)"
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
    /// A body that declared no length ended, and asking for what follows it got nothing further
    /// and no answer that it ends there: the server answered with an empty range. Whether the
    /// resource is whole cannot be told yet; a later attempt asks again.
    #[error(
        "the body ended after {received} bytes without a length, and the server sent nothing to say whether more follow"
    )]
    Unconfirmed {
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
    /// The callback has no `meeting_agent.sub` (or a blank one) to file its resources under.
    #[error("the callback has no meeting_agent.sub, so its resources have nowhere to go")]
    NoAgentSub,
    /// A redirect named nowhere to go (no usable `Location`, nor a `resource.download_url` in
    /// its JSON body), or there were too many.
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
        400 | 403 if on_redirect => " (the pre-signed link may have expired)",
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
    /// 5xx, a 202 or 204 (an answer without the resource: not ready yet), and a 400 or 403 from
    /// the pre-signed storage link, which is how object stores refuse an expired link (S3 and
    /// Azure answer 403; S3 links signed with temporary credentials and Google Cloud Storage
    /// links, 400) and which a new attempt renews through the Cronofy URL.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Network { .. } | Self::Idle { .. } | Self::Truncated { .. } => true,
            Self::Unconfirmed { .. } => true,
            Self::Overlong { .. } => true,
            Self::BadContentRange { .. } | Self::Changed => true,
            Self::Status {
                status,
                on_redirect,
                ..
            } => {
                matches!(status, 202 | 204 | 408 | 429 | 500..=599)
                    || (*on_redirect && matches!(status, 400 | 403))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, on_redirect: bool) -> DownloadError {
        DownloadError::Status {
            status,
            url: "https://api.cronofy.com/v1/x".into(),
            on_redirect,
        }
    }

    /// Each status says what to check or what happens next, and is retried only when another
    /// attempt may succeed.
    #[test]
    fn a_status_error_says_what_it_means_and_whether_it_is_retried() {
        // (status, from the storage link, the message ends, retried)
        let table = [
            (
                401,
                false,
                "(check the API key: it is the application's client secret)",
                false,
            ),
            (403, true, "(the pre-signed link may have expired)", true),
            (400, true, "(the pre-signed link may have expired)", true),
            (400, false, "answered HTTP 400", false),
            (
                403,
                false,
                "(the API key may lack access to this meeting agent)",
                false,
            ),
            (
                404,
                false,
                "(the resource is gone or the URL is wrong)",
                false,
            ),
            (
                202,
                false,
                "(no recording in it: not ready yet, will retry)",
                true,
            ),
            (
                204,
                false,
                "(no recording in it: not ready yet, will retry)",
                true,
            ),
            (408, false, "(will retry)", true),
            (429, false, "(will retry)", true),
            (500, false, "(server error)", true),
            (599, true, "(server error)", true),
            (410, false, "answered HTTP 410", false),
        ];
        for (code, on_redirect, ends, retried) in table {
            let error = status(code, on_redirect);
            let message = error.to_string();
            assert!(message.ends_with(ends), "{code}: {message}");
            assert_eq!(error.is_retryable(), retried, "{code} {on_redirect}");
            assert_eq!(error.status(), Some(code));
        }
    }

    #[test]
    fn a_url_in_an_error_keeps_where_it_points_and_drops_what_it_carries() {
        let url = reqwest::Url::parse(
            "https://user:pass@storage.example.com:8443/bucket/a.mp4?X-Amz-Signature=abc#part",
        )
        .unwrap();
        assert_eq!(
            redact(&url),
            "https://storage.example.com:8443/bucket/a.mp4"
        );
    }

    #[tokio::test]
    async fn a_network_error_says_what_failed_and_why() {
        // A port nobody listens on: refused.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = reqwest::Url::parse(&format!("http://{}/r?key=v", closed.local_addr().unwrap()))
            .unwrap();
        drop(closed);
        let error = reqwest::get(url.clone()).await.unwrap_err();
        let message = DownloadError::network(&url, &error).to_string();
        assert!(
            message.starts_with(&format!("network error on {}", redact(&url))),
            "{message}"
        );
        assert!(message.contains(": could not connect: "), "{message}");
        assert!(!message.contains("key=v"), "{message}");

        // A body that ends before its Content-Length.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url =
            reqwest::Url::parse(&format!("http://{}/r", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut head).await;
            tokio::io::AsyncWriteExt::write_all(
                &mut socket,
                b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort",
            )
            .await
            .unwrap();
        });
        let response = reqwest::get(url.clone()).await.unwrap();
        let error = response.bytes().await.unwrap_err();
        server.await.unwrap();
        let message = DownloadError::network(&url, &error).to_string();
        assert!(message.contains(": the body was cut off"), "{message}");
    }
}
