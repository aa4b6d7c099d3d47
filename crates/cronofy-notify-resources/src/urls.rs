//! Which URLs a download may fetch, and which hosts may be sent the API key.

use reqwest::Url;

use crate::DownloadError;
use crate::error::redact;

/// The API key goes only to the hosts `allowed`, when they are set (each with its subdomains; an
/// IP address, written with or without IPv6's brackets, only itself).
pub(crate) fn check_api_host(url: &Url, allowed: Option<&[String]>) -> Result<(), DownloadError> {
    let Some(allowed) = allowed else {
        return Ok(());
    };
    let host = url.host_str().unwrap_or_default().trim_end_matches('.');
    let admitted = match ip_address(host) {
        Some(ip) => allowed
            .iter()
            .any(|allowed| ip_address(allowed) == Some(ip)),
        None => allowed.iter().any(|allowed| within(host, allowed)),
    };
    if admitted {
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

/// `host` as an IP address, when it is one (IPv6 in brackets, as in a URL, or without).
fn ip_address(host: &str) -> Option<std::net::IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Whether the host name `host` is `allowed` or one of its subdomains.
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

    #[test]
    fn an_allowed_ip_address_covers_itself_only() {
        let admits = |url: &str, allowed: &str| {
            check_api_host(&Url::parse(url).unwrap(), Some(&[allowed.to_owned()])).is_ok()
        };
        assert!(admits("http://127.0.0.1:8080/v1", "127.0.0.1"));
        assert!(!admits("http://127.0.0.1:8080/v1", "0.0.1"), "not a suffix");
        assert!(!admits("http://127.0.0.2/v1", "127.0.0.1"));
        assert!(admits("http://[::1]:8080/v1", "::1"));
        assert!(admits("http://[::1]:8080/v1", "[::1]"));
        assert!(admits("http://[0:0::1]/v1", "::1"), "compared as addresses");
        assert!(!admits("http://[::2]/v1", "::1"));
        assert!(
            !admits("http://localhost/v1", "127.0.0.1"),
            "a name is not its address"
        );
        assert!(admits("https://api.cronofy.com/v1", "cronofy.com"));
    }
}
