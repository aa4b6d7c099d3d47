//! `send`: POST a body signed as Cronofy signs it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cronofy_notify_core::samples::Sample;
use cronofy_notify_core::{SIGNATURE_HEADER, Signer};

use crate::{exit, fail, input, note, output};

pub(crate) struct Options {
    pub(crate) url: reqwest::Url,
    pub(crate) secrets: Vec<String>,
    pub(crate) sample: Option<Sample>,
    pub(crate) resource_base: Option<reqwest::Url>,
    pub(crate) sub: String,
    /// How long to wait for the answer.
    pub(crate) timeout: Duration,
    pub(crate) file: Option<PathBuf>,
}

/// An answer slower than this is pointed out: Cronofy waits "a few seconds" for one.
const SLOW_ANSWER: Duration = Duration::from_secs(3);
/// What to do about an endpoint that is slow to answer.
const ANSWER_FIRST: &str = "Cronofy waits only a few seconds for an answer: answer first, \
                            and do slow work after";

pub(crate) async fn run(options: Options) -> u8 {
    let body = match &options.file {
        Some(path) => input::read(Some(path), input::CALLBACK),
        None => Ok(options.sample.as_ref().unwrap_or(&Sample::Complete).body(
            &options.sub,
            options.resource_base.as_ref().map(reqwest::Url::as_str),
        )),
    };
    let body = match body {
        Ok(body) => body,
        Err(message) => return fail(exit::USAGE, message),
    };
    let signer = match Signer::new(&options.secrets) {
        Ok(signer) => signer,
        Err(error) => return fail(exit::USAGE, error),
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .build()
    {
        Ok(client) => client,
        Err(error) => return fail(exit::FAILED, error),
    };
    let sent = Instant::now();
    let response = client
        .post(options.url.clone())
        .header(SIGNATURE_HEADER, signer.sign(&body))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(body)
        .send()
        .await;
    match response {
        Ok(response) => {
            let took = sent.elapsed();
            if took > SLOW_ANSWER {
                note(format_args!(
                    "the endpoint took {:.1} s to answer; {ANSWER_FIRST}",
                    took.as_secs_f64()
                ));
            }
            let status = response.status();
            let printed = output::line(format_args!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ));
            if status.is_success() {
                return output::exit_code(printed, exit::OK);
            }
            if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
                // Cronofy does not follow redirects either: the URL given to it must be the
                // final one (an http URL redirected to https, most often).
                note(format_args!(
                    "the endpoint redirects to {}; give that URL instead",
                    printable(location.as_bytes(), SHOWN_CHARS)
                ));
            }
            let answer = first_bytes(response, ANSWER_READ).await;
            if !answer.trim_ascii().is_empty() {
                note(format_args!(
                    "the endpoint answered: {}",
                    printable(answer.trim_ascii(), SHOWN_CHARS)
                ));
            }
            output::exit_code(printed, exit::FAILED)
        }
        Err(error) if error.is_timeout() => fail(
            exit::FAILED,
            format!(
                "could not send to {}: no answer within {} s; {ANSWER_FIRST}",
                shown(&options.url),
                options.timeout.as_secs()
            ),
        ),
        Err(error) => fail(
            exit::FAILED,
            format!(
                "could not send to {}: {}",
                shown(&options.url),
                causes(&error.without_url())
            ),
        ),
    }
}

/// `url` as a message may show it: without its password or its query, either of which may
/// hold a credential (`https://user:password@...`, `?token=...`), as messages end up in logs.
fn shown(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

/// How many characters of a refusal's body, or of a redirect's target, are shown.
const SHOWN_CHARS: usize = 300;
/// How much of a refusal's body is read: enough for [`SHOWN_CHARS`] of any kind, and to know
/// whether there were more.
const ANSWER_READ: usize = 4 * SHOWN_CHARS + 1;

/// Up to `limit` bytes of an answer's body: the start of what it said, never the whole of a
/// large one.
async fn first_bytes(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(limit);
    bytes
}

/// `bytes` as one line of at most `chars` characters, for a terminal: what is not printable
/// (line breaks, escapes, invalid UTF-8) becomes a space or U+FFFD, and a cut is marked.
fn printable(bytes: &[u8], chars: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(chars)
        .collect();
    if text.chars().count() > chars {
        line.push('…');
    }
    line
}

/// An error and what caused it, outermost first: reqwest's own message ("error sending
/// request") says little without the refused connection or the reset beneath it.
fn causes(error: &reqwest::Error) -> String {
    let mut words = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_words = cause.to_string();
        if !words.ends_with(&cause_words) {
            words.push_str(": ");
            words.push_str(&cause_words);
        }
        source = cause.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn an_answer_is_shown_as_one_printable_line_cut_where_asked() {
        assert_eq!(printable(b"bad\r\nhook\t\x1b[2J", 100), "bad  hook  [2J");
        assert_eq!(printable("ééé€".as_bytes(), 3), "ééé…");
        assert_eq!(printable(b"ok", 2), "ok", "no mark without a cut");
        assert_eq!(printable(b"\xff\xfeok", 10), "\u{fffd}\u{fffd}ok");
    }
}
