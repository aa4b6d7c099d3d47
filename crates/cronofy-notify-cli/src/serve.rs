//! `serve`: receive callbacks, keep their bodies, file the recordings; stop cleanly, resume on
//! start.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cronofy_notify_axum::CronofyCallback;
use cronofy_notify_core::{
    EventSubscription, InteractionType, Notification, ResourceCategory, VerifiedNotification,
    Verifier,
};
use cronofy_notify_resources::{Downloader, EntryStatus, Manifest, safe_component};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cli::FetchOptions;
use crate::download::{downloader, print_report};
use crate::{exit, fail};

/// How long a stop waits for downloads to checkpoint.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct AppState(Arc<App>);

struct App {
    verifier: Verifier,
    downloader: Downloader,
    out: PathBuf,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// The agents whose recordings are being downloaded now: a periodic retry leaves them be.
    downloading: Mutex<HashSet<String>>,
    /// The categories fetched.
    categories: Vec<ResourceCategory>,
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
}

pub(crate) async fn run(options: Options) -> u8 {
    let Options {
        listen,
        secrets,
        api_key,
        out,
        fetch,
        retry_every,
    } = options;
    let verifier = match Verifier::new(&secrets) {
        Ok(verifier) => verifier,
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
        downloading: Mutex::default(),
        categories: fetch.categories(),
    });
    for notification in completed_meetings(&app.out, Which::All) {
        tracing::info!(sub = ?notification.meeting_agent().and_then(|a| a.sub.as_deref()), "checking the recordings of a meeting from an earlier run");
        spawn_download(&app, notification);
    }
    if !retry_every.is_zero() {
        spawn_retries(&app, retry_every);
    }

    let receive = post(receive);
    let router = Router::new()
        .route("/", receive.clone())
        // For load balancers and orchestrators; callbacks are still taken there by POST.
        .route("/healthz", receive.clone().get(|| async { "ok" }))
        .route("/{*path}", receive)
        .with_state(AppState(app.clone()));
    match listener.local_addr() {
        Ok(address) => {
            tracing::info!(%address, out = %app.out.display(), "receiving Cronofy callbacks")
        }
        Err(error) => tracing::warn!(%error, "listening on an unknown address"),
    }
    let stopping = app.stop.clone();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("stopping: no new callbacks; checkpointing downloads");
            stopping.cancel();
        })
        .await;

    app.tasks.close();
    if tokio::time::timeout(STOP_GRACE, app.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("downloads did not checkpoint in time; partial files are kept for a resume");
    }
    match served {
        Ok(()) => exit::OK,
        Err(error) => fail(exit::FAILED, error),
    }
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
async fn receive(
    State(AppState(app)): State<AppState>,
    CronofyCallback(verified): CronofyCallback,
) -> Response {
    match keep_body(&app.out, &verified).await {
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
    tracing::info!(callback = %crate::inspect::summary(verified.notification()), "genuine callback");
    if verified
        .as_event_subscription()
        .is_some_and(|c| c.has_interaction(&InteractionType::MeetingAgentComplete))
    {
        spawn_download(&app, verified.notification().clone());
    }
    (StatusCode::ACCEPTED, "accepted").into_response()
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
async fn keep_body(out: &Path, verified: &VerifiedNotification) -> std::io::Result<Kept> {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let callback = verified.as_event_subscription();
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
            let kind = safe_component(verified.notification_type().as_str());
            (out.join("_no_agent"), format!("{millis}-{n}-{kind}.json"))
        }
    };
    let dir = dir.join("callbacks");
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(&name);
    if tokio::fs::try_exists(&path).await? {
        return Ok(Kept::Duplicate);
    }
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let mut file = tokio::fs::File::create(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, verified.body()).await?;
    file.sync_all().await?;
    drop(file);
    // A hard link fails if the name exists: of two deliveries racing, exactly one is new.
    let linked = tokio::fs::hard_link(&tmp, &path).await;
    tokio::fs::remove_file(&tmp).await?;
    match linked {
        Ok(()) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
                .await
                .map_err(std::io::Error::other)??;
            Ok(Kept::New)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(Kept::Duplicate),
        Err(error) => Err(error),
    }
}

fn spawn_download(app: &Arc<App>, notification: Notification) {
    let Some(sub) = notification
        .as_event_subscription()
        .and_then(|c| c.agent_sub())
    else {
        return;
    };
    let downloading = Downloading::start(app, sub);
    let app_for_task = app.clone();
    app.tasks.spawn(async move {
        let _downloading = downloading;
        let Some(callback) = notification.as_event_subscription() else {
            return;
        };
        match app_for_task
            .downloader
            .download_with_cancel(callback, app_for_task.stop.clone())
            .await
        {
            Ok(report) if report.is_success() => {
                tracing::info!(sub = %report.sub, "recordings stored");
                print_report(&report);
            }
            Ok(report) if app_for_task.stop.is_cancelled() => {
                tracing::info!(sub = %report.sub, "download checkpointed; it resumes on the next start");
            }
            Ok(report) => {
                // The downloader has logged each failure, with its resource and reason.
                let failed = report.failures().count();
                tracing::warn!(sub = %report.sub, failed, "some recordings were not stored");
            }
            Err(error) => tracing::warn!(%error, "download failed"),
        }
    });
}

/// An agent marked as being downloaded, until this is dropped.
struct Downloading {
    app: Arc<App>,
    sub: String,
}

impl Downloading {
    fn start(app: &Arc<App>, sub: &str) -> Self {
        app.downloads().insert(sub.to_owned());
        Self {
            app: app.clone(),
            sub: sub.to_owned(),
        }
    }
}

impl Drop for Downloading {
    fn drop(&mut self) {
        self.app.downloads().remove(&self.sub);
    }
}

impl App {
    fn downloads(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.downloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Which completed meetings [`completed_meetings`] gives.
#[derive(Clone, Copy)]
enum Which<'a> {
    /// Every one (on start: the manifest makes finished resources cost nothing, and partial
    /// ones resume).
    All,
    /// Those with a resource of these categories that the manifest does not list as stored.
    Unfinished(&'a [ResourceCategory]),
}

/// The `meeting_agent_complete` bodies kept under `out`. These were verified when they arrived.
fn completed_meetings(out: &Path, which: Which<'_>) -> Vec<Notification> {
    let mut found = Vec::new();
    let Ok(agents) = std::fs::read_dir(out) else {
        return found;
    };
    for agent in agents.flatten() {
        let agent = agent.path();
        let Ok(bodies) = std::fs::read_dir(agent.join("callbacks")) else {
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
            let Ok(notification) = Notification::from_slice(&bytes) else {
                continue;
            };
            let Some(callback) = notification.as_event_subscription() else {
                continue;
            };
            let wanted = match which {
                Which::All => true,
                Which::Unfinished(categories) => !all_stored(&agent, callback, categories),
            };
            if wanted && callback.has_interaction(&InteractionType::MeetingAgentComplete) {
                found.push(notification);
            }
        }
    }
    found
}

/// Whether the agent's manifest lists as stored every resource of `callback` in `categories`
/// (true when there are none: nothing is left to fetch).
fn all_stored(agent: &Path, callback: &EventSubscription, categories: &[ResourceCategory]) -> bool {
    let manifest = std::fs::read(agent.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok())
        .unwrap_or_default();
    callback
        .downloadable_resources()
        .filter(|resource| categories.contains(resource.category))
        .all(|resource| {
            manifest
                .entry(resource.category, resource.kind)
                .is_some_and(|entry| entry.status == EntryStatus::Complete)
        })
}

/// Every `interval`, until the server stops, fetches again the recordings of completed
/// meetings that are not all stored: a failure that outlasted the downloader's own retries (a
/// long outage, say) mends itself without a restart.
fn spawn_retries(app: &Arc<App>, interval: Duration) {
    let app_for_task = app.clone();
    app.tasks.spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = app_for_task.stop.cancelled() => return,
            }
            let app = app_for_task.clone();
            let unfinished = tokio::task::spawn_blocking(move || {
                completed_meetings(&app.out, Which::Unfinished(&app.categories))
            })
            .await
            .unwrap_or_default();
            for notification in unfinished {
                let Some(sub) = notification.meeting_agent().and_then(|a| a.sub.as_deref()) else {
                    continue;
                };
                if !app_for_task.downloads().contains(sub) {
                    tracing::info!(sub, "trying again the recordings not stored");
                    spawn_download(&app_for_task, notification);
                }
            }
        }
    });
}
