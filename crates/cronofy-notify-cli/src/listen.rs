//! Serving `serve`'s router over HTTP/1.1 with every wait bounded.
//!
//! `axum::serve` gives hyper no timer, so a connection that sends nothing, trickles its headers
//! or sits idle between requests is held for as long as the client likes: a few thousand such
//! connections and the process has no file descriptor left for Cronofy. Here hyper's header
//! read timeout bounds each of those waits (from the connection's start, and again after each
//! answer); the body's own time is bounded by the handler (`--read-timeout`, answered 408).

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves `router` on `listener` until `stop` is cancelled, then stops accepting, closes idle
/// connections and waits up to `grace` for the requests in flight to be answered.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    wait_limit: Duration,
    stop: CancellationToken,
    grace: Duration,
) {
    let connections = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(wait_limit)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at the end of the grace period were dropped");
    }
}

/// A failed accept: one client's connection that went wrong costs nothing; anything else (out
/// of file descriptors, say) is logged and waited out for a second rather than spun on.
async fn wait_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(%error, "cannot accept connections; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
