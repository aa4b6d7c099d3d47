//! Downloading the recordings of completed meetings, and trying again those not all stored.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cronofy_notify_core::{InteractionType, Notification};
use cronofy_notify_resources::DownloadError;

use super::App;
use crate::callbacks;
use crate::download::print_report;

/// The longest wait between two tries of a meeting whose recordings keep failing.
const LONGEST_RETRY_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Downloads a completed meeting's recordings on a task of their own. `failures` is how many
/// tries of it in a row have left recordings not stored (0 for a new callback).
pub(super) fn spawn_download(app: &Arc<App>, notification: Notification, failures: u32) {
    let Some(sub) = notification
        .as_event_subscription()
        .and_then(|c| c.agent_sub())
        .map(str::to_owned)
    else {
        tracing::warn!(
            "a completed meeting without meeting_agent.sub: its recordings have nowhere to go \
             and are not downloaded; the body is kept under _no_agent"
        );
        return;
    };
    let app_for_task = app.clone();
    app.tasks.spawn(async move {
        let Some(callback) = notification.as_event_subscription() else {
            return;
        };
        let retry_in = retry_wait(app_for_task.retry_every, failures);
        // What the log says of the next try: `--retry-every 0`, or a wait past the clock's end,
        // leaves it to the next start.
        let next_try = if app_for_task.retry_every.is_zero()
            || tokio::time::Instant::now().checked_add(retry_in).is_none()
        {
            "at the next start".to_owned()
        } else {
            format!("{retry_in:?}")
        };
        let stored = match app_for_task
            .downloader
            .download_with_cancel(callback, app_for_task.stop.clone())
            .await
        {
            Ok(report) if report.resources.is_empty() => {
                tracing::info!(sub = %report.sub, "the callback lists no recordings to store (in the categories asked for)");
                true
            }
            // A meeting from an earlier run, found complete: nothing to say at each start.
            Ok(report) if report.is_success() && report.resources.iter().all(|r| r.skipped) => {
                tracing::debug!(sub = %report.sub, "recordings already stored");
                true
            }
            Ok(report) if report.is_success() => {
                tracing::info!(sub = %report.sub, "recordings stored");
                if let Err(message) = print_report(&report) {
                    tracing::warn!("{message}");
                }
                true
            }
            Ok(report) if app_for_task.stop.is_cancelled() => {
                tracing::info!(sub = %report.sub, "download checkpointed; it resumes on the next start");
                return;
            }
            // Another process on this folder (a second `serve`) is storing the rest: no failure,
            // but looked at again, to find them recorded (or to take over from one that died).
            Ok(report)
                if report
                    .failures()
                    .all(|r| r.error.as_ref().is_some_and(DownloadError::is_busy)) =>
            {
                let busy = report.failures().count();
                tracing::info!(sub = %report.sub, busy, retry_in = %next_try, "recordings left to another process storing them; checked again later");
                false
            }
            Ok(report) => {
                // The downloader has logged each failure, with its resource and reason; its
                // words name no flag, and this command's user needs the flag.
                let failed = report.failures().count();
                let hint = if report
                    .failures()
                    .any(|r| matches!(r.error, Some(DownloadError::InsecureUrl { .. })))
                {
                    " (--allow-http allows plain-http resource URLs, for local tests)"
                } else {
                    ""
                };
                tracing::warn!(sub = %report.sub, failed, retry_in = %next_try, "some recordings were not stored{hint}");
                false
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = %next_try, "download failed");
                false
            }
        };
        let mut to_retry = app_for_task.to_retry();
        match tokio::time::Instant::now().checked_add(retry_in) {
            Some(due) if !stored => {
                let failures = failures + 1;
                to_retry.insert(sub, Unfinished { notification, failures, due });
            }
            // Stored; or a wait past the clock's end (a huge --retry-every): only a start takes
            // the meeting up again.
            _ => {
                to_retry.remove(&sub);
            }
        }
    });
}

/// A completed meeting whose recordings are not all stored, and when to try it again.
pub(super) struct Unfinished {
    notification: Notification,
    /// Tries in a row that left recordings not stored.
    failures: u32,
    due: tokio::time::Instant,
}

impl App {
    /// The completed meetings whose last download left recordings not stored, by agent.
    fn to_retry(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unfinished>> {
        self.unfinished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long to wait before trying again a meeting that failed `failures` times before this
/// one: `retry_every` (`--retry-every`), doubled with each failure, up to a day, or up to
/// `retry_every` if that is longer. A recording that comes late is fetched soon; one that is
/// gone for good (an expired link) costs one request a day, not one every quarter of an hour
/// for ever.
fn retry_wait(retry_every: Duration, failures: u32) -> Duration {
    let doubled = retry_every
        .checked_mul(1 << failures.min(16))
        .unwrap_or(Duration::MAX);
    doubled.min(LONGEST_RETRY_WAIT.max(retry_every))
}

/// The `meeting_agent_complete` bodies kept under `out`. These were verified when they arrived.
pub(super) fn completed_meetings(out: &Path) -> Vec<Notification> {
    let mut found = Vec::new();
    let Ok(agents) = std::fs::read_dir(out) else {
        return found;
    };
    for agent in agents.flatten() {
        let Ok(bodies) = std::fs::read_dir(agent.path().join("callbacks")) else {
            continue;
        };
        for body in bodies.flatten() {
            let path = body.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(notification) = Notification::from_slice(&bytes).map(callbacks::typed) else {
                continue;
            };
            if notification
                .as_event_subscription()
                .is_some_and(|c| c.has_interaction(&InteractionType::MeetingAgentComplete))
            {
                found.push(notification);
            }
        }
    }
    found
}

/// Every `interval`, until the server stops, downloads again the meetings whose last download
/// left recordings not stored and whose wait is over: a failure that outlasted the downloader's
/// own retries (a long outage, say) mends itself without a restart.
pub(super) fn spawn_retries(app: &Arc<App>, interval: Duration) {
    let app_for_task = app.clone();
    app.tasks.spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = app_for_task.stop.cancelled() => return,
            }
            let now = tokio::time::Instant::now();
            let due: Vec<_> = app_for_task
                .to_retry()
                .extract_if(|_, unfinished| unfinished.due <= now)
                .collect();
            for (sub, unfinished) in due {
                tracing::info!(%sub, "trying again the recordings not stored");
                spawn_download(&app_for_task, unfinished.notification, unfinished.failures);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_wait_doubles_up_to_a_day() {
        let minute = Duration::from_secs(60);
        let waits: Vec<u64> = (0..5).map(|n| retry_wait(minute, n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960]);
        assert_eq!(
            retry_wait(minute, 10).as_secs(),
            61_440,
            "2^10 minutes is less than a day"
        );
        let day = Duration::from_secs(86_400);
        assert_eq!(
            retry_wait(minute, 11),
            day,
            "2^11 minutes is more than a day"
        );
        assert_eq!(retry_wait(minute, 1_000), day, "however many failures");
        assert_eq!(retry_wait(Duration::from_secs(86_399), 1), day);
    }

    #[test]
    fn a_retry_every_longer_than_a_day_is_kept_as_it_is() {
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(retry_wait(week, 0), week);
        assert_eq!(retry_wait(week, 3), week);
        let huge = Duration::from_secs(u64::MAX);
        assert_eq!(retry_wait(huge, 5), huge, "no overflow");
    }
}
