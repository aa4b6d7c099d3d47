//! Reading the response headers that decide what a body is: validators and byte ranges.

use reqwest::Version;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderName, TRANSFER_ENCODING};

/// A header's value as trimmed text, when it is text.
pub(crate) fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
}

/// A strong ETag (weak ones, `W/"..."`, cannot validate a byte range).
pub(crate) fn strong_etag(etag: Option<&str>) -> Option<&str> {
    etag.filter(|etag| !etag.is_empty() && !etag.starts_with("W/"))
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`): the start and, when known, the total.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
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
pub(crate) fn unsatisfied_total(value: &str) -> Option<u64> {
    value.trim().strip_prefix("bytes */")?.trim().parse().ok()
}

/// Whether only the closing of the connection marks where the body ends: an HTTP/1 answer with
/// neither a `Content-Length` nor chunked framing. A connection cut short then looks just like
/// the end of the body. (HTTP/2 and HTTP/3 mark the end of every body.)
pub(crate) fn ends_with_connection(version: Version, headers: &HeaderMap) -> bool {
    let http1 = matches!(
        version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    );
    // Chunked framing is the last transfer coding of all, when it is applied.
    let chunked = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|codings| codings.rsplit(',').next())
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
    http1 && !chunked && !headers.contains_key(CONTENT_LENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_http1_body_without_length_or_chunks_ends_with_its_connection() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(*name, value.parse().unwrap());
            }
            headers
        };
        let none = with(&[]);
        assert!(ends_with_connection(Version::HTTP_11, &none));
        assert!(ends_with_connection(Version::HTTP_10, &none));
        assert!(!ends_with_connection(Version::HTTP_2, &none));
        assert!(!ends_with_connection(Version::HTTP_3, &none));
        for framed in [
            with(&[("content-length", "10")]),
            with(&[("transfer-encoding", "chunked")]),
            with(&[("transfer-encoding", "gzip, Chunked")]),
            with(&[
                ("transfer-encoding", "gzip"),
                ("transfer-encoding", "chunked"),
            ]),
        ] {
            assert!(
                !ends_with_connection(Version::HTTP_11, &framed),
                "{framed:?}"
            );
        }
        // A coding other than chunked last leaves the body to end with the connection.
        for unframed in [
            with(&[("transfer-encoding", "chunked, gzip")]),
            with(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "gzip"),
            ]),
        ] {
            assert!(
                ends_with_connection(Version::HTTP_11, &unframed),
                "{unframed:?}"
            );
        }
    }

    #[test]
    fn content_ranges_are_read_strictly() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, None)));
        assert_eq!(
            parse_content_range("bytes 199-199/200"),
            Some((199, Some(200))),
            "the last byte alone"
        );
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
