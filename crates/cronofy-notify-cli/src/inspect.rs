//! `verify`, `sign`, `sample` and `transcript`: no network, just bytes.

use std::path::Path;

use bytes::Bytes;
use cronofy_notify_core::samples::Sample;
use cronofy_notify_core::{
    Error, Notification, SIGNATURE_HEADER, SignatureError, Signer, Transcript, Verifier,
};

use crate::cli::Format;
use crate::{exit, fail, input, note, output};

pub(crate) fn verify(
    secrets: &[String],
    signature: Option<&str>,
    json: bool,
    file: Option<&Path>,
) -> u8 {
    let body = match input::read(file, input::CALLBACK) {
        Ok(body) => Bytes::from(body),
        Err(message) => return fail(exit::USAGE, message),
    };
    let verifier = match Verifier::new(secrets) {
        // A file on disk may be larger than a callback; judge the signature, not the size.
        Ok(verifier) => verifier.with_body_limit(usize::MAX),
        Err(error) => return fail(exit::USAGE, error),
    };
    let signature = signature.map_or("", header_value);
    match verifier.verify_and_parse(signature, body.clone()) {
        Ok(verified) => {
            let written = if json {
                match serde_json::to_string_pretty(verified.notification()) {
                    Ok(text) => output::line(text),
                    Err(error) => return fail(exit::FAILED, error),
                }
            } else {
                // A Meeting Agent callback with values of unexpected types reads as what serve
                // and download act on, followed by what they leave out: all on the one line.
                output::line(format_args!("genuine: {verified}"))
            };
            output::exit_code(written, exit::OK)
        }
        Err(Error::Parse(reason)) => fail(
            exit::NOT_A_NOTIFICATION,
            format!("the signature is genuine; {reason}"),
        ),
        Err(Error::Signature(SignatureError::Mismatch))
            if signed_without_final_line_break(&verifier, signature, &body) =>
        {
            fail(
                exit::FAILED,
                "not genuine: the signature matches this body without its final line break, which \
                 it gained after it was signed (editors add one): remove it",
            )
        }
        Err(reason) => fail(exit::FAILED, format!("not genuine: {reason}")),
    }
}

/// Whether `signature` is genuine for `body` less the line break that ends it: the most common
/// way a body saved from a log or a request dump stops matching, and invisible in an editor.
fn signed_without_final_line_break(verifier: &Verifier, signature: &str, body: &[u8]) -> bool {
    let trimmed = body
        .strip_suffix(b"\r\n")
        .or_else(|| body.strip_suffix(b"\n"));
    trimmed.is_some_and(|trimmed| verifier.verify(signature, trimmed).is_ok())
}

/// The value of a `--signature` given as a whole header line copied from a log or a request dump
/// (`Cronofy-HMAC-SHA256: ...`, the name in any case): unambiguous, since a value is base64 and
/// holds no colon. Anything else is taken as the value it is.
fn header_value(signature: &str) -> &str {
    signature
        .trim_start()
        .split_once(':')
        .filter(|(name, _)| name.trim_end().eq_ignore_ascii_case(SIGNATURE_HEADER))
        .map_or(signature, |(_, value)| value)
}

pub(crate) fn sign(secrets: &[String], file: Option<&Path>) -> u8 {
    let body = match input::read(file, input::CALLBACK) {
        Ok(body) => body,
        Err(message) => return fail(exit::USAGE, message),
    };
    match Signer::new(secrets) {
        Ok(signer) => output::exit_code(output::line(signer.sign(&body)), exit::OK),
        Err(error) => fail(exit::USAGE, error),
    }
}

pub(crate) fn sample(sample: &Sample, sub: &str, resource_base: Option<&str>) -> u8 {
    let mut body = sample.body(sub, resource_base);
    body.push(b'\n'); // as a JSON file ends
    output::exit_code(output::write(&body), exit::OK)
}

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(crate) fn transcript(format: Format, file: Option<&Path>) -> u8 {
    let name = input::name(file);
    let json = match input::read(file, input::TRANSCRIPT) {
        Ok(json) => json,
        Err(message) => return fail(exit::USAGE, message),
    };
    if json.starts_with(&GZIP_MAGIC) {
        // What the downloader stores when the storage sends it so, despite asking for identity
        // (its report and manifest say "gzip-encoded"): JSON all the same, once decompressed.
        return fail(
            exit::FAILED,
            format!(
                "{name} is gzip-compressed: decompress it first (`gunzip -c FILE | \
                 cronofy-notify transcript -`); downloads keep a body as the server sent it"
            ),
        );
    }
    match Transcript::salvage(&json) {
        Ok(salvaged) => {
            if let Some(first) = salvaged.left_out.first() {
                // Rendered all the same, but the captions may lack times or lines: say so.
                let more = match salvaged.left_out.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                note(format_args!(
                    "{name}: left out values of a kind a transcript does not hold: {first}{more}"
                ));
            }
            let transcript = salvaged.transcript;
            let text = match format {
                Format::Text => transcript.to_text(),
                Format::Vtt => transcript.to_webvtt(),
                Format::Srt => transcript.to_srt(),
            };
            if transcript.is_empty() {
                // Still a valid (empty) rendering, but more often the wrong file: most often
                // the callback that lists the transcript, which is JSON too.
                if Notification::from_slice(&json).is_ok() {
                    note(format_args!(
                        "{name} is a Cronofy callback, not a transcript: `cronofy-notify \
                         download` fetches the transcript it lists"
                    ));
                } else {
                    note(format_args!(
                        "{name} has no sentences to render; is it a transcript \
                         (`transcript.paragraphs`)?"
                    ));
                }
            }
            output::exit_code(output::write(text.as_bytes()), exit::OK)
        }
        Err(error) => fail(exit::FAILED, format!("{name}: {error}")),
    }
}
