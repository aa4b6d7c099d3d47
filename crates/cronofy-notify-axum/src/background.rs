//! Answering at once and handling the callback on its own task, once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequest, Request};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cronofy_notify_core::{
    Deduplicator, DuplicateGuard, HandlerOutcome, VerifiedNotification, Verifier,
};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::CronofyCallback;

/// An axum handler that verifies a callback, answers `202 Accepted` at once, and runs `handler`
/// on a spawned task with its own tracing span, so slow work (downloads) never delays the
/// answer Cronofy waits for.
///
/// A redelivered callback (same agent `sub` and interaction) is answered `200 OK` and not run
/// again; if `handler` fails (returns `Err` or panics), the failure is logged (WARN) and the
/// callback released, so that a later delivery of it runs (if a shared guard's store cannot
/// release it, the log says so at ERROR: a redelivery would then be taken for a duplicate).
/// Do not count on one: Cronofy has had its 202, and a 2xx is what tells a sender not to try
/// again. Work that must not be lost should retry inside the handler ([`Downloader`] retries
/// and resumes on its own) or first keep the raw body ([`VerifiedNotification::body`])
/// somewhere it can be taken up again, as `cronofy-notify serve` does.
///
/// [`Downloader`]: https://docs.rs/cronofy-notify-resources/latest/cronofy_notify_resources/struct.Downloader.html
///
/// Keys are kept in memory by default ([`MemoryGuard`](cronofy_notify_core::MemoryGuard));
/// pass a shared [`DuplicateGuard`] with [`Background::deduplicate_with`] when several
/// processes receive callbacks. When a shared guard's store cannot say whether a callback is a
/// duplicate, or has not said within the [admission timeout](Background::admission_timeout)
/// (5 seconds by default), the answer is `503` and Cronofy delivers it again.
///
/// Cronofy has had its 202 and will not send that callback again, so a shutdown must not cut a
/// handler off midway: keep a clone, and once the server has stopped accepting, wait for the
/// handlers in flight with [`Background::drain`].
///
/// ```no_run
/// use axum::{Router, routing::post};
/// use cronofy_notify_axum::{Background, VerifiedNotification, Verifier};
///
/// async fn handle(verified: VerifiedNotification) -> Result<(), std::io::Error> {
///     // download the recordings, update the database...
///     Ok(())
/// }
///
/// # async fn run(verifier: Verifier) -> std::io::Result<()> {
/// let background = Background::new(handle);
/// let app = Router::new()
///     .route("/cronofy", post(background.clone()))
///     .with_state(verifier);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app)
///     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
///     .await?;
/// background.drain().await; // the downloads started before the signal finish
/// # Ok(()) }
/// ```
pub struct Background<H> {
    handler: Arc<H>,
    dedup: Deduplicator,
    tasks: TaskTracker,
    admission_timeout: Duration,
}

impl<H> Clone for Background<H> {
    fn clone(&self) -> Self {
        Self {
            handler: self.handler.clone(),
            dedup: self.dedup.clone(),
            tasks: self.tasks.clone(),
            admission_timeout: self.admission_timeout,
        }
    }
}

impl<H> fmt::Debug for Background<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Background")
            .field("dedup", &self.dedup)
            .field("in_flight", &self.in_flight())
            .field("admission_timeout", &self.admission_timeout)
            .finish_non_exhaustive()
    }
}

impl<H> Background<H> {
    /// How many handlers are running now, across every clone of this `Background`.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// Waits until no handler is running, including any a callback starts while it waits.
    ///
    /// Call it once the server has stopped accepting callbacks (after axum's graceful shutdown),
    /// before the runtime ends: the runtime drops unfinished tasks, and a handler cut off there
    /// never runs again, since Cronofy has had its 202.
    ///
    /// A callback still waiting for a shared guard's answer counts as in flight (it may yet
    /// run): if the store can hang, bound the wait, `tokio::time::timeout(limit,
    /// background.drain())`. A handler downloading a video can take minutes: let a second
    /// Ctrl-C end the wait, `tokio::select!` on `drain()` and the signal, as the example
    /// receivers in `examples/` do.
    pub async fn drain(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl<H, Fut> Background<H>
where
    H: Fn(VerifiedNotification) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutcome,
{
    /// Runs `handler` for every genuine callback, once per delivery key, deduplicating in memory.
    pub fn new(handler: H) -> Self {
        Self {
            handler: Arc::new(handler),
            dedup: Deduplicator::default(),
            tasks: TaskTracker::new(),
            admission_timeout: cronofy_notify_core::DEFAULT_ADMISSION_TIMEOUT,
        }
    }

    /// Deduplicates through `guard` instead of memory.
    #[must_use]
    pub fn deduplicate_with(mut self, guard: impl DuplicateGuard) -> Self {
        self.dedup = Deduplicator::new(guard);
        self
    }

    /// How long a callback waits for the duplicate guard to say whether it is new
    /// ([`DEFAULT_ADMISSION_TIMEOUT`](cronofy_notify_core::DEFAULT_ADMISSION_TIMEOUT), 5
    /// seconds, by default) before it is answered `503`, so that Cronofy delivers it again,
    /// rather than left waiting on a shared store that hangs. The guard's answer is still awaited on the
    /// callback's own task: a callback it claims late runs all the same, and its redelivery is
    /// then a duplicate. The in-memory guard answers at once; `Duration::MAX` waits as long as
    /// the guard takes.
    #[must_use]
    pub fn admission_timeout(mut self, timeout: Duration) -> Self {
        self.admission_timeout = timeout;
        self
    }

    /// Admits a verified callback: spawns the handler and answers 202, answers 200 for a
    /// duplicate, or 503 when the duplicate guard's store cannot say, or not within the
    /// [admission timeout](Self::admission_timeout) (Cronofy then delivers the callback
    /// again). For use from a handler of your own.
    pub async fn accept(&self, verified: VerifiedNotification) -> Response {
        // Admission and run happen on a task of their own, and this only waits for the
        // answer: should the sender hang up meanwhile (dropping this future), a callback whose
        // key the guard has claimed still runs, or no redelivery (a duplicate) ever would.
        let (answer, answered) = tokio::sync::oneshot::channel();
        let dedup = self.dedup.clone();
        let handler = self.handler.clone();
        self.tasks.spawn(async move {
            let claim = match dedup.admit(&verified).await {
                Ok(Some(claim)) => claim,
                Ok(None) => {
                    tracing::debug!(target: "cronofy_notify_axum", key = verified.idempotency_key().as_deref(), "duplicate callback; not run again");
                    let _ = answer.send(Admission::Duplicate);
                    return;
                }
                Err(error) => {
                    tracing::warn!(target: "cronofy_notify_axum", %error, key = verified.idempotency_key().as_deref(), "cannot tell whether the callback is a duplicate; answered 503 so that Cronofy delivers it again");
                    let _ = answer.send(Admission::Unknown);
                    return;
                }
            };
            let _ = answer.send(Admission::Accepted);
            let span = tracing::info_span!(
                "cronofy_callback",
                kind = %verified.notification_type(),
                key = claim.key().unwrap_or(""),
            );
            async move {
                // The handler is called inside the claim's run, so that a panic while it
                // makes its future releases the claim as one inside the future does.
                match claim.run(async move { handler(verified).await }).await {
                    Ok(()) => {}
                    Err(reason) if reason.key_released() => {
                        tracing::warn!(target: "cronofy_notify_axum", %reason, "callback handler failed; a redelivery will run it again");
                    }
                    Err(reason) => {
                        tracing::error!(target: "cronofy_notify_axum", %reason, "callback handler failed; a redelivery will be taken for a duplicate");
                    }
                }
            }
            .instrument(span)
            .await;
        });
        match admission(answered, self.admission_timeout).await {
            Admission::Accepted => (StatusCode::ACCEPTED, "accepted").into_response(),
            Admission::Duplicate => {
                (StatusCode::OK, "duplicate callback, already handled").into_response()
            }
            Admission::Unknown => {
                (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
            }
        }
    }
}

impl<H, Fut, S> Handler<((),), S> for Background<H>
where
    H: Fn(VerifiedNotification) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutcome,
    Verifier: FromRef<S>,
    S: Send + Sync + 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, state: S) -> Self::Future {
        Box::pin(async move {
            match CronofyCallback::from_request(request, &state).await {
                Ok(CronofyCallback(verified)) => self.accept(verified).await,
                Err(rejection) => rejection.into_response(),
            }
        })
    }
}

/// What the guard said of a callback, sent back from its task to the request waiting to answer.
enum Admission {
    Accepted,
    Duplicate,
    Unknown,
}

/// What the callback's task said of it, or [`Admission::Unknown`] when it said nothing within
/// `timeout` (or its task ended without a word, as a guard that panics ends it).
async fn admission(
    answered: tokio::sync::oneshot::Receiver<Admission>,
    timeout: Duration,
) -> Admission {
    match tokio::time::timeout(timeout, answered).await {
        Ok(Ok(admission)) => admission,
        Ok(Err(_)) => Admission::Unknown,
        Err(_) => {
            tracing::warn!(target: "cronofy_notify_axum", ?timeout, "the duplicate guard did not answer in time; answered 503 so that Cronofy delivers the callback again (it still runs if the guard claims it late)");
            Admission::Unknown
        }
    }
}
