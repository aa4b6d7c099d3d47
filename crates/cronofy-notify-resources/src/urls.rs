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

/// An `api_hosts` entry in the form [`check_api_host`] compares: an IP address as given, or a
/// host name as the URL parser writes a URL's (lower case, internationalised names in ASCII),
/// without dots at either end (`.cronofy.com`, as cookies say "and subdomains", is
/// `cronofy.com`). `None` for what no URL's host could match: a URL, a port, a path, a wildcard.
pub(crate) fn api_host(entry: &str) -> Option<String> {
    let entry = entry.trim().trim_matches('.');
    if ip_address(entry).is_some() {
        return Some(entry.to_owned());
    }
    // The URL parser would take `:443` or `/v1` for what follows a host, and `*` inside one,
    // without a word: only what a host name is made of goes on to it.
    if !entry
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return None;
    }
    let url = Url::parse(&format!("https://{entry}/")).ok()?;
    let domain = url.domain()?;
    is_dns_name(domain).then(|| domain.to_owned())
}

/// Which plain-http URLs may be fetched (https always may).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainHttp {
    /// None: the API key would cross the network in clear.
    Refused,
    /// Those on this machine only: a loopback address or `localhost` (a fake Cronofy in a test).
    Loopback,
    /// Any.
    Allowed,
}

impl PlainHttp {
    /// The policy a builder's two switches make: `allow_http` wins.
    pub(crate) fn new(allow_http: bool, on_loopback: bool) -> Self {
        match (allow_http, on_loopback) {
            (true, _) => Self::Allowed,
            (false, true) => Self::Loopback,
            (false, false) => Self::Refused,
        }
    }

    fn admits(self, url: &Url) -> bool {
        match self {
            Self::Refused => false,
            Self::Loopback => on_loopback(url),
            Self::Allowed => true,
        }
    }
}

/// Whether `url`'s host is this machine: a loopback address (IPv4's 127.0.0.0/8, IPv6's `::1`,
/// or 127.0.0.0/8 mapped into IPv6) or `localhost`. Other names are not trusted to resolve there.
fn on_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    match ip_address(host) {
        Some(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Some(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|ip| ip.is_loopback())
        }
        None => host.strip_suffix('.').unwrap_or(host) == "localhost",
    }
}

/// `url` parsed, when it may be fetched: https, or http as `plain_http` admits, on a host name
/// that can resolve.
pub(crate) fn checked_url(url: &str, plain_http: PlainHttp) -> Result<Url, DownloadError> {
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
        "http" if plain_http.admits(&parsed) => Ok(parsed),
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
    fn an_api_host_is_a_host_alone_written_as_urls_write_it() {
        for (given, kept) in [
            ("cronofy.com", "cronofy.com"),
            ("API.Cronofy.COM", "api.cronofy.com"),
            (" .cronofy.com. ", "cronofy.com"),
            ("api_internal.example", "api_internal.example"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "[::1]"),
            ("::1", "::1"),
        ] {
            assert_eq!(api_host(given).as_deref(), Some(kept), "{given:?}");
        }
        for refused in [
            "https://api.example.com",
            "api.example.com:443",
            "api.example.com/v1",
            "*.example.com",
            "user@api.example.com",
            "api example.com",
            "-api.example.com",
            "1.2.3",
            ".",
            "",
        ] {
            assert_eq!(api_host(refused), None, "{refused:?}");
        }
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

    #[test]
    fn on_loopback_means_a_loopback_address_or_localhost() {
        let admits = |url: &str| PlainHttp::Loopback.admits(&Url::parse(url).unwrap());
        for here in [
            "http://127.0.0.1:8080/a",
            "http://127.1.2.3/a",
            "http://[::1]:8080/a",
            "http://[::ffff:127.0.0.1]/a",
            "http://localhost:3000/a",
            "http://LOCALHOST./a",
        ] {
            assert!(admits(here), "{here}");
        }
        for elsewhere in [
            "http://10.0.0.1/a",
            "http://[::2]/a",
            "http://[::ffff:10.0.0.1]/a",
            "http://0.0.0.0/a",
            "http://localhost.example.com/a",
            "http://app.localhost/a",
            "http://api.cronofy.com/a",
        ] {
            assert!(!admits(elsewhere), "{elsewhere}");
        }
    }

    #[test]
    fn allow_http_wins_over_loopback_and_https_is_always_admitted() {
        assert_eq!(PlainHttp::new(true, false), PlainHttp::Allowed);
        assert_eq!(PlainHttp::new(true, true), PlainHttp::Allowed);
        assert_eq!(PlainHttp::new(false, true), PlainHttp::Loopback);
        assert_eq!(PlainHttp::new(false, false), PlainHttp::Refused);
        let remote = "http://api.cronofy.com/v1/a";
        assert!(checked_url(remote, PlainHttp::Allowed).is_ok());
        assert!(matches!(
            checked_url(remote, PlainHttp::Loopback),
            Err(DownloadError::InsecureUrl { .. })
        ));
        assert!(checked_url("http://127.0.0.1/a", PlainHttp::Refused).is_err());
        assert!(checked_url("https://api.cronofy.com/a", PlainHttp::Refused).is_ok());
    }
}
