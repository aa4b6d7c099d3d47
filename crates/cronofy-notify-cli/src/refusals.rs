//! `serve`'s tally of refused requests, reported as one warning per interval.
//!
//! Each refusal is logged at DEBUG by the adapter, since anyone can reach a public endpoint and
//! a line per forged request would let them fill the log. But at the default level nothing at
//! all would show that every callback is being refused, which is what a wrong `--secret` (or a
//! secret rotated on Cronofy's side only) looks like. So `serve` counts refusals by reason and
//! says, at most once per interval, how many there were and why: enough to notice, never more
//! than one line a minute whatever the traffic.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cronofy_notify_axum::CallbackRejection;
use cronofy_notify_core::{Error, SignatureError};

/// Why a request was refused, as the report counts it (in the order it lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    SignatureMismatch,
    SignatureMissing,
    SignatureMalformed,
    TooLarge,
    NotANotification,
    Unreadable,
    TooSlow,
    Other,
}

impl Refusal {
    /// Every reason, in declaration order: `reason as usize` is its place here.
    const ALL: [Self; 8] = [
        Self::SignatureMismatch,
        Self::SignatureMissing,
        Self::SignatureMalformed,
        Self::TooLarge,
        Self::NotANotification,
        Self::Unreadable,
        Self::TooSlow,
        Self::Other,
    ];

    /// How the report words a count of them: "3 with a signature that does not match".
    fn phrase(self) -> &'static str {
        match self {
            Self::SignatureMismatch => "with a signature that does not match",
            Self::SignatureMissing => "without a signature",
            Self::SignatureMalformed => "with a malformed signature",
            Self::TooLarge => "over the body limit",
            Self::NotANotification => "genuine but not a Cronofy notification",
            Self::Unreadable => "whose body could not be read",
            Self::TooSlow => "whose body was too slow to arrive",
            Self::Other => "refused for another reason",
        }
    }

    fn is_signature(self) -> bool {
        matches!(
            self,
            Self::SignatureMismatch | Self::SignatureMissing | Self::SignatureMalformed
        )
    }
}

impl From<&CallbackRejection> for Refusal {
    fn from(rejection: &CallbackRejection) -> Self {
        match rejection {
            CallbackRejection::Refused(Error::Signature(SignatureError::Mismatch)) => {
                Self::SignatureMismatch
            }
            CallbackRejection::Refused(Error::Signature(SignatureError::Missing)) => {
                Self::SignatureMissing
            }
            CallbackRejection::Refused(Error::Signature(SignatureError::Malformed)) => {
                Self::SignatureMalformed
            }
            CallbackRejection::Refused(Error::TooLarge { .. }) => Self::TooLarge,
            CallbackRejection::Refused(Error::Parse(_)) => Self::NotANotification,
            CallbackRejection::Unreadable(_) => Self::Unreadable,
            _ => Self::Other,
        }
    }
}

/// Refusals counted since the last report.
#[derive(Debug)]
pub(crate) struct Refusals {
    counts: [AtomicU64; Refusal::ALL.len()],
    since: Mutex<Instant>,
}

impl Default for Refusals {
    fn default() -> Self {
        Self {
            counts: Default::default(),
            since: Mutex::new(Instant::now()),
        }
    }
}

impl Refusals {
    pub(crate) fn count(&self, refusal: Refusal) {
        self.counts[refusal as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the counts since the last call, leaving zeros.
    pub(crate) fn take(&self) -> Tally {
        let now = Instant::now();
        let since = std::mem::replace(
            &mut *self.since.lock().unwrap_or_else(|e| e.into_inner()),
            now,
        );
        Tally {
            counts: self.counts.each_ref().map(|n| n.swap(0, Ordering::Relaxed)),
            over: now.saturating_duration_since(since),
        }
    }

    /// Logs the counts since the last report, if there are any.
    pub(crate) fn report(&self) {
        let tally = self.take();
        if tally.total() > 0 {
            tracing::warn!(refused = tally.total(), "{tally}");
        }
    }
}

/// What one report says.
#[derive(Debug)]
pub(crate) struct Tally {
    /// By reason, in the order of [`Refusal::ALL`].
    counts: [u64; Refusal::ALL.len()],
    over: Duration,
}

impl Tally {
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Each reason with its count, for the reasons counted at least once.
    fn counted(&self) -> impl Iterator<Item = (Refusal, u64)> + '_ {
        Refusal::ALL
            .into_iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
    }
}

/// `refused 12 requests in 60 s: 10 with a signature that does not match, 2 over the body
/// limit`, then what a signature refusal may mean and how to see each one.
impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        let plural = if total == 1 { "" } else { "s" };
        write!(
            f,
            "refused {total} request{plural} in {} s:",
            self.over.as_secs_f64().round()
        )?;
        for (i, (refusal, n)) in self.counted().enumerate() {
            let lead = if i == 0 { " " } else { ", " };
            write!(f, "{lead}{n} {}", refusal.phrase())?;
        }
        if self.counted().any(|(refusal, _)| refusal.is_signature()) {
            f.write_str(
                " (if Cronofy's own callbacks are among them, --secret is not this Cronofy \
                 application's client secret)",
            )?;
        }
        f.write_str("; RUST_LOG=info,cronofy_notify_axum=debug logs each refusal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_counts_each_reason_once_and_then_starts_again() {
        let refusals = Refusals::default();
        for _ in 0..3 {
            refusals.count(Refusal::SignatureMismatch);
        }
        refusals.count(Refusal::TooLarge);
        let tally = refusals.take();
        assert_eq!(tally.total(), 4);
        let text = tally.to_string();
        assert!(
            text.starts_with(
                "refused 4 requests in 0 s: 3 with a signature that does not match, \
                 1 over the body limit (if Cronofy's own callbacks"
            ),
            "{text}"
        );
        assert_eq!(refusals.take().total(), 0, "taken: counted from zero again");
    }

    #[test]
    fn without_a_signature_refusal_there_is_no_word_about_the_secret() {
        let refusals = Refusals::default();
        refusals.count(Refusal::NotANotification);
        let text = refusals.take().to_string();
        assert!(
            text.starts_with("refused 1 request in 0 s: 1 genuine but not a Cronofy notification;"),
            "{text}"
        );
        assert!(!text.contains("--secret"), "{text}");
    }

    #[test]
    fn every_rejection_has_its_own_reason() {
        let cases = [
            (SignatureError::Missing.into(), Refusal::SignatureMissing),
            (
                SignatureError::Malformed.into(),
                Refusal::SignatureMalformed,
            ),
            (SignatureError::Mismatch.into(), Refusal::SignatureMismatch),
            (Error::TooLarge { limit: 1 }, Refusal::TooLarge),
            (
                cronofy_notify_core::ParseError::NotANotification.into(),
                Refusal::NotANotification,
            ),
        ];
        for (error, expected) in cases {
            let rejection = CallbackRejection::Refused(error);
            assert_eq!(Refusal::from(&rejection), expected, "{rejection}");
        }
        let unreadable = CallbackRejection::Unreadable("reset".into());
        assert_eq!(Refusal::from(&unreadable), Refusal::Unreadable);
    }

    #[test]
    fn every_reason_has_its_own_counter() {
        for (place, refusal) in Refusal::ALL.into_iter().enumerate() {
            assert_eq!(refusal as usize, place, "{refusal:?}");
        }
    }
}
