//! Sending a GET and following its redirects by hand, so that the API key goes to Cronofy's
//! URL only.

use std::time::Duration;

use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, IF_RANGE, LOCATION, RANGE};
use reqwest::{StatusCode, Url};
use tokio::time::timeout;

use super::{Failure, Fetch, Resume};
use crate::DownloadError;
use crate::error::redact;
use crate::urls::checked_url;

impl Fetch<'_> {
    /// Sends the GET, following redirects by hand: the API key goes to the Cronofy URL only.
    pub(super) async fn send(
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
                    current = checked_url(response.url().as_str(), self.inner.plain_http)?;
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
            current = checked_url(next.as_str(), self.inner.plain_http)?;
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
