//! Running each callback once, though Cronofy may deliver it more than once.
//!
//! Cronofy signs no timestamp and retries deliveries, so the same callback can arrive twice.
//! A [`Deduplicator`] admits a notification the first time its
//! [`idempotency key`](crate::Notification::idempotency_key) is seen and refuses it while that
//! key is held; a handler that fails gives the key back, so a redelivery is handled again.
//! The keys live in a [`DuplicateGuard`]: in memory by default ([`MemoryGuard`]), or in a store
//! shared by several processes (Redis, a database) behind the same small trait.

use std::any::Any;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use crate::Notification;

/// How long a receiver waits for the duplicate guard to say whether a callback is new before
/// it answers `503` (the adapters' `Background::admission_timeout`): Cronofy expects an answer
/// within a few seconds, and the in-memory guard answers at once.
pub const DEFAULT_ADMISSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A boxed future, as the guard's methods return (so the trait works as `dyn`).
pub type GuardFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the keys of callbacks already handled (or being handled) are kept.
///
/// A guard over a shared store (Redis, a database) can fail to reach it: it then answers
/// [`GuardError`], and the receiver answers 503 so that Cronofy delivers the callback again,
/// rather than run it twice or drop it. The adapters' `Background` also answers 503 when the
/// guard has not answered within its admission timeout (5 seconds by default), while the claim
/// goes on on the callback's own task; bound your store client's calls all the same, or each
/// callback delivered while it hangs keeps a task waiting.
///
/// A process can die between a claim and its handler's end, and nothing then releases the key.
/// A shared guard should therefore let keys expire (Redis `SET key 1 NX EX 86400`, a row with a
/// claimed-at time), long enough to outlast Cronofy's redeliveries of one callback.
///
/// Each method returns its future boxed, so a guard is written with `Box::pin(async move ..)`.
/// Here a stand-in for a shared store's client; with Redis, `claim` is one `SET key 1 NX EX`
/// (true when it answers `OK`) and `release` one `DEL key`:
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::Mutex;
/// use cronofy_notify_core::{Deduplicator, DuplicateGuard, GuardError, GuardFuture};
///
/// #[derive(Debug, Default)]
/// struct SharedStore {
///     claimed: Mutex<HashSet<String>>, // the store's client would be here
/// }
///
/// impl DuplicateGuard for SharedStore {
///     fn claim<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<bool, GuardError>> {
///         Box::pin(async move {
///             let mut claimed = self.claimed.lock().map_err(|_| GuardError::new("poisoned"))?;
///             Ok(claimed.insert(format!("cronofy:{key}")))
///         })
///     }
///
///     fn release<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
///         Box::pin(async move {
///             let mut claimed = self.claimed.lock().map_err(|_| GuardError::new("poisoned"))?;
///             claimed.remove(&format!("cronofy:{key}"));
///             Ok(())
///         })
///     }
/// }
///
/// // The adapters take it as `Background::new(handler).deduplicate_with(SharedStore::default())`.
/// let dedup = Deduplicator::new(SharedStore::default());
/// # let body = br#"{"notification":{"type":"event_subscription",
/// #   "interactions":[{"type":"meeting_agent_complete"}]},"meeting_agent":{"sub":"agt_1"}}"#;
/// # let notification = cronofy_notify_core::Notification::from_slice(body).unwrap();
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// # let mut admit = |n| match std::pin::pin!(dedup.admit(n)).poll(&mut cx) {
/// #     std::task::Poll::Ready(admitted) => admitted.unwrap().is_some(),
/// #     std::task::Poll::Pending => unreachable!("the stand-in store never waits"),
/// # };
/// # use std::future::Future as _;
/// # assert!(admit(&notification), "the first delivery is admitted");
/// # assert!(!admit(&notification), "a redelivery is not");
/// ```
pub trait DuplicateGuard: Send + Sync + fmt::Debug + 'static {
    /// Claims `key`: `true` the first time, `false` while it is claimed.
    ///
    /// # Errors
    /// When the store cannot say (unreachable, timed out).
    fn claim<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<bool, GuardError>>;

    /// Gives a claim back, after the handler failed, so that a redelivery runs again.
    ///
    /// # Errors
    /// When the store cannot be reached: the key stays claimed.
    fn release<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<(), GuardError>>;
}

/// A [`DuplicateGuard`]'s store failed, so whether a callback is a duplicate is not known.
///
/// It wraps the store's own error, which it shows after its own words and gives as its
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("the duplicate guard's store failed: {source}")]
pub struct GuardError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl GuardError {
    /// Wraps the store's error (or a message: anything that converts into a boxed error).
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

/// Keeps the most recent `capacity` keys in memory; the oldest are forgotten first.
///
/// Right for a single process. Several processes behind a load balancer need a shared guard.
#[derive(Debug)]
pub struct MemoryGuard {
    capacity: usize,
    keys: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    present: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
}

impl MemoryGuard {
    /// A guard that remembers up to `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            keys: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryGuard {
    /// Remembers the last 10,000 callbacks.
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl DuplicateGuard for MemoryGuard {
    fn claim<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<bool, GuardError>> {
        let mut keys = self.lock();
        let first = !keys.present.contains(key);
        if first {
            let key: Arc<str> = key.into();
            keys.present.insert(key.clone());
            keys.order.push_back(key);
            while keys.order.len() > self.capacity {
                if let Some(oldest) = keys.order.pop_front() {
                    keys.present.remove(&oldest);
                }
            }
        }
        Box::pin(std::future::ready(Ok(first)))
    }

    fn release<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
        let mut keys = self.lock();
        if keys.present.remove(key) {
            keys.order.retain(|k| &**k != key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

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

/// Why [`Claim::run`] failed: what the handler did, and whether its key was given back.
///
/// Its `Display` is one line for a log: the handler's error with its causes, or the panic's
/// message, and what becomes of a redelivery when the key could not be given back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The handler returned an error, described in its alternate form (`{:#}`, which for
    /// `anyhow` and `eyre` errors includes their causes). Its key was given back: a redelivery
    /// runs again.
    #[error("{0}")]
    Failed(String),
    /// The handler panicked, with this message (`"(no message)"` when the panic's payload was
    /// not a string). Its key was given back: a redelivery runs again.
    #[error("the handler panicked: {0}")]
    Panicked(String),
    /// The handler failed, and its key could not be given back: the guard's store failed, so a
    /// redelivery will be taken for a duplicate until the key expires there.
    #[error(
        "{failure}; and its key could not be given back, so a redelivery will be taken for a \
         duplicate: {source}"
    )]
    NotReleased {
        /// What the handler did: [`HandlerError::Failed`] or [`HandlerError::Panicked`].
        failure: Box<HandlerError>,
        /// Why the key could not be given back.
        source: GuardError,
    },
}

impl HandlerError {
    /// Whether the key was given back, so that a redelivery of the callback runs again.
    pub fn key_released(&self) -> bool {
        !matches!(self, Self::NotReleased { .. })
    }

    /// Whether the handler panicked (rather than returned an error).
    pub fn is_panic(&self) -> bool {
        match self {
            Self::Panicked(_) => true,
            Self::NotReleased { failure, .. } => failure.is_panic(),
            Self::Failed(_) => false,
        }
    }
}

/// A future that turns a panic while it is polled into an `Err` holding the panic's payload.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let work = self.0.as_mut();
        // The future is dropped after a panic and never polled again, so no broken state of
        // it can be observed: asserting unwind safety is sound.
        match std::panic::catch_unwind(AssertUnwindSafe(|| work.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The message a panic was raised with, when it was a string (as `panic!` makes it).
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// What a callback handler may return: `()`, or a `Result` whose error is logged (and whose
/// failure releases the callback for a redelivery).
pub trait HandlerOutcome {
    /// `Err` with a description when the handler failed.
    fn into_outcome(self) -> Result<(), String>;
}

impl HandlerOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

/// The error is described in its alternate form (`{:#}`), which for `anyhow` and `eyre` errors
/// includes their causes.
impl<E: fmt::Display> HandlerOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<F: Future>(f: F) -> F::Output {
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
    fn a_failed_handler_is_described_with_its_causes() {
        // As anyhow's errors do: the alternate form adds the chain of causes.
        struct Chained;
        impl fmt::Display for Chained {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("could not store the video")?;
                if f.alternate() {
                    f.write_str(": disk full")?;
                }
                Ok(())
            }
        }
        assert_eq!(
            Err::<(), _>(Chained).into_outcome(),
            Err("could not store the video: disk full".to_owned())
        );
        assert_eq!(().into_outcome(), Ok(()));
    }

    #[test]
    fn the_oldest_keys_are_forgotten_past_capacity() {
        let guard = MemoryGuard::new(2);
        let claim = |key| now(guard.claim(key)).unwrap();
        assert!(claim("a"));
        assert!(claim("b"));
        assert!(!claim("a"));
        assert!(claim("c"));
        assert!(claim("a"), "a was forgotten when c came");
    }

    #[test]
    fn a_release_forgets_that_key_alone() {
        let guard = MemoryGuard::new(2);
        let claim = |key| now(guard.claim(key)).unwrap();
        assert!(claim("a"));
        assert!(claim("b"));
        now(guard.release("a")).unwrap();
        assert!(claim("a"), "a released is new again");
        assert!(!claim("b"), "b is still remembered");
        // b is still the oldest: capacity keeps forgetting in order after a release.
        assert!(claim("c"));
        assert!(claim("b"), "b was forgotten when c came");
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

    #[test]
    fn outcomes_turn_into_results() {
        assert_eq!(().into_outcome(), Ok(()));
        assert_eq!(
            Err::<(), _>("disk full").into_outcome(),
            Err("disk full".into())
        );
    }
}
