//! Running each callback once, though Cronofy may deliver it more than once.
//!
//! Cronofy signs no timestamp and retries deliveries, so the same callback can arrive twice.
//! A [`Deduplicator`] admits a notification the first time its
//! [`idempotency key`](crate::Notification::idempotency_key) is seen and refuses it while that
//! key is held; a handler that fails gives the key back, so a redelivery is handled again.
//! The keys live in a [`DuplicateGuard`]: in memory by default ([`MemoryGuard`]), or in a store
//! shared by several processes (Redis, a database) behind the same small trait.

mod guard;
mod handler;

use std::sync::Arc;

pub use guard::{DuplicateGuard, GuardError, GuardFuture, MemoryGuard};
pub use handler::{HandlerError, HandlerOutcome};

use handler::{CatchPanic, panic_message};

use crate::Notification;

/// How long a receiver waits for the duplicate guard to say whether a callback is new before
/// it answers `503` (the adapters' `Background::admission_timeout`): Cronofy expects an answer
/// within a few seconds, and the in-memory guard answers at once.
pub const DEFAULT_ADMISSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Admits each callback once. Cheap to clone; clones share the guard.
///
/// ```
/// use cronofy_notify_core::{Deduplicator, Notification};
///
/// # futures_lite_block_on(async {
/// let dedup = Deduplicator::in_memory(1000);
/// let body = br#"{"notification":{"type":"event_subscription",
///   "interactions":[{"type":"meeting_agent_complete"}]},"meeting_agent":{"sub":"agt_1"}}"#;
/// let notification = Notification::from_slice(body).unwrap();
///
/// let claim = dedup.admit(&notification).await?.expect("the first delivery is admitted");
/// assert!(dedup.admit(&notification).await?.is_none(), "a redelivery is not");
/// claim.release().await?; // the handler failed: let a redelivery try again
/// assert!(dedup.admit(&notification).await?.is_some());
/// # Ok::<(), cronofy_notify_core::GuardError>(())
/// # }).unwrap();
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Deduplicator {
    guard: Arc<dyn DuplicateGuard>,
}

/// The right to handle one callback, from [`Deduplicator::admit`].
#[derive(Debug)]
#[must_use = "release the claim if the handler fails, so a redelivery runs again"]
pub struct Claim {
    key: Option<String>,
    guard: Arc<dyn DuplicateGuard>,
}

impl Deduplicator {
    /// Deduplicates through `guard`.
    pub fn new(guard: impl DuplicateGuard) -> Self {
        Self {
            guard: Arc::new(guard),
        }
    }

    /// Deduplicates in memory, remembering up to `capacity` callbacks.
    pub fn in_memory(capacity: usize) -> Self {
        Self::new(MemoryGuard::new(capacity))
    }

    /// Claims a notification: `Some` the first time its key is seen (or when it has none:
    /// notifications without a meeting agent are never taken for duplicates), `None` for a
    /// duplicate.
    ///
    /// With a shared guard this is a round trip, and the store may have made the claim before
    /// its answer arrives: if the future can be dropped midway (a web handler whose client hangs
    /// up, a timeout), admit and run the work on one task of its own and only wait for the
    /// answer there, or the key stays claimed with nothing run (the adapters' `Background`
    /// does this).
    ///
    /// # Errors
    /// When the guard's store cannot say: answer 503, so that Cronofy delivers it again.
    pub async fn admit(&self, notification: &Notification) -> Result<Option<Claim>, GuardError> {
        let key = notification.idempotency_key();
        if let Some(key) = &key
            && !self.guard.claim(key).await?
        {
            return Ok(None);
        }
        Ok(Some(Claim {
            key,
            guard: self.guard.clone(),
        }))
    }
}

impl Default for Deduplicator {
    fn default() -> Self {
        Self::new(MemoryGuard::default())
    }
}

impl Claim {
    /// The key claimed, if the notification had one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Runs the handler's work under this claim: on failure the claim is released, so that a
    /// redelivery runs again, and the failure is returned for the caller to log. A handler that
    /// panics has failed too: its claim is released and the panic's message returned (with
    /// `panic = "abort"` there is nothing to return to). Only a panic while `work` is polled
    /// is caught: call the handler inside it, `claim.run(async move { handler(n).await })`,
    /// rather than `claim.run(handler(n))`, where a handler that panics before it returns its
    /// future would leave the key claimed.
    ///
    /// # Errors
    /// [`HandlerError`]: the handler returned an error or panicked, and whether its key was
    /// given back ([`HandlerError::key_released`]).
    pub async fn run<F>(self, work: F) -> Result<(), HandlerError>
    where
        F: Future,
        F::Output: HandlerOutcome,
    {
        let failure = match CatchPanic(Box::pin(work)).await {
            Ok(output) => match output.into_outcome() {
                Ok(()) => return Ok(()),
                Err(reason) => HandlerError::Failed(reason),
            },
            Err(panic) => HandlerError::Panicked(panic_message(&*panic).to_owned()),
        };
        match self.release().await {
            Ok(()) => Err(failure),
            Err(source) => Err(HandlerError::NotReleased {
                failure: Box::new(failure),
                source,
            }),
        }
    }

    /// Gives the claim back: a redelivery of the same callback will be admitted.
    ///
    /// # Errors
    /// When the guard's store cannot be reached: the key stays claimed.
    pub async fn release(self) -> Result<(), GuardError> {
        match &self.key {
            Some(key) => self.guard.release(key).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls a future that never waits (the in-memory guard's) to its end.
    pub(super) fn now<F: Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn an_in_memory_deduplicator_keeps_the_capacity_it_was_given() {
        let dedup = Deduplicator::in_memory(1);
        let first = complete();
        let claim = now(dedup.admit(&first)).unwrap().expect("first delivery");
        assert_eq!(claim.key(), Some("agt_1/meeting_agent_complete"));
        assert!(now(dedup.admit(&first)).unwrap().is_none(), "a duplicate");
        let other = Notification::from_slice(
            br#"{"notification":{"type":"event_subscription"},"meeting_agent":{"sub":"agt_2"}}"#,
        )
        .unwrap();
        assert!(now(dedup.admit(&other)).unwrap().is_some());
        assert!(
            now(dedup.admit(&first)).unwrap().is_some(),
            "one key remembered: the first was forgotten when the second came"
        );
    }

    #[test]
    fn notifications_without_a_key_are_always_admitted() {
        let dedup = Deduplicator::in_memory(10);
        let other = Notification::from_slice(br#"{"notification":{"type":"change"}}"#).unwrap();
        let first = now(dedup.admit(&other)).unwrap().unwrap();
        assert_eq!(first.key(), None);
        assert!(now(dedup.admit(&other)).unwrap().is_some());
    }

    #[test]
    fn a_panicking_handler_fails_and_gives_its_key_back() {
        let dedup = Deduplicator::in_memory(10);
        let notification = complete();
        let claim = now(dedup.admit(&notification))
            .unwrap()
            .expect("first delivery");
        let outcome = now(claim.run(async {
            if notification.idempotency_key().is_some() {
                panic!("the handler hit a bug: {}", 42);
            }
        }));
        let error = outcome.unwrap_err();
        assert!(
            matches!(&error, HandlerError::Panicked(message) if message == "the handler hit a bug: 42"),
            "{error:?}"
        );
        assert!(error.is_panic() && error.key_released());
        assert_eq!(
            error.to_string(),
            "the handler panicked: the handler hit a bug: 42"
        );
        assert!(
            now(dedup.admit(&notification)).unwrap().is_some(),
            "the redelivery runs again"
        );
    }

    /// A guard whose store can be taken down.
    #[derive(Debug, Default)]
    struct FlakyGuard {
        down: std::sync::atomic::AtomicBool,
        memory: MemoryGuard,
    }

    impl FlakyGuard {
        fn check(&self) -> Result<(), GuardError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(GuardError::new("connection refused"));
            }
            Ok(())
        }
    }

    impl DuplicateGuard for FlakyGuard {
        fn claim<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<bool, GuardError>> {
            Box::pin(async move {
                self.check()?;
                self.memory.claim(key).await
            })
        }

        fn release<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
            Box::pin(async move {
                self.check()?;
                self.memory.release(key).await
            })
        }
    }

    fn complete() -> Notification {
        Notification::from_slice(
            br#"{"notification":{"type":"event_subscription",
                                  "interactions":[{"type":"meeting_agent_complete"}]},
                 "meeting_agent":{"sub":"agt_1"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_store_that_cannot_say_is_an_error_not_a_guess() {
        let guard = Arc::new(FlakyGuard::default());
        let dedup = Deduplicator {
            guard: guard.clone(),
        };
        guard.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let error = now(dedup.admit(&complete())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the duplicate guard's store failed: connection refused"
        );
        assert_eq!(
            std::error::Error::source(&error).map(ToString::to_string),
            Some("connection refused".into())
        );
        guard.down.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(now(dedup.admit(&complete())).unwrap().is_some());
    }

    #[test]
    fn a_release_that_fails_is_part_of_the_failure() {
        let guard = Arc::new(FlakyGuard::default());
        let dedup = Deduplicator {
            guard: guard.clone(),
        };
        let claim = now(dedup.admit(&complete())).unwrap().unwrap();
        let outcome = now(claim.run(async {
            guard.down.store(true, std::sync::atomic::Ordering::SeqCst);
            Err::<(), _>("disk full")
        }));
        let error = outcome.unwrap_err();
        assert!(!error.key_released(), "the key is still held");
        assert!(!error.is_panic());
        let HandlerError::NotReleased { failure, source } = &error else {
            panic!("expected NotReleased, got {error:?}");
        };
        assert!(matches!(&**failure, HandlerError::Failed(reason) if reason == "disk full"));
        assert_eq!(
            source.to_string(),
            "the duplicate guard's store failed: connection refused"
        );
        assert_eq!(
            error.to_string(),
            "disk full; and its key could not be given back, so a redelivery will be taken for \
             a duplicate: the duplicate guard's store failed: connection refused"
        );
        assert_eq!(
            std::error::Error::source(&error).map(ToString::to_string),
            Some(source.to_string()),
            "the guard's error is also its source"
        );
    }

    #[test]
    fn a_failed_handler_gives_its_key_back_and_says_why() {
        let dedup = Deduplicator::in_memory(10);
        let notification = complete();
        let claim = now(dedup.admit(&notification)).unwrap().unwrap();
        let error = now(claim.run(async { Err::<(), _>("disk full") })).unwrap_err();
        assert!(matches!(&error, HandlerError::Failed(reason) if reason == "disk full"));
        assert!(error.key_released() && !error.is_panic());
        assert_eq!(error.to_string(), "disk full");
        assert!(now(dedup.admit(&notification)).unwrap().is_some());

        let claim = now(dedup.admit(&notification)).unwrap();
        assert!(
            claim.is_none(),
            "held again by the redelivery just admitted"
        );
    }

    #[test]
    fn a_handler_that_succeeds_keeps_its_key() {
        let dedup = Deduplicator::in_memory(10);
        let notification = complete();
        let claim = now(dedup.admit(&notification)).unwrap().unwrap();
        assert!(now(claim.run(async {})).is_ok());
        assert!(now(dedup.admit(&notification)).unwrap().is_none());
    }
}
