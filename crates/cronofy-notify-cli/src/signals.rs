//! How a command that runs for a while hears it should stop: Ctrl-C, or SIGTERM.

/// Ctrl-C, or the SIGTERM that service managers and container platforms send.
pub(crate) async fn wait_for_signal() {
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
