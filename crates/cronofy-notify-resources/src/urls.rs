//! Which URLs a download may fetch, and which hosts may be sent the API key.

use reqwest::Url;

use crate::DownloadError;
use crate::error::redact;

/// The API key goes only to the hosts `allowed`, when they are set (each with its subdomains).
pub(crate) fn check_api_host(url: &Url, allowed: Option<&[String]>) -> Result<(), DownloadError> {
    let Some(allowed) = allowed else {
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

/// `url` parsed, when it may be fetched: https, or http when `allow_http`, on a host name that
/// can resolve.
pub(crate) fn checked_url(url: &str, allow_http: bool) -> Result<Url, DownloadError> {
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
        "http" if allow_http => Ok(parsed),
        "http" => Err(DownloadError::InsecureUrl {
            url: redact(&parsed),
        }),
        other => Err(DownloadError::InvalidUrl {
            url: redact(&parsed),
            reason: format!("scheme {other:?} is not http(s)"),
        }),
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
}
