//! What can go wrong between the bytes of a request and a verified notification.

use crate::SignatureError;

/// Why a body is not a Cronofy notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not JSON.
    #[error("the body is not JSON ({reason} at line {line}, column {column})")]
    NotJson {
        /// What the JSON parser met, without echoing the body.
        reason: &'static str,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1, as serde_json counts it: 0 when the input ends at the
        /// start of a line (an empty body, say).
        column: usize,
    },
    /// The body nests arrays or objects more than 128 levels deep: a guard against bodies made
    /// to exhaust the stack, far past any Cronofy callback. It may or may not be JSON otherwise.
    #[error(
        "the body nests JSON more than 128 levels deep (at line {line}, column {column}), far past any Cronofy callback"
    )]
    TooDeep {
        /// Line where the limit was passed, from 1.
        line: usize,
        /// Column where the limit was passed, from 1.
        column: usize,
    },
    /// The body is JSON, but has no string at `notification.type`, so it is not a Cronofy callback.
    #[error(
        "the body is JSON but not a Cronofy notification: it has no string at notification.type"
    )]
    NotANotification,
}

impl ParseError {
    pub(crate) fn from_json(error: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let (line, column) = (error.line(), error.column());
        // serde_json has no public error code for its depth guard; its message is the only
        // sign, and it is on the error path only.
        if error.classify() == Category::Syntax
            && error.to_string().starts_with("recursion limit exceeded")
        {
            return Self::TooDeep { line, column };
        }
        Self::NotJson {
            reason: json_reason(&error),
            line,
            column,
        }
    }
}

/// What serde_json met where bytes stopped being JSON, in words of our own: its messages for
/// syntax errors never quote the input, but this keeps ours to a fixed set whatever a later
/// serde_json says.
pub(crate) fn json_reason(error: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    /// serde_json's message for each syntax error (the start of its `Display`), and ours.
    const SYNTAX: &[(&str, &str)] = &[
        ("expected `:`", "expected `:`"),
        ("expected `,` or `]`", "expected `,` or `]`"),
        ("expected `,` or `}`", "expected `,` or `}`"),
        ("expected ident", "expected `true`, `false` or `null`"),
        ("expected value", "expected a JSON value"),
        ("invalid escape", "invalid escape in a string"),
        ("invalid number", "invalid number"),
        ("number out of range", "number out of range"),
        ("invalid unicode code point", "invalid unicode code point"),
        ("control character", "control character in a string"),
        ("key must be a string", "object key is not a string"),
        (
            "lone leading surrogate",
            "unpaired surrogate in a \\u escape",
        ),
        ("trailing comma", "trailing comma"),
        ("trailing characters", "more after the JSON value"),
        // A leading surrogate not followed by a `\u` escape of its pair.
        (
            "unexpected end of hex escape",
            "unpaired surrogate in a \\u escape",
        ),
    ];
    match error.classify() {
        Category::Eof => "unexpected end of input",
        Category::Io => "read error",
        Category::Syntax | Category::Data => {
            let message = error.to_string();
            SYNTAX
                .iter()
                .find(|(theirs, _)| message.starts_with(theirs))
                .map_or("invalid JSON syntax", |&(_, ours)| ours)
        }
    }
}

/// Why [`Verifier::verify_and_parse`](crate::Verifier::verify_and_parse) refused a request.
///
/// Match on it to answer: a [`Error::Signature`] is not from Cronofy (answer 401), a
/// [`Error::Parse`] is genuine but not a notification (answer 400), a [`Error::TooLarge`] body was
/// refused unread (answer 413); [`Error::http_status`] says the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The signature is missing, malformed or does not match; the body was not parsed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signature is genuine, but the body is not a Cronofy notification.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The body is larger than the verifier's limit; it was not hashed.
    #[error("the body is over the limit of {limit} bytes for a callback")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Error {
    /// The HTTP status a receiver should answer: 401 for a signature that is missing or wrong,
    /// 413 for a body over the limit, 400 for a genuine body that is not a notification.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Signature(_) => 401,
            Self::TooLarge { .. } => 413,
            Self::Parse(_) => 400,
        }
    }

    /// A short text for the response body that reveals nothing about the secret or the
    /// expected signature: the details belong in logs.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Signature(_) => "missing or invalid Cronofy-HMAC-SHA256 signature",
            Self::TooLarge { .. } => "callback body too large",
            Self::Parse(_) => "not a Cronofy notification",
        }
    }
}
