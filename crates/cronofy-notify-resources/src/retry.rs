//! When to try again, and how long to wait first.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How failed attempts are retried.
///
/// Defaults (spec §6): exponential backoff with full jitter from 500 ms to 30 s, `Retry-After`
/// honoured up to 5 minutes, at most 8 attempts in a row that make no progress, and an overall
/// deadline of one hour per resource. An attempt that writes at least one byte counts as
/// progress and resets the count, so a multi-GB video over a flaky link keeps going while it
/// moves forward.
///
/// ```
/// use std::time::Duration;
/// use cronofy_notify_resources::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts_without_progress(4)
///     .deadline(Duration::from_secs(600));
/// assert_eq!(policy.max_attempts(), 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a RetryPolicy does nothing until given to `DownloaderBuilder::retry`"]
pub struct RetryPolicy {
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    max_attempts: u32,
    deadline: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            max_attempts: 8,
            deadline: Duration::from_secs(3600),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt, then the error.
    pub fn never() -> Self {
        Self::default().max_attempts_without_progress(1)
    }

    /// The first backoff's upper bound (default 500 ms); it doubles per attempt.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff (default 30 s).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest `Retry-After` honoured (default 5 min); a longer one waits this long.
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// How many attempts in a row may make no progress before giving up (default 8; at least 1).
    pub fn max_attempts_without_progress(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The overall deadline for one resource, waits included (default 1 h).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether backoffs are drawn at random below their bound ("full jitter", the default), or
    /// wait the whole bound (for predictable tests).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The number of attempts without progress allowed.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The overall deadline.
    pub fn overall_deadline(&self) -> Duration {
        self.deadline
    }

    /// The upper bound of the backoff after the `failures`-th failure in a row (from 1).
    pub fn backoff_bound(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }

    /// How long to wait after the `failures`-th failure in a row, given the server's
    /// `Retry-After`, if any.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let bound = self.backoff_bound(failures);
        if self.jitter {
            bound.mul_f64(random_unit())
        } else {
            bound
        }
    }
}

/// A number in [0, 1), random enough for jitter, without a dependency on `rand`.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The `Retry-After` of a response: delay-seconds or an HTTP date (in the past means now).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn never_means_one_attempt() {
        assert_eq!(RetryPolicy::never().max_attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(), 8);
    }

    #[test]
    fn backoff_doubles_from_the_initial_bound_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let bounds: Vec<_> = (1..=8)
            .map(|n| policy.backoff_bound(n).as_millis())
            .collect();
        assert_eq!(bounds, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(policy.backoff_bound(1000), Duration::from_secs(30));
    }

    #[test]
    fn jittered_delays_stay_below_their_bound_and_vary() {
        let policy = RetryPolicy::default();
        let delays: Vec<_> = (0..64).map(|_| policy.delay(4, None)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(4)));
        delays
            .windows(2)
            .find(|w| w[0] != w[1])
            .expect("jitter varies");
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(300)
        );
        let capped = policy.max_retry_after(Duration::from_secs(5));
        assert_eq!(
            capped.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));

        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(85) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
