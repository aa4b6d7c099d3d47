//! A Cronofy callback receiver on axum that stores each meeting's recordings.
//!
//! ```sh
//! CRONOFY_CLIENT_SECRET=... cargo run -p cronofy-notify-examples --bin axum-receiver
//! ```
//!
//! - `CRONOFY_CLIENT_SECRET`: verifies callbacks, and is the API key for downloads;
//! - `LISTEN_ADDR` (default `127.0.0.1:3000`): callbacks are accepted by POST on any path;
//! - `RESOURCES_DIR` (default `./resources`): where the recordings go;
//! - `ALLOW_HTTP=1`: accept plain-http resource URLs on any host (local tests only). Without
//!   it, plain http is accepted on this machine only (`127.0.0.1`, `::1`, `localhost`), where a
//!   fake Cronofy serves it: Cronofy's own URLs are https.
//!
//! Every genuine callback is logged; on `meeting_agent_complete` the transcript, audio and video
//! are downloaded after Cronofy has had its `202`. On Ctrl-C or SIGTERM it stops accepting and
//! lets the downloads in flight finish before it exits; a second one exits at once (status 1).
//!
//! `axum::serve` bounds no wait for a client: in production put a proxy in front (as for TLS),
//! or serve with hyper's `header_read_timeout` as `cronofy-notify serve` does
//! (`crates/cronofy-notify-cli/src/listen.rs`). actix-web bounds them by default.

use std::process::ExitCode;

use axum::Router;
use axum::routing::post;
use cronofy_notify_axum::Background;
use cronofy_notify_core::{InteractionType, VerifiedNotification, Verifier};
use cronofy_notify_resources::{DownloadError, Downloader};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // Colours for a terminal only (and not with NO_COLOR), not escape codes in a journal or a
        // log file.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("axum-receiver: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("CRONOFY_CLIENT_SECRET")
        .map_err(|_| "set CRONOFY_CLIENT_SECRET to the application's client secret")?;
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let resources = std::env::var("RESOURCES_DIR").unwrap_or_else(|_| "./resources".into());
    let allow_http = match std::env::var("ALLOW_HTTP").as_deref() {
        Err(_) | Ok("" | "0") => false,
        Ok("1") => true,
        Ok(other) => return Err(format!("ALLOW_HTTP is 1 or 0, not {other:?}").into()),
    };

    let verifier =
        Verifier::new([&secret]).map_err(|error| format!("CRONOFY_CLIENT_SECRET: {error}"))?;
    let downloader = Downloader::builder(secret)
        .root(resources)
        .allow_http(allow_http)
        // The API key never crosses the network in clear, but a test's fake Cronofy works.
        .allow_http_on_loopback(true)
        .build()?;

    let background = Background::new(move |verified| handle(verified, downloader.clone()));
    let callbacks = post(background.clone());
    let app = Router::new()
        .route("/", callbacks.clone())
        .route("/{*path}", callbacks)
        .with_state(verifier);

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|error| format!("cannot listen on LISTEN_ADDR {listen:?}: {error}"))?;
    tracing::info!(address = %listener.local_addr()?, "receiving Cronofy callbacks");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // Cronofy will not send these callbacks again: let their downloads finish, unless told
    // twice (a video can take a while).
    tracing::info!(
        handlers = background.in_flight(),
        "stopped accepting; waiting for the handlers in flight (stop again to abandon them)"
    );
    tokio::select! {
        () = background.drain() => Ok(()),
        () = shutdown_signal() => Err(abandoned(background.in_flight()).into()),
    }
}

/// Why the receiver exits with handlers unfinished.
fn abandoned(handlers: usize) -> String {
    format!(
        "stopped again: {handlers} handler(s) in flight abandoned, their downloads unfinished \
         (Cronofy will not send those callbacks again)"
    )
}

/// Ctrl-C, or the SIGTERM that service managers and container platforms send.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs on its own task, after the answer.
async fn handle(
    verified: VerifiedNotification,
    downloader: Downloader,
) -> Result<(), DownloadError> {
    // One line: the interactions, the agent, a failure's reason, the resources ready, and any
    // value Cronofy sent in a form this version does not expect (`(left out: event.start)`).
    tracing::info!(callback = %verified, "received");
    // Typed even then, without such values: the recordings matter more than `event.start`.
    let Some(callback) = verified.to_event_subscription() else {
        return Ok(()); // another kind of Cronofy notification: nothing to fetch
    };
    if callback.has_interaction(&InteractionType::MeetingAgentComplete) {
        let report = downloader.download(&callback).await?;
        for resource in &report.resources {
            match &resource.error {
                None => tracing::info!(
                    category = %resource.category,
                    location = ?resource.location,
                    bytes = resource.bytes,
                    sha256 = ?resource.sha256,
                    "stored"
                ),
                Some(error) => tracing::warn!(category = %resource.category, %error, "not stored"),
            }
        }
    }
    Ok(())
}
