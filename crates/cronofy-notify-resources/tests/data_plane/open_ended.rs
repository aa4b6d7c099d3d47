//! Bodies whose end need not be the resource's: one that only its connection's close ends
//! (HTTP/1.1 with neither a `Content-Length` nor chunked framing), which a cut looks just like,
//! and a range of a resource whose total the server does not give (`bytes 0-99/*`). The
//! downloader asks for what follows such a body before taking it as whole.
//!
//! hyper always frames a body it sends to an HTTP/1.1 client, so the storage host here is a few
//! lines over a raw socket; the last test uses the fake Cronofy's unframed storage, which the
//! fault campaign draws.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronofy_notify_resources::{DownloadError, ResourceReport};
use cronofy_notify_test_support::fake::{FakeCronofy, Fault, ResourceSpec};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::common;
use crate::{MIB, file_of};

const ETAG: &str = "\"v1\"";
const NEW_ETAG: &str = "\"v2\"";

/// How the raw storage host behaves.
#[derive(Clone, Copy)]
struct Host {
    /// Cut the first answer's body (and close the connection cleanly) after this many bytes.
    cut_first_at: Option<usize>,
    /// Answer `Range` (with `If-Range` matching the ETag) with 206 and 416.
    ranges: bool,
    /// Send the ETag.
    etag: bool,
    /// Answer a range with at most this many bytes, framed by a `Content-Length` (a server may
    /// send less than asked); otherwise, all the rest, ended by the connection's close.
    range_cap: Option<usize>,
    /// From the second request on, the resource is a new version: [`new_version`] of the body,
    /// under another ETag.
    changes: bool,
    /// Answer every range with a `206` that carries no byte (the connection closes first).
    empty_ranges: bool,
    /// Leave the total out of a `416` (`Content-Range: bytes */N` is only a SHOULD).
    bare_416: bool,
}

impl Host {
    /// Ranges and an ETag: a host that can be asked.
    const ASKABLE: Self = Self {
        cut_first_at: None,
        ranges: true,
        etag: true,
        range_cap: None,
        changes: false,
        empty_ranges: false,
        bare_416: false,
    };
}

/// A storage host on loopback serving `body` as `audio/mpeg` without framing, and the `Range`
/// header of each request it saw.
struct Unframed {
    url: String,
    ranges_asked: Arc<Mutex<Vec<Option<String>>>>,
}

impl Unframed {
    async fn start(body: Vec<u8>, host: Host) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/audio", listener.local_addr().unwrap());
        let ranges_asked = Arc::new(Mutex::new(Vec::new()));
        let seen = ranges_asked.clone();
        let changed = new_version(&body);
        tokio::spawn(async move {
            // Bounded: a handful of requests, each within the test's own timeout.
            for request in 0..16 {
                let Ok(Ok((stream, _))) =
                    tokio::time::timeout(Duration::from_secs(20), listener.accept()).await
                else {
                    return;
                };
                let cut = if request == 0 {
                    host.cut_first_at
                } else {
                    None
                };
                let (body, etag) = if host.changes && request > 0 {
                    (&changed, NEW_ETAG)
                } else {
                    (&body, ETAG)
                };
                answer(stream, (body, etag), host, cut, &seen).await;
            }
        });
        Self { url, ranges_asked }
    }

    fn ranges_asked(&self) -> Vec<Option<String>> {
        self.ranges_asked.lock().unwrap().clone()
    }

    fn callback_body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "notification": {"type": "event_subscription",
                             "interactions": [{"type": "meeting_agent_complete"}]},
            "meeting_agent": {"sub": "agt_1", "state": "complete",
                              "resources": [{"category": "audio", "type": "voice", "url": self.url}]}
        }))
        .unwrap()
    }
}

/// Answers one request for `version` (the body and its ETag) as `host` would.
async fn answer(
    mut stream: TcpStream,
    (body, etag): (&[u8], &str),
    host: Host,
    cut: Option<usize>,
    seen: &Mutex<Vec<Option<String>>>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(|value| value.trim().to_owned())
    };
    let range = header("range");
    seen.lock().unwrap().push(range.clone());
    let from = range
        .as_deref()
        .and_then(|range| {
            range
                .strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse::<usize>()
                .ok()
        })
        .filter(|_| host.ranges && host.etag && header("if-range").as_deref() == Some(etag));
    let etag = if host.etag {
        format!("ETag: {etag}\r\n")
    } else {
        String::new()
    };
    let (head, rest): (String, &[u8]) = match from {
        Some(from) if from >= body.len() => {
            let total = if host.bare_416 {
                String::new()
            } else {
                format!("Content-Range: bytes */{}\r\n", body.len())
            };
            let head =
                format!("HTTP/1.1 416 Range Not Satisfiable\r\n{total}Content-Length: 0\r\n\r\n");
            (head, &[])
        }
        Some(from) => {
            let end = from.saturating_add(host.range_cap.unwrap_or(usize::MAX));
            let rest: &[u8] = &body[from..body.len().min(end)];
            let framing = match host.range_cap {
                Some(_) => format!("Content-Length: {}", rest.len()),
                None => "Connection: close".to_owned(),
            };
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Type: audio/mpeg\r\n{etag}\
                 Content-Range: bytes {from}-{}/*\r\n{framing}\r\n\r\n",
                from + rest.len() - 1
            );
            // The range as declared, then the connection closed before its first byte.
            let rest = if host.empty_ranges { &rest[..0] } else { rest };
            (head, rest)
        }
        None => (
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\n{etag}Connection: close\r\n\r\n"
            ),
            body,
        ),
    };
    let rest = &rest[..cut.unwrap_or(rest.len()).min(rest.len())];
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(rest).await;
    let _ = stream.shutdown().await;
}

/// The resource as a new version would have it: other bytes, another length.
fn new_version(body: &[u8]) -> Vec<u8> {
    body.iter()
        .rev()
        .map(|byte| byte ^ 0x5a)
        .chain(*b"v2")
        .collect()
}

fn recording(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| (i % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}

const SIZE: usize = 300_000;

/// Downloads `body` from a host behaving as `host`, asserts that it was stored whole (byte for
/// byte, its SHA-256 reported), and gives its report and the `Range` of each request the host
/// saw.
async fn stored_whole(body: &[u8], host: Host) -> (ResourceReport, Vec<Option<String>>) {
    let served = Unframed::start(body.to_vec(), host).await;
    let root = tempfile::tempdir().unwrap();
    let mut report = common::download(root.path(), &served.callback_body()).await;
    let audio = report.resources.remove(0);
    assert!(audio.is_success(), "{audio:?}");
    assert_eq!(std::fs::read(file_of(&audio.location)).unwrap(), body);
    let sha256 = hex::encode(sha2::Sha256::digest(body));
    assert_eq!(audio.sha256.as_deref(), Some(sha256.as_str()));
    (audio, served.ranges_asked())
}

#[tokio::test]
async fn a_body_that_ends_with_its_connection_is_confirmed_by_a_416() {
    let (audio, asked) = stored_whole(&recording(SIZE), Host::ASKABLE).await;
    assert_eq!(audio.attempts, 2, "the body, then the question");
    assert_eq!(
        asked,
        [None, Some(format!("bytes={SIZE}-"))],
        "what follows the bytes held is asked for"
    );
}

/// A 416 that leaves out the total it should give still answers the question: its `If-Range`
/// matched (a changed resource gets a 200), and nothing follows the bytes held.
#[tokio::test]
async fn a_416_without_its_total_still_confirms_the_end() {
    let host = Host {
        bare_416: true,
        ..Host::ASKABLE
    };
    let (audio, asked) = stored_whole(&recording(SIZE), host).await;
    assert_eq!(audio.attempts, 2);
    assert_eq!(asked, [None, Some(format!("bytes={SIZE}-"))]);
}

#[tokio::test]
async fn a_body_cut_where_only_the_close_marked_its_end_is_resumed() {
    let cut = SIZE * 2 / 5;
    let host = Host {
        cut_first_at: Some(cut),
        ..Host::ASKABLE
    };
    let (audio, asked) = stored_whole(&recording(SIZE), host).await;
    assert_eq!(audio.bytes, SIZE as u64);
    assert_eq!(audio.resumed_from, cut as u64);
    // The cut body, the rest after it (which came unframed too), then the 416 that ends it.
    assert_eq!(
        asked,
        [
            None,
            Some(format!("bytes={cut}-")),
            Some(format!("bytes={SIZE}-"))
        ]
    );
}

/// An unframed body that ends before its first byte may have been cut there too: asked with
/// `bytes=0-`, an empty resource answers 416, a cut one the whole body.
#[tokio::test]
async fn an_empty_unframed_body_is_asked_about_from_its_first_byte() {
    let (_, asked) = stored_whole(&[], Host::ASKABLE).await;
    assert_eq!(asked, [None, Some("bytes=0-".to_owned())]);

    let host = Host {
        cut_first_at: Some(0),
        ..Host::ASKABLE
    };
    let (audio, asked) = stored_whole(&recording(SIZE), host).await;
    assert_eq!(audio.bytes, SIZE as u64);
    assert_eq!(
        asked,
        [
            None,
            Some("bytes=0-".to_owned()),
            Some(format!("bytes={SIZE}-"))
        ]
    );
}

/// A server whose every range comes empty (the connection closes before the first byte) never
/// says whether the cut body was whole: each such answer is a failed attempt, and the download
/// gives up with nothing at the final path rather than keep a body that may be cut.
#[tokio::test]
async fn ranges_that_come_empty_are_failed_attempts_not_an_end() {
    let cut = SIZE * 2 / 5;
    let host = Host {
        cut_first_at: Some(cut),
        empty_ranges: true,
        ..Host::ASKABLE
    };
    let served = Unframed::start(recording(SIZE), host).await;
    let root = tempfile::tempdir().unwrap();
    let report = common::download(root.path(), &served.callback_body()).await;
    let audio = &report.resources[0];
    let Some(DownloadError::GaveUp { attempts, last }) = &audio.error else {
        panic!("{audio:?}");
    };
    assert!(
        matches!(**last, DownloadError::Unconfirmed { received } if received == cut as u64),
        "{last:?}"
    );
    assert!(last.is_retryable());
    // The cut body, then one question per attempt allowed, each answered with nothing.
    assert_eq!(*attempts, 9);
    assert_eq!(served.ranges_asked().len(), 9);
    assert!(audio.location.is_none());
    assert!(
        common::files_below(root.path())
            .iter()
            .all(|file| !file.ends_with(".mp3")),
        "{:?}",
        common::files_below(root.path())
    );
}

#[tokio::test]
async fn ranges_of_no_stated_total_are_asked_for_until_a_416() {
    let (cut, cap) = (SIZE * 2 / 5, 50_000);
    let host = Host {
        cut_first_at: Some(cut),
        range_cap: Some(cap),
        ..Host::ASKABLE
    };
    let (_, asked) = stored_whole(&recording(SIZE), host).await;
    // Each 206 is whole by its Content-Length, but `/*` leaves open whether more follows.
    let expected: Vec<Option<String>> = std::iter::once(None)
        .chain(
            (cut..SIZE)
                .step_by(cap)
                .chain([SIZE])
                .map(|from| Some(format!("bytes={from}-"))),
        )
        .collect();
    assert_eq!(asked, expected);
}

#[tokio::test]
async fn a_new_version_met_while_asking_is_fetched_whole() {
    let body = recording(SIZE);
    let cut = SIZE / 3;
    let host = Host {
        cut_first_at: Some(cut),
        changes: true,
        ..Host::ASKABLE
    };
    let served = Unframed::start(body.clone(), host).await;
    let root = tempfile::tempdir().unwrap();
    let report = common::download(root.path(), &served.callback_body()).await;
    let audio = &report.resources[0];
    assert!(audio.is_success(), "{audio:?}");
    // The If-Range of the question no longer matches: the 200 under the new ETag is taken
    // whole, in place of the cut body of the old version, and its own end confirmed.
    let changed = new_version(&body);
    assert_eq!(std::fs::read(file_of(&audio.location)).unwrap(), changed);
    assert_eq!(
        served.ranges_asked(),
        [
            None,
            Some(format!("bytes={cut}-")),
            Some(format!("bytes={}-", changed.len()))
        ]
    );
}

#[tokio::test]
async fn without_range_or_an_etag_to_ask_with_the_body_is_kept_as_it_came() {
    // With an ETag, the question is asked; a server that ignores Range answers 200 and the body
    // already held is kept. Without one, nothing can be asked safely.
    for (ranges, etag, requests) in [(false, true, 2), (true, false, 1)] {
        let host = Host {
            ranges,
            etag,
            ..Host::ASKABLE
        };
        let (_, asked) = stored_whole(&recording(SIZE), host).await;
        assert_eq!(asked.len(), requests, "ranges {ranges}, etag {etag}");
    }
}

/// The fake Cronofy's storage serves a resource unframed too (through a front that makes hyper
/// end its body by closing the connection), the way the fault campaign draws it: a whole body
/// is confirmed by a 416, a dropped one resumed from where it was cut.
#[tokio::test]
async fn the_fakes_unframed_storage_is_confirmed_and_resumed() {
    for drop_at in [None, Some(700_000)] {
        let fake = FakeCronofy::start(common::API_KEY).await.unwrap();
        let mut spec = ResourceSpec::generated(2 * MIB, "audio/mpeg");
        spec.unframed = true;
        fake.add("audio", spec);
        fake.faults(
            "audio",
            [Fault {
                drop_at,
                ..Fault::default()
            }],
        );
        let body = fake.complete_body("agt_1", &[("audio", "voice", "audio")]);
        let root = tempfile::tempdir().unwrap();
        let report = common::download(root.path(), &body).await;
        let audio = &report.resources[0];
        assert!(audio.is_success(), "{audio:?}");
        assert_eq!(audio.sha256.as_deref(), Some(fake.sha256("audio").as_str()));
        let answers: Vec<(u16, Option<String>)> = fake
            .storage_requests()
            .into_iter()
            .map(|seen| (seen.status, seen.range))
            .collect();
        let size = 2 * MIB;
        let expected = match drop_at {
            None => vec![(200, None), (416, Some(format!("bytes={size}-")))],
            Some(_) => {
                let held = audio.resumed_from;
                assert!(held > 0 && held <= 700_000, "{held}");
                vec![(200, None), (206, Some(format!("bytes={held}-")))]
            }
        };
        assert_eq!(answers, expected, "drop at {drop_at:?}");
    }
}
