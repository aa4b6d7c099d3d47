//! Where the keys of callbacks handled are kept: the `DuplicateGuard` trait, its error, and the
//! in-memory guard.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::tests::now;

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
}
