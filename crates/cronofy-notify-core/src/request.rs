//! Verifying a request given in the `http` crate's types (feature `http`).

use bytes::Bytes;

use crate::{Error, SIGNATURE_HEADER, VerifiedNotification, Verifier, combine_header_values};

impl Verifier {
    /// Verifies and parses a request from its headers and raw body, for any server built on the
    /// `http` crate (hyper, axum, warp, poem, lambda_http...).
    ///
    /// The `Cronofy-HMAC-SHA256` header is found whatever its case; sent more than once, its
    /// values count as one comma-separated list, as HTTP reads them; absent, the request is
    /// refused as unsigned. Then as [`Verifier::verify_and_parse`].
    ///
    /// ```
    /// use cronofy_notify_core::{Signer, Verifier};
    /// use http::{HeaderMap, HeaderValue};
    ///
    /// let verifier = Verifier::new(["my-client-secret"])?;
    /// let body = br#"{"notification":{"type":"event_subscription",
    ///   "interactions":[{"type":"meeting_agent_activated"}]},"meeting_agent":{"sub":"agt_1"}}"#;
    ///
    /// let mut headers = HeaderMap::new();
    /// let signature = Signer::new(["my-client-secret"])?.sign(body);
    /// headers.insert("cronofy-hmac-sha256", HeaderValue::from_str(&signature)?);
    ///
    /// let verified = verifier.verify_request(&headers, &body[..])?;
    /// assert_eq!(verified.meeting_agent().and_then(|a| a.sub.as_deref()), Some("agt_1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Verifier::verify_and_parse`]: [`Error::TooLarge`], [`Error::Signature`] (including a
    /// missing header) or [`Error::Parse`].
    pub fn verify_request(
        &self,
        headers: &http::HeaderMap,
        body: impl Into<Bytes>,
    ) -> Result<VerifiedNotification, Error> {
        let header = combine_header_values(
            headers
                .get_all(SIGNATURE_HEADER)
                .iter()
                .map(http::HeaderValue::as_bytes),
        );
        self.verify_and_parse(&*header, body)
    }
}
