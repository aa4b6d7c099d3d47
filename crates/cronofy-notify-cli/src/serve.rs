//! `serve`: receive callbacks, keep their bodies, file the recordings; stop cleanly, resume on
//! start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cronofy_notify_axum::CronofyCallback;
use cronofy_notify_core::{InteractionType, Notification, VerifiedNotification, Verifier};
use cronofy_notify_resources::{Downloader, safe_component};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cli::FetchOptions;
use crate::download::{downloader, print_report};
use crate::refusals::{Refusal, Refusals};
use crate::{callbacks, exit, fail};

/// How long a stop waits for downloads to checkpoint.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a stop waits for the callbacks being received to be answered.
const ANSWER_GRACE: Duration = Duration::from_secs(5);
/// The longest wait between two tries of a meeting whose recordings keep failing.
const LONGEST_RETRY_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Clone)]
struct AppState(Arc<App>);

struct App {
    verifier: Verifier,
    downloader: Downloader,
    out: PathBuf,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// The completed meetings whose last download left recordings not stored, by agent: what
    /// the periodic retry takes up.
    unfinished: Mutex<HashMap<String, Unfinished>>,
    /// `--retry-every`: the first wait before a failed meeting is tried again.
    retry_every: Duration,
    /// How long a callback's body may take to arrive.
    read_timeout: Duration,
    /// Requests refused since the last report.
    refusals: Refusals,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.0.verifier.clone()
    }
}

/// What `serve` was asked to do.
pub(crate) struct Options {
    pub(crate) listen: SocketAddr,
    pub(crate) secrets: Vec<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) out: PathBuf,
    pub(crate) fetch: FetchOptions,
    /// How often to look again at meetings not all stored; zero: only on start.
    pub(crate) retry_every: Duration,
    /// How long a callback's body may take to arrive.
    pub(crate) read_timeout: Duration,
    /// How often to report refused requests; zero: never.
    pub(crate) report_refusals_every: Duration,
    /// The largest body taken, in bytes.
    pub(crate) body_limit: usize,
}

pub(crate) async fn run(options: Options) -> u8 {
    let Options {
        listen,
        secrets,
        api_key,
        out,
        fetch,
        retry_every,
        read_timeout,
        report_refusals_every,
        body_limit,
    } = options;
    let verifier = match Verifier::new(&secrets) {
        Ok(verifier) => verifier.with_body_limit(body_limit),
        Err(error) => return fail(exit::USAGE, error),
    };
    let api_key = api_key.unwrap_or_else(|| secrets[0].clone());
    // Callbacks are verified: their URLs are Cronofy's, whatever the host.
    let downloader = match downloader(&out, api_key, &fetch, None) {
        Ok(downloader) => downloader,
        Err(message) => return fail(exit::USAGE, message),
    };
    if let Err(error) = std::fs::create_dir_all(&out) {
        return fail(
            exit::USAGE,
            format!("cannot create {}: {error}", out.display()),
        );
    }
    if let Err(error) = can_keep_bodies_in(&out) {
        return fail(
            exit::USAGE,
            format!(
                "cannot keep callbacks in {}: {error}; --out must be a directory this user can \
                 write, on a file system with hard links",
                out.display()
            ),
        );
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => return fail(exit::USAGE, format!("cannot listen on {listen}: {error}")),
    };
    let app = Arc::new(App {
        verifier,
        downloader,
        out,
        stop: CancellationToken::new(),
        tasks: TaskTracker::new(),
        unfinished: Mutex::default(),
        retry_every,
        read_timeout,
        refusals: Refusals::default(),
    });
    let earlier = completed_meetings(&app.out);
    if !earlier.is_empty() {
        tracing::info!(
            meetings = earlier.len(),
            "checking the recordings of completed meetings from earlier runs"
        );
    }
    for notification in earlier {
        spawn_download(&app, notification, 0);
    }
    if !retry_every.is_zero() {
        spawn_retries(&app, retry_every);
    }
    if !report_refusals_every.is_zero() {
        spawn_refusal_reports(&app, report_refusals_every);
    }

    let receive = post(receive);
    let router = Router::new()
        .route("/", receive.clone())
        // For load balancers and orchestrators; callbacks are still taken there by POST.
        .route("/healthz", receive.clone().get(|| async { "ok" }))
        .route("/{*path}", receive)
        // The verifier's limit is the one: axum's own (2 MB) would cut a larger --body-limit.
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(AppState(app.clone()));
    match listener.local_addr() {
        Ok(address) => {
            tracing::info!(%address, out = %app.out.display(), body_limit, "receiving Cronofy callbacks")
        }
        Err(error) => tracing::warn!(%error, "listening on an unknown address"),
    }
    let stopping = app.stop.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: no new callbacks; checkpointing downloads");
        stopping.cancel();
    });
    crate::listen::serve(
        listener,
        router,
        app.read_timeout,
        app.stop.clone(),
        ANSWER_GRACE,
    )
    .await;
    if !report_refusals_every.is_zero() {
        // What was refused since the last report, now that nothing more will be.
        app.refusals.report();
    }

    app.tasks.close();
    if tokio::time::timeout(STOP_GRACE, app.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("downloads did not checkpoint in time; partial files are kept for a resume");
    }
    exit::OK
}

/// Ctrl-C, or the SIGTERM that service managers and container platforms send.
async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        },
        Err(error) => {
            tracing::warn!(%error, "cannot watch for SIGTERM; stop with Ctrl-C (SIGINT)");
            let _ = interrupt.await;
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Keeps the body, then answers: 202 once it is safely on disk, 200 for a redelivery.
async fn receive(State(state): State<AppState>, request: Request) -> Response {
    // Reading and checking are bounded in time: Cronofy sends its 1-2 KiB at once, and a client
    // that trickles a body must not hold a connection for ever. Keeping the body is not: once
    // it is being written, it is written whole.
    let app = state.0.clone();
    let verified = match tokio::time::timeout(
        app.read_timeout,
        CronofyCallback::from_request(request, &state),
    )
    .await
    {
        Ok(Ok(CronofyCallback(verified))) => verified,
        Ok(Err(rejection)) => {
            app.refusals.count(Refusal::from(&rejection));
            return rejection.into_response();
        }
        Err(_) => {
            app.refusals.count(Refusal::TooSlow);
            tracing::debug!(timeout = ?app.read_timeout, "request body too slow; answered 408");
            return (StatusCode::REQUEST_TIMEOUT, "request body too slow").into_response();
        }
    };
    // Keeping the body and starting its download run on a task of their own: should the
    // client hang up meanwhile (which drops this handler), a body kept is never left without
    // its download, nor a temporary file behind.
    let app_for_task = app.clone();
    app.tasks
        .spawn(async move { keep_and_start(&app_for_task, verified).await })
        .await
        .unwrap_or_else(|_| {
            tracing::error!("keeping a callback failed unexpectedly; asking Cronofy to retry");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "could not store the callback",
            )
                .into_response()
        })
}

/// Keeps a verified body and, for a new completed meeting, starts its download.
async fn keep_and_start(app: &Arc<App>, verified: VerifiedNotification) -> Response {
    let (notification, body) = verified.into_parts();
    let notification = callbacks::typed(notification);
    match keep_body(&app.out, &notification, &body).await {
        Ok(Kept::Duplicate) => {
            return (StatusCode::OK, "duplicate callback, already handled").into_response();
        }
        Ok(Kept::New) => {}
        Err(error) => {
            tracing::error!(%error, "could not keep the callback body; asking Cronofy to retry");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "could not store the callback",
            )
                .into_response();
        }
    }
    tracing::info!(callback = %notification, "genuine callback");
    if notification
        .as_event_subscription()
        .is_some_and(|c| c.has_interaction(&InteractionType::MeetingAgentComplete))
    {
        spawn_download(app, notification, 0);
    }
    (StatusCode::ACCEPTED, "accepted").into_response()
}

/// Tries, once at start-up, what [`keep_body`] does to each callback: write a file and link it
/// under a second name. A directory that refuses either (read-only, or on a file system without
/// hard links) would otherwise start, then answer every callback 503.
fn can_keep_bodies_in(out: &Path) -> std::io::Result<()> {
    let probe = out.join(format!(".probe-{}.tmp", std::process::id()));
    let link = out.join(format!(".probe-{}.link", std::process::id()));
    let tried = std::fs::write(&probe, b"").and_then(|()| std::fs::hard_link(&probe, &link));
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_file(&probe);
    tried
}

/// Whether a body was new.
enum Kept {
    New,
    Duplicate,
}

/// Keeps the raw body, durably, as `<out>/<sub>/callbacks/<interaction>.json`: one file per
/// idempotency key (agent and interaction), so the file system itself says whether a delivery
/// was seen before, across restarts and however many. A body without a meeting agent cannot be
/// a duplicate and goes to `<out>/_no_agent/callbacks/<time>-<n>-<type>.json`.
async fn keep_body(out: &Path, notification: &Notification, body: &[u8]) -> std::io::Result<Kept> {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let callback = notification.as_event_subscription();
    let (dir, name) = match callback.and_then(|c| c.agent_sub().map(|sub| (c, sub))) {
        Some((callback, sub)) => {
            let interactions: Vec<_> = callback
                .interactions
                .iter()
                .map(|i| i.kind.as_ref().map_or("unknown", |k| k.as_str()))
                .collect();
            let interaction = if interactions.is_empty() {
                "none".to_owned()
            } else {
                interactions.join("+")
            };
            (
                out.join(safe_component(sub)),
                format!("{}.json", safe_component(&interaction)),
            )
        }
        None => {
            let millis = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let kind = safe_component(notification.notification_type().as_str());
            (out.join("_no_agent"), format!("{millis}-{n}-{kind}.json"))
        }
    };
    let dir = dir.join("callbacks");
    // A new folder's entry is made durable with the body: the folders holding it are synced too.
    let mut to_sync = vec![dir.clone()];
    if !tokio::fs::try_exists(&dir).await? {
        to_sync.extend(dir.ancestors().skip(1).take(2).map(Path::to_path_buf));
    }
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(&name);
    if tokio::fs::try_exists(&path).await? {
        return Ok(Kept::Duplicate);
    }
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let written = async {
        let mut file = tokio::fs::File::create(&tmp).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, body).await?;
        file.sync_all().await
    }
    .await;
    if let Err(error) = written {
        // A full disk, say: leave no partial temporary file to make it fuller.
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(error);
    }
    // A hard link fails if the name exists: of two deliveries racing, exactly one is new.
    let linked = tokio::fs::hard_link(&tmp, &path).await;
    if let Err(error) = tokio::fs::remove_file(&tmp).await {
        // The body is kept under its name by now (or is a duplicate): a stray temporary file
        // is no reason to answer 503, which would leave a kept body without its download.
        tracing::warn!(%error, file = %tmp.display(), "could not remove a temporary file");
    }
    match linked {
        Ok(()) => {
            let synced = tokio::task::spawn_blocking(move || {
                to_sync
                    .iter()
                    .try_for_each(|dir| std::fs::File::open(dir)?.sync_all())
            })
            .await
            .map_err(std::io::Error::other)
            .flatten();
            if let Err(error) = synced {
                // Not durable, so answered 503: take the name back, or the redelivery that
                // answer asks for would be found a duplicate and its download never started.
                let _ = tokio::fs::remove_file(&path).await;
                return Err(error);
            }
            Ok(Kept::New)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(Kept::Duplicate),
        Err(error) => Err(error),
    }
}

/// Downloads a completed meeting's recordings on a task of their own. `failures` is how many
/// tries of it in a row have left recordings not stored (0 for a new callback).
fn spawn_download(app: &Arc<App>, notification: Notification, failures: u32) {
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
                print_report(&report);
                true
            }
            Ok(report) if app_for_task.stop.is_cancelled() => {
                tracing::info!(sub = %report.sub, "download checkpointed; it resumes on the next start");
                return;
            }
            Ok(report) => {
                // The downloader has logged each failure, with its resource and reason.
                let failed = report.failures().count();
                tracing::warn!(sub = %report.sub, failed, ?retry_in, "some recordings were not stored");
                false
            }
            Err(error) => {
                tracing::warn!(%error, ?retry_in, "download failed");
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
struct Unfinished {
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
fn completed_meetings(out: &Path) -> Vec<Notification> {
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
fn spawn_retries(app: &Arc<App>, interval: Duration) {
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

/// Every `interval`, until the server stops, one warning for the requests refused meanwhile,
/// if there were any (see [`crate::refusals`]).
fn spawn_refusal_reports(app: &Arc<App>, interval: Duration) {
    let app_for_task = app.clone();
    app.tasks.spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => app_for_task.refusals.report(),
                () = app_for_task.stop.cancelled() => return,
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
