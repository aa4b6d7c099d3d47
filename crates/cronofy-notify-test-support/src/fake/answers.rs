//! What the two servers answer: the API's redirect (or its faults) and the storage's bodies,
//! generated from a pattern, with `Range`, `ETag` and the faults queued for each request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt as _;

use super::{CHUNK, Fake, ResourceSpec, Seen};

/// Generated bodies repeat a pattern of this many bytes: a prime, so that bytes put at a wrong
/// offset (a bad resume) do not line up with the right ones except at multiples of it.
const PERIOD: u64 = 1_048_573;

/// The repeating pattern of a generated body of `version`, built once per version.
fn pattern(version: u32) -> Bytes {
    static PATTERNS: Mutex<Vec<Bytes>> = Mutex::new(Vec::new());
    let mut patterns = PATTERNS.lock().unwrap_or_else(PoisonError::into_inner);
    while patterns.len() <= version as usize {
        let v = patterns.len() as u64;
        let bytes: Vec<u8> = (0..PERIOD)
            .map(|i| {
                let x =
                    (i ^ v.wrapping_mul(0x5851_F42D_4C95_7F2D)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (x >> 29) as u8 ^ (i as u8)
            })
            .collect();
        patterns.push(Bytes::from(bytes));
    }
    patterns[version as usize].clone()
}

/// The body from `start` to `end` (exclusive), in chunks of at most [`CHUNK`] bytes; generated
/// chunks are slices of the shared pattern, so serving costs no copy.
pub(super) fn chunks(
    spec: &ResourceSpec,
    version: u32,
    start: u64,
    end: u64,
) -> impl Iterator<Item = Bytes> + use<> {
    let content = spec.content.clone();
    let generated = content.is_none().then(|| pattern(version));
    let mut at = start;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let len = (end - at).min(CHUNK as u64);
        let chunk = match (&content, &generated) {
            (Some(fixed), _) => fixed.slice(at as usize..(at + len) as usize),
            (None, Some(pattern)) => {
                let from = at % PERIOD;
                let len = len.min(PERIOD - from);
                pattern.slice(from as usize..(from + len) as usize)
            }
            (None, None) => unreachable!("generated is set when content is not"),
        };
        at += chunk.len() as u64;
        Some(chunk)
    })
}

/// Counts a storage body as in flight from its first byte until it is dropped.
struct InFlight(Fake);

impl InFlight {
    fn enter(fake: &Fake) -> Self {
        let mut shared = fake.lock();
        shared.in_flight += 1;
        shared.max_in_flight = shared.max_in_flight.max(shared.in_flight);
        Self(fake.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

fn etag_of(name: &str, version: u32) -> String {
    format!("\"{name}-v{version}\"")
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn seen(headers: &HeaderMap, side: &'static str, name: &str, status: u16, planned: u64) -> Seen {
    Seen {
        side,
        name: name.to_owned(),
        authorization: header(headers, header::AUTHORIZATION),
        range: header(headers, header::RANGE),
        if_range: header(headers, header::IF_RANGE),
        accept_encoding: header(headers, header::ACCEPT_ENCODING),
        status,
        planned_bytes: planned,
    }
}

fn status_response(status: u16, retry_after: Option<String>) -> Response {
    let mut response = StatusCode::from_u16(status)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        .into_response();
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(super) async fn api_get(
    State(fake): State<Fake>,
    Path((_sub, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let expected = format!("Bearer {}", fake.api_key);
    let fault = {
        let mut shared = fake.lock();
        if header(&headers, header::AUTHORIZATION).as_deref() != Some(expected.as_str()) {
            shared.seen.push(seen(&headers, "api", &name, 401, 0));
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let Some(served) = shared.resources.get_mut(&name) else {
            shared.seen.push(seen(&headers, "api", &name, 404, 0));
            return StatusCode::NOT_FOUND.into_response();
        };
        served.api_faults.pop_front().unwrap_or_default()
    };
    if let Some(stall) = fault.stall {
        tokio::time::sleep(stall).await;
    }
    let mut shared = fake.lock();
    if let Some((status, retry_after)) = fault.status {
        shared.seen.push(seen(&headers, "api", &name, status, 0));
        return status_response(status, retry_after);
    }
    let base = if shared
        .resources
        .get(&name)
        .is_some_and(|served| served.spec.unframed)
    {
        &fake.unframed_base
    } else {
        &fake.storage_base
    };
    shared.next_token += 1;
    let token = shared.next_token;
    shared.live_tokens.insert(token, name.clone());
    shared.seen.push(seen(&headers, "api", &name, 302, 0));
    let location = format!("{base}/objects/{name}?X-Amz-Signature=sig{token}&token={token}");
    let body = serde_json::json!({"resource": {"download_url": location}}).to_string();
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, "application/json".to_owned()),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn storage_get(
    State(fake): State<Fake>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut shared = fake.lock();
    // Object stores refuse a second authentication mechanism beside the pre-signed query.
    if headers.contains_key(header::AUTHORIZATION) {
        shared.seen.push(seen(&headers, "storage", &name, 400, 0));
        return (StatusCode::BAD_REQUEST, "Only one auth mechanism allowed").into_response();
    }
    let token: Option<u64> = query.get("token").and_then(|t| t.parse().ok());
    let valid = token.is_some_and(|t| shared.live_tokens.get(&t) == Some(&name));
    if !valid {
        shared.seen.push(seen(&headers, "storage", &name, 403, 0));
        return (StatusCode::FORBIDDEN, "Request has expired").into_response();
    }
    if shared.single_use_links {
        shared.live_tokens.remove(&token.unwrap_or_default());
    }
    let Some(served) = shared.resources.get_mut(&name) else {
        shared.seen.push(seen(&headers, "storage", &name, 404, 0));
        return StatusCode::NOT_FOUND.into_response();
    };
    let fault = served.faults.pop_front().unwrap_or_default();
    if fault.change_version {
        served.version += 1;
    }
    if let Some((status, retry_after)) = fault.status {
        shared
            .seen
            .push(seen(&headers, "storage", &name, status, 0));
        return status_response(status, retry_after);
    }
    let spec = served.spec.clone();
    let version = served.version;
    let etag = etag_of(&name, version);

    // Range, honoured only when If-Range (if any) names the current version.
    let if_range_ok = header(&headers, header::IF_RANGE).is_none_or(|v| v == etag);
    let start = header(&headers, header::RANGE)
        .filter(|_| !fault.ignore_range && if_range_ok)
        .and_then(|r| {
            r.strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse::<u64>()
                .ok()
        });
    let (status, start) = match start {
        Some(start) if start >= spec.size => {
            shared.seen.push(seen(&headers, "storage", &name, 416, 0));
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{}", spec.size))],
            )
                .into_response();
        }
        Some(start) => (StatusCode::PARTIAL_CONTENT, start),
        None => (StatusCode::OK, 0),
    };
    let planned = spec.size - start;
    shared
        .seen
        .push(seen(&headers, "storage", &name, status.as_u16(), planned));
    drop(shared);

    let end = fault
        .drop_at
        .or(fault.end_at)
        .filter(|&d| d >= start)
        .unwrap_or(spec.size)
        .min(spec.size);
    let dropping = end < spec.size && fault.drop_at.is_some();
    let stall = fault.stall_at;
    let mut at = start;
    let body = futures::stream::iter(chunks(&spec, version, start, end)).then(move |chunk| {
        let chunk_start = at;
        at += chunk.len() as u64;
        async move {
            if let Some((offset, wait)) = stall
                && offset >= chunk_start
                && offset < chunk_start + chunk.len() as u64
            {
                tokio::time::sleep(wait).await;
            }
            Ok::<_, std::io::Error>(chunk)
        }
    });
    let overrun = fault
        .overrun
        .filter(|_| status == StatusCode::PARTIAL_CONTENT && !dropping)
        .map(|extra| Ok(Bytes::from(vec![b'!'; usize::try_from(extra).unwrap_or(0)])));
    let body = body.chain(futures::stream::iter(overrun));
    // The drop waits a moment: a server that fails its body at once discards what it has not
    // flushed yet, so a small body would never reach the client up to the drop's offset.
    let body = body.chain(
        futures::stream::iter(dropping.then_some(())).then(|()| async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault: connection dropped",
            ))
        }),
    );
    let guard = InFlight::enter(&fake);
    let body = body.map(move |chunk| {
        let _ = &guard;
        chunk
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let declared = planned + fault.overstate_length.unwrap_or(0);
    if !fault.chunked && !spec.unframed {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(declared));
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&spec.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if spec.etag
        && !fault.omit_etag
        && let Ok(value) = HeaderValue::from_str(&etag)
    {
        headers.insert(header::ETAG, value);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let range = format!("bytes {start}-{}/{}", spec.size - 1, spec.size);
        if let Ok(value) = HeaderValue::from_str(&range) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    response
}
