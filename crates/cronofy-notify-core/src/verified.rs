//! A notification whose signature was checked, with the bytes it came from.

use std::ops::Deref;

use bytes::Bytes;
use serde::Serialize;

use crate::{Error, EventSubscription, Notification, ParseError, Verifier};

/// A callback whose `Cronofy-HMAC-SHA256` signature was verified, parsed, with its raw body.
///
/// The only way to get one is [`Verifier::verify_and_parse`] (or, in tests, the plainly named
/// [`VerifiedNotification::new_unchecked`]), so a function that takes a `VerifiedNotification`
/// cannot be handed a forged callback. It dereferences to the [`Notification`].
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedNotification {
    notification: Notification,
    body: Bytes,
}

impl VerifiedNotification {
    /// Parses `body` **without checking any signature**. For tests and for bodies verified by
    /// other means; never for a request from the network.
    ///
    /// # Errors
    /// As [`Notification::from_slice`].
    pub fn new_unchecked(body: impl Into<Bytes>) -> Result<Self, ParseError> {
        let body = body.into();
        Ok(Self {
            notification: Notification::from_slice(&body)?,
            body,
        })
    }

    /// The parsed notification.
    pub fn notification(&self) -> &Notification {
        &self.notification
    }

    /// The body exactly as received and signed: store or forward these bytes, never a
    /// re-serialisation (which would not match the signature).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The parsed notification and the raw body.
    pub fn into_parts(self) -> (Notification, Bytes) {
        (self.notification, self.body)
    }

    /// The `event_subscription` callback, typed and owned (see
    /// [`Notification::into_event_subscription`]), for a task that outlives the request.
    pub fn into_event_subscription(self) -> Option<EventSubscription> {
        self.notification.into_event_subscription()
    }
}

impl Deref for VerifiedNotification {
    type Target = Notification;

    fn deref(&self) -> &Notification {
        &self.notification
    }
}

/// The notification's one line for logs (see [`Notification`'s `Display`](Notification)).
impl std::fmt::Display for VerifiedNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.notification(), f)
    }
}

impl Serialize for VerifiedNotification {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.notification.serialize(serializer)
    }
}

impl Verifier {
    /// Verifies the signature of `body`, then parses it: the one call a receiver needs.
    ///
    /// The body is parsed only once the signature is known to be good, so a forged request costs
    /// one HMAC and no JSON parsing.
    ///
    /// ```
    /// use cronofy_notify_core::{Error, InteractionType, Notification, Signer, Verifier};
    ///
    /// let verifier = Verifier::new(["my-client-secret"])?;
    /// let body = br#"{"notification":{"type":"event_subscription",
    ///   "interactions":[{"type":"meeting_agent_failed","subtype":"join_timeout"}]},
    ///   "meeting_agent":{"sub":"agt_1","state":"complete"}}"#;
    /// let header = Signer::new(["my-client-secret"])?.sign(body);
    ///
    /// let verified = verifier.verify_and_parse(&header, &body[..])?;
    /// let callback = verified.as_event_subscription().expect("an event subscription");
    /// assert_eq!(callback.agent_sub(), Some("agt_1"));
    /// assert_eq!(callback.failure_reason().map(|r| r.as_str()), Some("join_timeout"));
    /// assert_eq!(verified.body(), &body[..]);
    ///
    /// // A forged request is refused before its body is looked at.
    /// assert!(matches!(
    ///     verifier.verify_and_parse("bm90IGEgc2lnbmF0dXJl", &b"{}"[..]),
    ///     Err(Error::Signature(_))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a body over [`Verifier::body_limit`] (checked before any hashing),
    /// [`Error::Signature`] when the signature is not good, [`Error::Parse`] when it is but the
    /// body is not a Cronofy notification.
    pub fn verify_and_parse(
        &self,
        header: impl AsRef<[u8]>,
        body: impl Into<Bytes>,
    ) -> Result<VerifiedNotification, Error> {
        let body = body.into();
        if body.len() > self.body_limit() {
            return Err(Error::TooLarge {
                limit: self.body_limit(),
            });
        }
        self.verify(header, &body)?;
        Ok(VerifiedNotification::new_unchecked(body)?)
    }
}
