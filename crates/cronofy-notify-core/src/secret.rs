//! The client secret, kept out of logs.

use std::fmt;

/// A Cronofy client secret (or any other credential this SDK handles).
///
/// Cronofy signs callbacks with the application's client secret, and the same secret is the API key
/// that downloads meeting resources. It must never reach a log line, so `Debug` and `Display` print
/// `[redacted]`; the value is only reachable through [`ClientSecret::expose_secret`], a name that
/// stands out in review.
///
/// ```
/// use cronofy_notify_core::ClientSecret;
///
/// let secret = ClientSecret::from("CRN_example");
/// assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
/// assert_eq!(secret.to_string(), "[redacted]");
/// assert_eq!(secret.expose_secret(), "CRN_example");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(Box<str>);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into_boxed_str())
    }

    /// The secret itself, for code that must send or key with it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty or only white space (almost always an unset environment variable).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

impl fmt::Display for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for ClientSecret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl From<&str> for ClientSecret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<&String> for ClientSecret {
    fn from(secret: &String) -> Self {
        Self::new(secret.as_str())
    }
}
