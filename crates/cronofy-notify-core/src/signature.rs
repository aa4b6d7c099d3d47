//! The `Cronofy-HMAC-SHA256` header: verifying it and producing it.
//!
//! Cronofy signs the raw body of every callback with HMAC-SHA256 keyed by the application's client
//! secret and sends the standard-base64 digest in [`SIGNATURE_HEADER`]. While an application rotates
//! its secret, the header carries one digest per active secret, separated by commas.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::ClientSecret;

/// The name of the header that carries the signature. HTTP header names are case-insensitive: match
/// it as such (the `http` crate's `HeaderMap` does).
pub const SIGNATURE_HEADER: &str = "Cronofy-HMAC-SHA256";

/// Length of an HMAC-SHA256 digest.
const DIGEST_LEN: usize = 32;
/// Length of the standard, padded base64 form of a digest.
const ENCODED_LEN: usize = 44;

type HmacSha256 = Hmac<Sha256>;

/// Why a [`Verifier`] or [`Signer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No secret was given.
    #[error(
        "no client secret was given: pass at least one (CRONOFY_CLIENT_SECRET is usually where it lives)"
    )]
    NoSecrets,
    /// A secret was empty or only white space, which is almost always an unset variable.
    #[error(
        "client secret {} of those given is empty: check the variable or file it is read from",
        index + 1
    )]
    EmptySecret {
        /// Position of the empty secret in the list given, from 0.
        index: usize,
    },
    /// A secret begins or ends with white space, which no client secret does: almost always the
    /// line break that ends the file or variable it was read from. Taken as it is, it would make
    /// every genuine callback fail verification.
    #[error(
        "client secret {} of those given begins or ends with white space (a line break from the file or variable it is read from?): remove it",
        index + 1
    )]
    PaddedSecret {
        /// Position of the secret in the list given, from 0.
        index: usize,
    },
    /// A secret holds a line break or another control character, which no client secret does:
    /// almost always two secrets given as one value (the old and the new of a rotation, one
    /// per line). Taken as it is, it would make every genuine callback fail verification.
    #[error(
        "client secret {} of those given holds a line break or another control character (two secrets in one value?): give each secret on its own",
        index + 1
    )]
    ControlInSecret {
        /// Position of the secret in the list given, from 0.
        index: usize,
    },
    /// A secret holds a character that cannot be seen, which no client secret does: a
    /// byte-order mark (U+FEFF), which Windows editors and PowerShell write at the start of a
    /// UTF-8 file, or a zero-width space or joiner (U+200B to U+200D, U+2060), which a copy from
    /// a web page or a chat can bring. Taken as it is, it would make every genuine callback fail
    /// verification, with nothing on screen to show why.
    #[error(
        "client secret {} of those given holds a character that cannot be seen (a byte-order mark at the start of its file, or a zero-width space from a copy?): remove it",
        index + 1
    )]
    InvisibleInSecret {
        /// Position of the secret in the list given, from 0.
        index: usize,
    },
    /// A secret is wrapped in quotes (`"..."` or `'...'`), which no client secret is: almost
    /// always quotes kept from an env file (`docker run --env-file` keeps them, where a shell
    /// and Docker Compose take them away). Taken as it is, it would make every genuine callback
    /// fail verification.
    #[error(
        "client secret {} of those given is wrapped in quotes (kept from an env file? docker run --env-file keeps them): remove them",
        index + 1
    )]
    QuotedSecret {
        /// Position of the secret in the list given, from 0.
        index: usize,
    },
}

/// Whether `c` is one of the invisible characters that get into a secret unseen: a byte-order
/// mark, a zero-width space or joiner, or a word joiner.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{FEFF}' | '\u{200B}'..='\u{200D}' | '\u{2060}')
}

/// Why a signature header was refused.
///
/// None of the variants carries the expected signature or a secret, so the error may be logged
/// as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header was absent, empty or only white space.
    #[error("the Cronofy-HMAC-SHA256 header is missing or empty")]
    Missing,
    /// The header held no value that is the standard base64 form of a 32-byte digest.
    #[error(
        "the Cronofy-HMAC-SHA256 header is malformed: no value in it is standard base64 of a 32-byte digest"
    )]
    Malformed,
    /// Well-formed, but no value matched the body under any configured secret: the body was altered,
    /// or it was signed with a secret this verifier does not hold.
    #[error(
        "the Cronofy-HMAC-SHA256 signature does not match the body under any configured client \
         secret (if the request is genuine: verify the raw body bytes, not JSON parsed and \
         written again, with this Cronofy application's client secret)"
    )]
    Mismatch,
}

/// HMAC states keyed once, when the verifier or signer is built, and cloned per message.
#[derive(Clone)]
struct Keys(Arc<[HmacSha256]>);

impl Keys {
    fn new<I, S>(secrets: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<ClientSecret>,
    {
        let keys = secrets
            .into_iter()
            .enumerate()
            .map(|(index, secret)| {
                let secret = secret.into();
                let text = secret.expose_secret();
                if secret.is_blank() {
                    return Err(KeyError::EmptySecret { index });
                }
                if text.trim() != text {
                    return Err(KeyError::PaddedSecret { index });
                }
                if text.contains(char::is_control) {
                    return Err(KeyError::ControlInSecret { index });
                }
                if text.contains(is_invisible) {
                    return Err(KeyError::InvisibleInSecret { index });
                }
                if secret.is_quoted() {
                    return Err(KeyError::QuotedSecret { index });
                }
                Ok(HmacSha256::new_from_slice(text.as_bytes())
                    .expect("HMAC accepts keys of any length"))
            })
            .collect::<Result<Arc<[_]>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::NoSecrets);
        }
        Ok(Self(keys))
    }

    fn digests<'a>(&'a self, body: &'a [u8]) -> impl Iterator<Item = [u8; DIGEST_LEN]> + 'a {
        self.0.iter().map(move |keyed| {
            let mut mac = keyed.clone();
            mac.update(body);
            mac.finalize().into_bytes().into()
        })
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} secret(s), redacted]", self.0.len())
    }
}

/// Checks the `Cronofy-HMAC-SHA256` header of a callback against its raw body.
///
/// Build it once, at start-up, from every client secret that is active (two during a rotation), and
/// share it: it is cheap to clone, and each secret is keyed into HMAC once, not per request.
///
/// The check follows Cronofy's documented algorithm: the header is split on commas, each value is
/// trimmed, and the callback is genuine when any value, decoded from standard base64, equals the
/// HMAC-SHA256 of the body under any configured secret. Digests are compared in constant time.
///
/// ```
/// use cronofy_notify_core::{Signer, Verifier, SignatureError};
///
/// let body = br#"{"notification":{"type":"event_subscription"}}"#;
/// let header = Signer::new(["old-secret", "new-secret"])?.sign(body);
///
/// // The application has already moved to the new secret.
/// let verifier = Verifier::new(["new-secret"])?;
/// assert_eq!(verifier.verify(&header, body), Ok(()));
/// assert_eq!(verifier.verify(&header, b"{}"), Err(SignatureError::Mismatch));
/// assert_eq!(verifier.verify("", body), Err(SignatureError::Missing));
/// # Ok::<(), cronofy_notify_core::KeyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: Keys,
    body_limit: usize,
}

/// The largest callback body a [`Verifier`] accepts by default: 256 KiB. Documented callbacks
/// are 1–2 KiB; anything far larger is not Cronofy.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

impl Verifier {
    /// Builds a verifier that accepts a signature made with any of `secrets`.
    ///
    /// # Errors
    /// [`KeyError::NoSecrets`] for an empty list, [`KeyError::EmptySecret`] for a blank secret,
    /// [`KeyError::PaddedSecret`] for one with white space around it (it is not trimmed),
    /// [`KeyError::ControlInSecret`] for one holding a line break or another control character,
    /// [`KeyError::InvisibleInSecret`] for one holding a byte-order mark or a zero-width space,
    /// [`KeyError::QuotedSecret`] for one wrapped in quotes.
    pub fn new<I, S>(secrets: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<ClientSecret>,
    {
        Keys::new(secrets).map(|keys| Self {
            keys,
            body_limit: DEFAULT_BODY_LIMIT,
        })
    }

    /// Sets the largest body [`Verifier::verify_and_parse`] accepts (default
    /// [`DEFAULT_BODY_LIMIT`]); the framework adapters read no more than this.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The largest body accepted.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// How many secrets this verifier accepts.
    pub fn secret_count(&self) -> usize {
        self.keys.0.len()
    }

    /// Checks `header` (the value of [`SIGNATURE_HEADER`], as bytes or text; pass `""` when the
    /// request had none) against the raw `body` exactly as received.
    ///
    /// # Errors
    /// [`SignatureError::Missing`] when the header is empty, [`SignatureError::Malformed`] when no
    /// value in it is a base64 digest, [`SignatureError::Mismatch`] when none matches.
    pub fn verify(&self, header: impl AsRef<[u8]>, body: &[u8]) -> Result<(), SignatureError> {
        let candidates = parse_header(header.as_ref())?;
        let mut matched = subtle::Choice::from(0);
        for digest in self.keys.digests(body) {
            for candidate in &candidates {
                matched |= digest.ct_eq(candidate);
            }
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Produces the `Cronofy-HMAC-SHA256` header value for a body, exactly as Cronofy sends it.
///
/// For your own tests, fixtures and tools: with several secrets the value lists one digest per
/// secret, comma-separated, as during a rotation.
///
/// ```
/// use cronofy_notify_core::Signer;
///
/// let signer = Signer::new(["pDY0Oi7TJSP2hfNmZNkm5"])?;
/// assert_eq!(
///     signer.sign(br#"{"example":"well-known"}"#),
///     "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c=",
/// );
/// # Ok::<(), cronofy_notify_core::KeyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Signer {
    keys: Keys,
}

impl Signer {
    /// Builds a signer for one or more secrets.
    ///
    /// # Errors
    /// [`KeyError::NoSecrets`] for an empty list, [`KeyError::EmptySecret`] for a blank secret,
    /// [`KeyError::PaddedSecret`] for one with white space around it (it is not trimmed),
    /// [`KeyError::ControlInSecret`] for one holding a line break or another control character,
    /// [`KeyError::InvisibleInSecret`] for one holding a byte-order mark or a zero-width space,
    /// [`KeyError::QuotedSecret`] for one wrapped in quotes.
    pub fn new<I, S>(secrets: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<ClientSecret>,
    {
        Keys::new(secrets).map(|keys| Self { keys })
    }

    /// The header value for `body`: one standard-base64 digest per secret, joined by `,`.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut header = String::with_capacity(self.keys.0.len() * (ENCODED_LEN + 1));
        for (i, digest) in self.keys.digests(body).enumerate() {
            if i > 0 {
                header.push(',');
            }
            STANDARD.encode_string(digest, &mut header);
        }
        header
    }
}

/// The signature header of a request that carried it more than once, read as one
/// comma-separated value (as HTTP allows): pass every value of [`SIGNATURE_HEADER`] in order.
/// A single value is returned as it is, without copying.
///
/// ```
/// use cronofy_notify_core::combine_header_values;
///
/// assert_eq!(&*combine_header_values([&b"a"[..]]), b"a");
/// assert_eq!(&*combine_header_values([&b"a"[..], b"b"]), b"a,b");
/// assert_eq!(&*combine_header_values(std::iter::empty::<&[u8]>()), b"");
/// ```
pub fn combine_header_values<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> std::borrow::Cow<'a, [u8]> {
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        return std::borrow::Cow::Borrowed(&[]);
    };
    let Some(second) = values.next() else {
        return std::borrow::Cow::Borrowed(first);
    };
    let mut joined = [first, second].join(&b',');
    for value in values {
        joined.push(b',');
        joined.extend_from_slice(value);
    }
    std::borrow::Cow::Owned(joined)
}

/// The decoded digests of a header; values that are not a base64 digest are skipped, so one
/// malformed value does not hide a good one beside it.
fn parse_header(header: &[u8]) -> Result<Vec<[u8; DIGEST_LEN]>, SignatureError> {
    if header.trim_ascii().is_empty() {
        return Err(SignatureError::Missing);
    }
    let candidates: Vec<_> = header
        .split(|&b| b == b',')
        .filter_map(|value| decode_digest(value.trim_ascii()))
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    Ok(candidates)
}

fn decode_digest(value: &[u8]) -> Option<[u8; DIGEST_LEN]> {
    if value.len() != ENCODED_LEN {
        return None;
    }
    // 44 characters that decode to more than 32 bytes (no padding) do not fit: an error.
    let mut digest = [0u8; DIGEST_LEN];
    match STANDARD.decode_slice(value, &mut digest) {
        Ok(DIGEST_LEN) => Some(digest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_that_are_not_digests_are_skipped_beside_a_good_one() {
        let body = b"{}";
        let good = Signer::new(["s"]).unwrap().sign(body);
        let header = format!("garbage, {good} ,");
        assert_eq!(Verifier::new(["s"]).unwrap().verify(header, body), Ok(()));
    }

    #[test]
    fn whitespace_only_header_is_missing() {
        let verifier = Verifier::new(["s"]).unwrap();
        assert_eq!(verifier.verify(" \t", b"{}"), Err(SignatureError::Missing));
    }

    #[test]
    fn padding_is_required() {
        let body = b"{}";
        let good = Signer::new(["s"]).unwrap().sign(body);
        let unpadded = good.trim_end_matches('=');
        let verifier = Verifier::new(["s"]).unwrap();
        assert_eq!(
            verifier.verify(unpadded, body),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn a_verifier_counts_the_secrets_it_holds() {
        assert_eq!(Verifier::new(["one"]).unwrap().secret_count(), 1);
        assert_eq!(Verifier::new(["old", "new"]).unwrap().secret_count(), 2);
    }

    #[test]
    fn a_digest_value_decoding_to_more_than_32_bytes_is_malformed() {
        // 44 characters, no padding: 33 bytes.
        let long = "A".repeat(44);
        let verifier = Verifier::new(["s"]).unwrap();
        assert_eq!(
            verifier.verify(&long, b"{}"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn blank_and_missing_secrets_are_refused() {
        assert_eq!(
            Verifier::new(Vec::<String>::new()).unwrap_err(),
            KeyError::NoSecrets
        );
        assert_eq!(
            Verifier::new(["ok", "  "]).unwrap_err(),
            KeyError::EmptySecret { index: 1 }
        );
        // People count from one: the second secret is "2", whatever the field says.
        assert!(
            KeyError::EmptySecret { index: 1 }
                .to_string()
                .starts_with("client secret 2 of those given is empty")
        );
    }

    /// Both a verifier (as its second secret) and a signer refuse `secret`, with the `error` for
    /// its position.
    fn assert_refused(secret: &str, error: impl Fn(usize) -> KeyError) {
        assert_eq!(
            Verifier::new(["ok", secret]).unwrap_err(),
            error(1),
            "{secret:?}"
        );
        assert_eq!(Signer::new([secret]).unwrap_err(), error(0), "{secret:?}");
    }

    #[test]
    fn a_secret_with_white_space_around_it_is_refused_not_trimmed() {
        for padded in ["secret\n", "secret\r\n", " secret", "\tsecret "] {
            assert_refused(padded, |index| KeyError::PaddedSecret { index });
        }
        // A space inside a secret is the secret's own business.
        assert!(Verifier::new(["two words"]).is_ok());
        let message = KeyError::PaddedSecret { index: 0 }.to_string();
        assert!(
            message.starts_with("client secret 1 of those given begins or ends with white space"),
            "{message}"
        );
    }

    #[test]
    fn a_secret_holding_a_line_break_or_another_control_character_is_refused() {
        // Two secrets of a rotation in one variable, one per line, would match no callback.
        for joined in [
            "old-secret\nnew-secret",
            "old\r\nnew",
            "tab\tinside",
            "nul\0",
        ] {
            assert_refused(joined, |index| KeyError::ControlInSecret { index });
        }
        let message = KeyError::ControlInSecret { index: 0 }.to_string();
        assert!(
            message.starts_with("client secret 1 of those given holds a line break")
                && !message.contains("old-secret"),
            "{message}"
        );
    }

    #[test]
    fn a_secret_holding_a_character_that_cannot_be_seen_is_refused() {
        // A secret file saved with a byte-order mark, or a secret copied with a zero-width
        // space: it looks right everywhere, and would match no callback.
        for unseen in [
            "\u{FEFF}secret",
            "sec\u{200B}ret",
            "sec\u{200C}ret",
            "secret\u{200D}",
            "sec\u{2060}ret",
        ] {
            assert_refused(unseen, |index| KeyError::InvisibleInSecret { index });
        }
        // Other characters beyond ASCII are the secret's own business.
        assert!(Verifier::new(["sécret-ß-秘密"]).is_ok());
        let message = KeyError::InvisibleInSecret { index: 0 }.to_string();
        assert!(
            message.starts_with(
                "client secret 1 of those given holds a character that cannot be seen"
            ) && message.contains("byte-order mark"),
            "{message}"
        );
    }

    #[test]
    fn a_secret_wrapped_in_quotes_is_refused() {
        // `CRONOFY_CLIENT_SECRET="CRN_abc"` in a file given to `docker run --env-file`.
        for quoted in ["\"CRN_abc\"", "'CRN_abc'", "\"\""] {
            assert_refused(quoted, |index| KeyError::QuotedSecret { index });
        }
        // A quote that does not wrap the whole secret is the secret's own business.
        for kept in [
            "\"",
            "'",
            "\"CRN_abc",
            "CRN_abc'",
            "\"CRN_abc'",
            "CRN\"abc\"x",
        ] {
            assert!(Verifier::new([kept]).is_ok(), "{kept:?}");
        }
        let message = KeyError::QuotedSecret { index: 0 }.to_string();
        assert!(
            message.starts_with("client secret 1 of those given is wrapped in quotes")
                && message.contains("--env-file"),
            "{message}"
        );
    }

    #[test]
    fn a_mismatch_says_what_to_check() {
        let message = SignatureError::Mismatch.to_string();
        assert!(
            message.contains("raw body") && message.contains("client secret"),
            "{message}"
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let verifier = Verifier::new(["super-secret-value"]).unwrap();
        let debug = format!("{verifier:?}");
        assert!(!debug.contains("super-secret-value"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
