//! Requests drawn at random, each with the status the spec gives it, for checking an adapter
//! over real HTTP beyond the cases someone thought of.
//!
//! [`http_cases::table`] holds the cases written down; these are the
//! variations around them: the vectors' bodies as they are, with a bit flipped, cut short, with a
//! byte added, replaced by small bodies of every kind or padded to the body limit and past it;
//! signed with the server's secret, the rotated one, a wrong one, or over the body before it was
//! altered; the signature header absent, empty, padded, listed beside malformed and wrong values,
//! split over two lines, its name in any case; decoy headers that carry a genuine signature under
//! another name; any content type and path; `Expect: 100-continue` or not; framed by length or
//! chunked.
//!
//! The status each case must get comes from [`expected_status`], which reads spec §3 and the
//! notification rule of spec §1 afresh: it shares no code with the crates under test (this crate
//! cannot depend on core, whose tests use it), so an adapter and the core it wraps are checked
//! together against the spec, not against themselves.

use crate::http_cases::{self, Framing, HttpCase, LIMIT};
use crate::vectors;

/// The seed when `CRONOFY_NOTIFY_HTTP_SEED` does not set one.
pub const DEFAULT_SEED: u64 = 0x00C2_0F1A_2026_1130;

/// The seed to draw from: `CRONOFY_NOTIFY_HTTP_SEED` (decimal, or hex after `0x`) when set, to
/// replay a failure or try new requests; [`DEFAULT_SEED`] otherwise, so that every run sends
/// the same requests.
///
/// # Panics
/// When the variable is set to something that is not a number.
pub fn seed() -> u64 {
    let Ok(text) = std::env::var("CRONOFY_NOTIFY_HTTP_SEED") else {
        return DEFAULT_SEED;
    };
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("CRONOFY_NOTIFY_HTTP_SEED={text:?} is not a number"))
}

/// `count` requests drawn from `seed`, for a server that answers `accepted` to a genuine
/// callback. Each case's name says how it was made, with the seed and its index, to replay it.
pub fn table(seed: u64, count: usize, accepted: u16) -> Vec<HttpCase> {
    let mut rng = Rng(seed);
    let secrets = Secrets {
        a: vectors::secret("A"),
        b: vectors::secret("B"),
    };
    let bodies = ["activated", "complete", "failed"].map(vectors::seed_body);
    (0..count)
        .map(|index| {
            let mut case = draw(&mut rng, &secrets, &bodies);
            case.name = format!("random #{index} (seed {seed:#x}): {}", case.name);
            case.expected = expected_status(&case, accepted);
            case
        })
        .collect()
}

/// The status spec §3 and §1 give a POST of `case`: 413 for a body over [`LIMIT`] (refused
/// before its signature is looked at); 401 unless a value of the `Cronofy-HMAC-SHA256`
/// header (its name in any case, every line of it read as one comma-separated list, white
/// space around each value trimmed) is the standard base64 of HMAC-SHA256 of the body under one
/// of the server's secrets; 400 unless the body is JSON with a string at `notification.type`;
/// `accepted` otherwise.
pub fn expected_status(case: &HttpCase, accepted: u16) -> u16 {
    if case.body.len() > LIMIT {
        return 413;
    }
    let genuine: Vec<String> = case
        .secrets
        .iter()
        .map(|secret| http_cases::sign(secret, &case.body))
        .collect();
    let signed = case
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Cronofy-HMAC-SHA256"))
        .flat_map(|(_, value)| value.split(','))
        .any(|value| genuine.iter().any(|g| g == value.trim_matches([' ', '\t'])));
    if !signed {
        return 401;
    }
    match serde_json::from_slice::<serde_json::Value>(&case.body) {
        Ok(json) if json["notification"]["type"].is_string() => accepted,
        _ => 400,
    }
}

struct Secrets {
    a: String,
    b: String,
}

/// SplitMix64: small, and the same sequence for a seed on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (which is not 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Small bodies of every kind: not JSON, JSON that is no notification, and notifications.
const SMALL_BODIES: &[&[u8]] = &[
    b"",
    b" ",
    b"{}",
    b"[]",
    b"null",
    b"\"event_subscription\"",
    b"{\"notification\":{}}",
    b"{\"notification\":{\"type\":7}}",
    b"{\"notification\":\"event_subscription\"}",
    b"{\"notification\":{\"type\":\"event_subscription\"}}",
    b"{\"notification\":{\"type\":\"change\"},\"channel\":{\"channel_id\":\"chn_1\"}}",
    b"{\"notification\":{\"type\":\"meeting_agent_complete\"}}",
    b"{\"notification\":{\"type\":\"event_subscription\",\"interactions\":{}},\"meeting_agent\":[]}",
    b"\xEF\xBB\xBF{\"notification\":{\"type\":\"event_subscription\"}}",
    b"{\"notification\":{\"type\":\"event_subscription\"}} {}",
    b"{\"notification\":{\"type\":\"event_\xFFsubscription\"}}",
    b"notification.type=event_subscription",
];

fn draw(rng: &mut Rng, secrets: &Secrets, bodies: &[Vec<u8>; 3]) -> HttpCase {
    let which = rng.below(bodies.len());
    let original = &bodies[which];
    let (body, body_note) = alter(rng, original);
    let mut notes = vec![format!(
        "{} body {body_note}",
        ["activated", "complete", "failed"][which]
    )];

    let server = if rng.one_in(3) {
        vec![secrets.a.clone(), secrets.b.clone()]
    } else {
        vec![secrets.a.clone()]
    };
    let (signature, signed_note) = match rng.below(8) {
        0..=4 => (http_cases::sign(&secrets.a, &body), "signed with A"),
        5 => (http_cases::sign(&secrets.b, &body), "signed with B"),
        6 => (
            http_cases::sign("not-the-secret", &body),
            "signed with a wrong secret",
        ),
        _ => (
            http_cases::sign(&secrets.a, original),
            "signed with A before the change",
        ),
    };
    notes.push(format!("{signed_note} (server holds {})", server.len()));

    let (headers, header_note) = signature_headers(rng, &signature);
    notes.push(header_note);
    let mut headers: Vec<(String, String)> = headers;
    if rng.one_in(4) {
        let decoy = rng.pick(&["X-Cronofy-HMAC-SHA256", "Cronofy-HMAC-SHA1", "Cronofy-HMAC"]);
        // A genuine signature under another header's name must not count.
        headers.push((decoy.to_owned(), http_cases::sign(&secrets.a, &body)));
        notes.push(format!("decoy {decoy}"));
    }
    let content_type = rng.pick(&[
        "",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ]);
    if !content_type.is_empty() {
        headers.push(("Content-Type".to_owned(), content_type.to_owned()));
        notes.push(format!("content type {content_type}"));
    }
    if rng.one_in(8) {
        // What curl and other clients send before a larger body: the server answers
        // `100 Continue` first, or refuses from the head alone.
        headers.push(("Expect".to_owned(), "100-continue".to_owned()));
        notes.push("Expect: 100-continue".to_owned());
    }
    let framing = if rng.one_in(3) {
        notes.push("chunked".to_owned());
        Framing::Chunked
    } else {
        Framing::Length
    };
    HttpCase {
        name: notes.join("; "),
        secrets: server,
        method: "POST",
        path: rng.pick(&["/", "/cronofy", "/cronofy/callback?token=1", "/a/b/c"]),
        headers,
        body,
        framing,
        expected: 0,
    }
}

/// The body a case sends, altered from `original` or not, and a note of how.
fn alter(rng: &mut Rng, original: &[u8]) -> (Vec<u8>, String) {
    let mut body = original.to_vec();
    let note = match rng.below(20) {
        0..=7 => "as it is".to_owned(),
        8..=10 => {
            let bit = rng.below(body.len() * 8);
            body[bit / 8] ^= 1 << (bit % 8);
            format!("with bit {bit} flipped")
        }
        11 | 12 => {
            let len = rng.below(body.len());
            body.truncate(len);
            format!("cut to {len} bytes")
        }
        13 => {
            let extra = rng.pick(&["\n", "\r\n", " ", "}", "\0"]);
            body.extend_from_slice(extra.as_bytes());
            format!("with {extra:?} added")
        }
        14..=16 => {
            let index = rng.below(SMALL_BODIES.len());
            body = SMALL_BODIES[index].to_vec();
            format!("replaced by small body {index}")
        }
        17 => {
            let len = rng.below(64);
            body = rng.bytes(len);
            format!("replaced by {len} random bytes")
        }
        _ => {
            // JSON may end in white space, so a genuine callback can be padded to any size.
            let len = LIMIT - 1 + rng.below(3) + if rng.one_in(4) { 4096 } else { 0 };
            body.resize(len, b' ');
            format!("padded to {len} bytes (limit {LIMIT})")
        }
    };
    (body, note)
}

/// The `Cronofy-HMAC-SHA256` header lines for `signature`, in one of many forms, and a note.
fn signature_headers(rng: &mut Rng, signature: &str) -> (Vec<(String, String)>, String) {
    let (values, note): (Vec<String>, &str) = match rng.below(10) {
        0 => return (Vec::new(), "no signature header".to_owned()),
        1 => (vec![String::new()], "an empty header"),
        2..=4 => (vec![signature.to_owned()], "the signature alone"),
        5 => (
            vec![format!(
                "{}{signature}{}",
                rng.pick(&[" ", "\t", "  "]),
                rng.pick(&[" ", "\t"])
            )],
            "the signature padded",
        ),
        6..=8 => {
            let mut values: Vec<String> =
                (0..=rng.below(3)).map(|_| junk(rng, signature)).collect();
            let at = rng.below(values.len() + 1);
            values.insert(at, signature.to_owned());
            (values, "the signature among others")
        }
        _ => (
            (0..=rng.below(3)).map(|_| junk(rng, signature)).collect(),
            "other values only",
        ),
    };
    let separator = rng.pick(&[",", ", ", " , ", ",\t"]);
    let lines: Vec<String> = if values.len() > 1 && rng.one_in(3) {
        let split = 1 + rng.below(values.len() - 1);
        vec![
            values[..split].join(separator),
            values[split..].join(separator),
        ]
    } else {
        vec![values.join(separator)]
    };
    let note = format!("{note} ({}) on {} line(s)", values.len(), lines.len());
    let headers = lines
        .into_iter()
        .map(|line| (any_case(rng, "Cronofy-HMAC-SHA256"), line))
        .collect();
    (headers, note)
}

/// A value that is not the signature, though it may look like one.
fn junk(rng: &mut Rng, signature: &str) -> String {
    match rng.below(9) {
        0 => String::new(),
        1 => "AAAA".to_owned(),
        // The hex digest (the form PHP's SDK once sent).
        2 => rng.bytes(32).iter().map(|b| format!("{b:02x}")).collect(),
        3 => signature.replace('+', "-").replace('/', "_"),
        4 => signature.trim_end_matches('=').to_owned(),
        5 => signature[..20].to_owned(),
        6 => format!("sha256={signature}"),
        7 => signature.to_ascii_lowercase(),
        // Well formed, and wrong.
        _ => http_cases::base64(&rng.bytes(32)),
    }
}

fn any_case(rng: &mut Rng, name: &str) -> String {
    name.chars()
        .map(|c| {
            if rng.one_in(2) {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_requests() {
        let names = |seed| -> Vec<String> {
            table(seed, 50, 204)
                .into_iter()
                .map(|case| case.name)
                .collect()
        };
        assert_eq!(names(1), names(1));
        assert_ne!(names(1), names(2));
    }

    #[test]
    fn the_draw_reaches_every_status() {
        let table = table(DEFAULT_SEED, 300, 204);
        for status in [204, 400, 401, 413] {
            let count = table.iter().filter(|c| c.expected == status).count();
            assert!(count >= 10, "only {count} cases expect {status}");
        }
    }

    #[test]
    fn the_spec_reading_agrees_with_the_written_table() {
        // The shared table's expectations were written by hand from the spec; the oracle must
        // give the same for every POST in it whose body is sent whole.
        for case in http_cases::table(202) {
            if case.method == "POST" && matches!(case.framing, Framing::Length | Framing::Chunked) {
                assert_eq!(expected_status(&case, 202), case.expected, "{}", case.name);
            }
        }
    }
}
