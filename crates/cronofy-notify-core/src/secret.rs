//! The client secret, kept out of logs.

use std::fmt;

use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, ZeroizeOnDrop};

/// A Cronofy client secret (or any other credential this SDK handles).
///
/// Cronofy signs callbacks with the application's client secret, and the same secret is the API key
/// that downloads meeting resources. It must never reach a log line, so `Debug` and `Display` print
/// `[redacted]`; the value is only reachable through [`ClientSecret::expose_secret`], a name that
/// stands out in review. Its memory is overwritten with zeros when it is dropped, and two secrets
/// compare in constant time.
///
/// ```
/// use cronofy_notify_core::ClientSecret;
///
/// let secret = ClientSecret::from("CRN_example");
/// assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
/// assert_eq!(secret.to_string(), "[redacted]");
/// assert_eq!(secret.expose_secret(), "CRN_example");
/// ```
#[derive(Clone)]
pub struct ClientSecret(Box<str>);

impl ClientSecret {
    /// Wraps a secret. A `String` passed in is wiped once copied.
    pub fn new(secret: impl Into<String>) -> Self {
        let mut secret = secret.into();
        // Copied rather than `into_boxed_str`, which may reallocate and free the old buffer as
        // it is: this way every buffer the secret was in is wiped.
        let kept = Box::from(secret.as_str());
        secret.zeroize();
        Self(kept)
    }

    /// The secret itself, for code that must send or key with it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty or only white space (almost always an unset environment variable).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Whether the secret is wrapped in a pair of quotes, `"..."` or `'...'`, as an env file
    /// read by `docker run --env-file` leaves it (a shell and Docker Compose take them away).
    /// No Cronofy secret is.
    ///
    /// ```
    /// use cronofy_notify_core::ClientSecret;
    ///
    /// assert!(ClientSecret::from("\"CRN_example\"").is_quoted());
    /// assert!(!ClientSecret::from("CRN_example").is_quoted());
    /// ```
    pub fn is_quoted(&self) -> bool {
        let bytes = self.expose_secret().as_bytes();
        bytes.len() >= 2 && matches!(bytes[0], b'"' | b'\'') && bytes.last() == Some(&bytes[0])
    }
}

impl Drop for ClientSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for ClientSecret {}

impl PartialEq for ClientSecret {
    fn eq(&self, other: &Self) -> bool {
        // Only the lengths may show in the time taken.
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for ClientSecret {}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn wiped_on_drop<T: ZeroizeOnDrop>() {}

    #[test]
    fn secrets_and_the_hash_states_keyed_with_them_are_wiped_on_drop() {
        wiped_on_drop::<ClientSecret>();
        // The HMAC states a Verifier keeps are SHA-256 states: this holds only with sha2's
        // `zeroize` feature, which also wipes HMAC's block buffers.
        wiped_on_drop::<sha2::Sha256>();
    }

    #[test]
    fn secrets_compare_by_value() {
        let secret = ClientSecret::from("CRN_abc");
        assert_eq!(secret, ClientSecret::from(String::from("CRN_abc")));
        assert_eq!(secret, secret.clone());
        assert_ne!(secret, ClientSecret::from("CRN_abd"));
        assert_ne!(secret, ClientSecret::from("CRN_ab"));
        assert_ne!(secret, ClientSecret::from(""));
    }
}
