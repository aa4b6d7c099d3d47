//! What a handler run under a claim may return, and how its failure is told.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::GuardError;

/// Why [`Claim::run`](super::Claim::run) failed: what the handler did, and whether its key was given back.
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
pub(super) struct CatchPanic<F>(pub(super) Pin<Box<F>>);

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
pub(super) fn panic_message(panic: &(dyn Any + Send)) -> &str {
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
    fn outcomes_turn_into_results() {
        assert_eq!(().into_outcome(), Ok(()));
        assert_eq!(
            Err::<(), _>("disk full").into_outcome(),
            Err("disk full".into())
        );
    }
}
