//! One table of requests that every framework adapter must answer alike, sent over real HTTP.
//!
//! An adapter's test starts its server for a set of secrets (the vectors use several) and lets
//! [`run`] (or [`run_http2`]) send every case; each case says the status it must get. How a case
//! goes on the wire is in `wire`.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use sha2::Digest as _;

use crate::vectors;

mod wire;

pub use wire::{
    read_response, send, send_and_hang_up, send_http2, send_together, sends_over_http2,
};

/// How a body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// With `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`, no length declared.
    Chunked,
    /// With `Content-Length`, but only the head is sent: the body never comes, so the server
    /// must answer from the declared length alone.
    Withheld,
    /// With `Content-Length`, then half the body, then the client stops sending (a half-close):
    /// a body that ends before its declared length.
    CutShort,
}

/// One request and the status it must get.
#[derive(Clone, Debug)]
pub struct HttpCase {
    /// What the case is.
    pub name: String,
    /// The secrets the server's verifier holds.
    pub secrets: Vec<String>,
    /// The method.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// Extra headers, in order (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How the body is framed.
    pub framing: Framing,
    /// The status the server must answer.
    pub expected: u16,
}

/// The server-side body limit the table assumes (the verifier's default).
pub const LIMIT: usize = 256 * 1024;

/// The header value for `body` under `secret`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC-SHA256 by hand, so the table does not depend on the crate under test.
    let mut key = secret.as_bytes().to_vec();
    if key.len() > 64 {
        key = sha2::Sha256::digest(&key).to_vec();
    }
    key.resize(64, 0);
    let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
    let inner = sha2::Sha256::new()
        .chain_update(&ipad)
        .chain_update(body)
        .finalize();
    let outer = sha2::Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    base64(&outer)
}

/// Standard base64, with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A POST of `body` to `/`, signed with the vectors' secret `A`, expecting `expected`.
pub fn signed(body: Vec<u8>, expected: u16) -> HttpCase {
    let secret = vectors::secret("A");
    HttpCase {
        name: "signed".into(),
        headers: vec![("Cronofy-HMAC-SHA256".into(), sign(&secret, &body))],
        secrets: vec![secret],
        method: "POST",
        path: "/",
        body,
        framing: Framing::Length,
        expected,
    }
}

/// A POST of `body` to `/` whose signature is well formed but wrong: answered 401.
pub fn forged(body: Vec<u8>) -> HttpCase {
    let mut case = signed(body, 401);
    case.name = "forged".into();
    case.headers = vec![(
        "Cronofy-HMAC-SHA256".into(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
    )];
    case
}

/// Waits, boundedly (two seconds), until `count` reaches `at_least`; returns what it reached.
pub async fn wait_for_count(count: &std::sync::atomic::AtomicUsize, at_least: usize) -> usize {
    use std::sync::atomic::Ordering;
    for _ in 0..200 {
        if count.load(Ordering::SeqCst) >= at_least {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    count.load(Ordering::SeqCst)
}

/// Sends `case` until the server answers `status` (at most 100 times, 10 ms apart) and gives the
/// last answer: for what a server does just after it has answered, such as releasing a claim.
pub async fn send_until(addr: SocketAddr, case: &HttpCase, status: u16) -> u16 {
    let mut last = 0;
    for _ in 0..100 {
        last = send(addr, case).await;
        if last == status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    last
}

/// Every case, for a server that answers `accepted` to a genuine callback.
pub fn table(accepted: u16) -> Vec<HttpCase> {
    let a = vectors::secret("A");
    let b = vectors::secret("B");
    let complete = vectors::seed_body("complete");
    let good = sign(&a, &complete);
    let case = |name: &str, headers: Vec<(&str, String)>, body: Vec<u8>, expected: u16| HttpCase {
        name: name.to_owned(),
        secrets: vec![a.clone()],
        method: "POST",
        path: "/cronofy/callback",
        headers: headers
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect(),
        body,
        framing: Framing::Length,
        expected,
    };

    let mut cases: Vec<HttpCase> = vectors::cases()
        .into_iter()
        .map(|c| HttpCase {
            name: format!("vector {}", c.name),
            secrets: c.secrets,
            method: "POST",
            path: "/",
            headers: vec![("Cronofy-HMAC-SHA256".to_owned(), c.header)],
            expected: match (c.valid, c.body_path.as_str()) {
                (false, _) => 401,
                (true, "bodies/well-known.json") => 400,
                (true, _) => accepted,
            },
            body: c.body,
            framing: Framing::Length,
        })
        .collect();

    cases.push(case(
        "header name in lower case",
        vec![("cronofy-hmac-sha256", good.clone())],
        complete.clone(),
        accepted,
    ));
    cases.push(case(
        "header name in upper case",
        vec![("CRONOFY-HMAC-SHA256", good.clone())],
        complete.clone(),
        accepted,
    ));
    cases.push(case("no signature header", vec![], complete.clone(), 401));
    cases.push(case(
        "two headers, the second genuine",
        vec![
            ("Cronofy-HMAC-SHA256", sign("wrong", &complete)),
            ("Cronofy-HMAC-SHA256", good.clone()),
        ],
        complete.clone(),
        accepted,
    ));
    cases.push(case(
        "two headers, neither genuine",
        vec![
            ("Cronofy-HMAC-SHA256", sign("wrong", &complete)),
            ("Cronofy-HMAC-SHA256", sign("other", &complete)),
        ],
        complete.clone(),
        401,
    ));
    cases.push(case(
        "signed with a secret the server lacks",
        vec![("Cronofy-HMAC-SHA256", sign(&b, &complete))],
        complete.clone(),
        401,
    ));

    let mut big = br#"{"notification":{"type":"event_subscription"},"padding":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', LIMIT));
    big.extend_from_slice(b"\"}");
    let big_sig = sign(&a, &big);
    cases.push(case(
        "over the limit by Content-Length, genuinely signed",
        vec![("Cronofy-HMAC-SHA256", big_sig.clone())],
        big.clone(),
        413,
    ));
    let mut chunked = case(
        "over the limit, chunked without a length",
        vec![("Cronofy-HMAC-SHA256", big_sig)],
        big,
        413,
    );
    chunked.framing = Framing::Chunked;
    cases.push(chunked);
    // A length declared over the limit is refused before a byte of the body is read.
    let mut withheld = case(
        "over the limit by Content-Length, the body never sent",
        vec![("Cronofy-HMAC-SHA256", sign(&a, b"{}"))],
        vec![b' '; LIMIT + 1],
        413,
    );
    withheld.framing = Framing::Withheld;
    cases.push(withheld);
    // A genuine callback of exactly the limit is within it, however it is framed.
    let mut exact = br#"{"notification":{"type":"event_subscription"},"padding":""#.to_vec();
    exact.resize(LIMIT - 2, b'x');
    exact.extend_from_slice(b"\"}");
    let exact_sig = sign(&a, &exact);
    cases.push(case(
        "exactly the limit by Content-Length, genuinely signed",
        vec![("Cronofy-HMAC-SHA256", exact_sig.clone())],
        exact.clone(),
        accepted,
    ));
    let mut exact_chunked = case(
        "exactly the limit, chunked, genuinely signed",
        vec![("Cronofy-HMAC-SHA256", exact_sig)],
        exact,
        accepted,
    );
    exact_chunked.framing = Framing::Chunked;
    cases.push(exact_chunked);
    let mut cut = case(
        "a body that ends before its Content-Length",
        vec![("Cronofy-HMAC-SHA256", good.clone())],
        complete.clone(),
        400,
    );
    cut.framing = Framing::CutShort;
    cases.push(cut);
    let mut small_chunked = case(
        "a genuine body sent chunked",
        vec![("Cronofy-HMAC-SHA256", good.clone())],
        complete.clone(),
        accepted,
    );
    small_chunked.framing = Framing::Chunked;
    cases.push(small_chunked);

    cases.push(case(
        "empty body, genuinely signed",
        vec![("Cronofy-HMAC-SHA256", sign(&a, b""))],
        Vec::new(),
        400,
    ));
    cases.push(case("empty body, unsigned", vec![], Vec::new(), 401));
    cases.push(case(
        "genuine signature on a body that is not JSON",
        vec![("Cronofy-HMAC-SHA256", sign(&a, b"hello"))],
        b"hello".to_vec(),
        400,
    ));
    let shapeless = br#"{"event":"no notification here"}"#.to_vec();
    cases.push(case(
        "genuine JSON without notification.type",
        vec![("Cronofy-HMAC-SHA256", sign(&a, &shapeless))],
        shapeless,
        400,
    ));
    // serde's derived structs would take the fields as an array: JSON has objects here.
    let array = br#"[{"type":"event_subscription","interactions":[]},null,["agt_1"]]"#.to_vec();
    cases.push(case(
        "genuine JSON array holding a callback's fields in order",
        vec![("Cronofy-HMAC-SHA256", sign(&a, &array))],
        array,
        400,
    ));
    cases.push(case(
        "a signature header with bytes that are not ASCII",
        vec![("Cronofy-HMAC-SHA256", format!("{}\u{e9}", good))],
        complete.clone(),
        401,
    ));
    let change = br#"{"notification":{"type":"change"},"channel":{"channel_id":"chn_1"}}"#.to_vec();
    cases.push(case(
        "another Cronofy notification type",
        vec![("Cronofy-HMAC-SHA256", sign(&a, &change))],
        change,
        accepted,
    ));
    cases.push(case(
        "the content type does not matter",
        vec![
            ("Cronofy-HMAC-SHA256", good.clone()),
            ("Content-Type", "text/plain".into()),
        ],
        complete.clone(),
        accepted,
    ));
    let mut get = case(
        "GET instead of POST",
        vec![("Cronofy-HMAC-SHA256", good)],
        complete,
        405,
    );
    get.method = "GET";
    cases.push(get);
    cases
}

/// Checks a background handler at `addr` that counts its runs in `runs`: eight deliveries of the
/// seed `meeting_agent_complete` callback at once get one 202 and seven 200s, and the handler runs
/// once (a second run is waited for, two seconds, and must not come).
pub async fn assert_together_runs_once(addr: SocketAddr, runs: &std::sync::atomic::AtomicUsize) {
    let case = signed(vectors::seed_body("complete"), 202);
    let statuses = send_together(addr, &case, 8).await;
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 202]);
    assert_eq!(
        wait_for_count(runs, 2).await,
        1,
        "the handler ran more than once"
    );
}

/// Checks a background handler at `addr` that counts its runs in `runs`, whose duplicate guard
/// claims a callback at once but answers only after the handler's admission timeout: the seed
/// `meeting_agent_complete` callback is answered 503, runs once all the same (the late claim),
/// and its redelivery is a duplicate, answered 200 and not run (a second run is waited for, two
/// seconds, and must not come).
pub async fn assert_late_claim_runs_once(addr: SocketAddr, runs: &std::sync::atomic::AtomicUsize) {
    let case = signed(vectors::seed_body("complete"), 202);
    assert_eq!(send(addr, &case).await, 503, "not answered in time");
    assert_eq!(wait_for_count(runs, 1).await, 1, "the late claim ran it");
    assert_eq!(
        send(addr, &case).await,
        200,
        "the redelivery is a duplicate"
    );
    assert_eq!(wait_for_count(runs, 2).await, 1, "and did not run again");
}

/// Runs every case of `table`, starting one server per set of secrets with `start`, and returns
/// `(case, expected, got)` for each.
pub async fn run<F, Fut>(table: &[HttpCase], start: F) -> Vec<(String, u16, u16)>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = SocketAddr>,
{
    run_over(table, start, false).await
}

/// As [`run`], over HTTP/2 (see [`send_http2`]), for the cases that [`sends_over_http2`]: the
/// server must speak HTTP/2 in cleartext beside HTTP/1.1.
pub async fn run_http2<F, Fut>(table: &[HttpCase], start: F) -> Vec<(String, u16, u16)>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = SocketAddr>,
{
    let table: Vec<HttpCase> = table
        .iter()
        .filter(|c| sends_over_http2(c))
        .cloned()
        .collect();
    run_over(&table, start, true).await
}

async fn run_over<F, Fut>(table: &[HttpCase], start: F, http2: bool) -> Vec<(String, u16, u16)>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = SocketAddr>,
{
    let mut servers: HashMap<Vec<String>, SocketAddr> = HashMap::new();
    let mut results = Vec::new();
    for case in table {
        let addr = match servers.get(&case.secrets) {
            Some(addr) => *addr,
            None => {
                let addr = start(case.secrets.clone()).await;
                servers.insert(case.secrets.clone(), addr);
                addr
            }
        };
        let got = if http2 {
            send_http2(addr, case).await
        } else {
            send(addr, case).await
        };
        results.push((case.name.clone(), case.expected, got));
    }
    results
}

/// As [`run`], with a fresh server for every case: for servers that remember what they saw
/// (a deduplicating handler answers a repeated body differently, by design).
pub async fn run_each<F, Fut>(table: &[HttpCase], start: F) -> Vec<(String, u16, u16)>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = SocketAddr>,
{
    let mut results = Vec::new();
    for case in table {
        let addr = start(case.secrets.clone()).await;
        results.push((case.name.clone(), case.expected, send(addr, case).await));
    }
    results
}

/// Panics with every case whose status differs from the expected one.
pub fn assert_all(results: &[(String, u16, u16)]) {
    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, expected, got)| expected != got)
        .map(|(name, expected, got)| format!("{name}: expected {expected}, got {got}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        results.len(),
        wrong.join("\n")
    );
}
