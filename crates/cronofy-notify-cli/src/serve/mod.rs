//! `serve`: receive callbacks, keep their bodies, file the recordings; stop cleanly, resume on
//! start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cronofy_notify_axum::CronofyCallback;
use cronofy_notify_core::{InteractionType, VerifiedNotification, Verifier};
use cronofy_notify_resources::Downloader;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cli::FetchOptions;
use crate::download::downloader;
use crate::refusals::{Refusal, Refusals};
use crate::{callbacks, exit, fail};

mod keep;
mod recordings;

use keep::{Kept, can_keep_bodies_in, keep_body};
use recordings::{Unfinished, completed_meetings, spawn_download, spawn_retries};

/// How long a stop waits for downloads to checkpoint.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a stop waits for the callbacks being received to be answered.
const ANSWER_GRACE: Duration = Duration::from_secs(5);

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
        // "File exists" would leave the user wondering why that is a problem.
        let reason = match error.kind() {
            std::io::ErrorKind::AlreadyExists => "it is there, but not a directory".to_owned(),
            _ => error.to_string(),
        };
        return fail(
            exit::USAGE,
            format!("cannot create {}: {reason}", out.display()),
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
        crate::signals::wait_for_signal().await;
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
    match keep_body(&app.out, &notification, body).await {
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
