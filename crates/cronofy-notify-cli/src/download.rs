//! `download`, and the downloader and progress reporting `serve` shares.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cronofy_notify_core::Notification;
use cronofy_notify_resources::{
    DownloadError, Downloader, IndicatifProgress, MeetingReport, ProgressEvent,
};
use tokio_util::sync::CancellationToken;

use crate::cli::FetchOptions;
use crate::credentials::read_secret_file;
use crate::{callbacks, exit, fail, input, json_logs, note, output};

/// Where the API key may go from a body that was not verified: Cronofy's hosts (and any named).
const CRONOFY_API_DOMAIN: &str = "cronofy.com";

/// The downloader both commands use: files under `out`, progress bars on a terminal, log lines
/// otherwise; with `api_hosts`, the API key goes to those hosts only.
pub(crate) fn downloader(
    out: &Path,
    api_key: String,
    fetch: &FetchOptions,
    api_hosts: Option<Vec<String>>,
) -> Result<Downloader, String> {
    let mut builder = Downloader::builder(api_key);
    if let Some(hosts) = api_hosts {
        builder = builder.api_hosts(hosts);
    }
    if let Some(bytes) = fetch.max_size {
        builder = builder.max_size(bytes);
    }
    let builder = builder
        .root(out)
        .allow_http(fetch.allow_http)
        .categories(fetch.categories());
    // Bars for a person at a terminal; lines for a log file or, with JSON logs, a collector.
    let builder = if std::io::stderr().is_terminal() && !json_logs() {
        let bars = IndicatifProgress::new(indicatif::MultiProgress::new());
        builder.on_progress(bars.handler())
    } else {
        builder
            .progress_interval(Duration::from_secs(2))
            .on_progress(log_progress)
    };
    builder.build().map_err(|e| e.to_string())
}

/// Progress as log lines, for a standard error that is not a terminal. Retries, completions
/// and failures are not repeated here: the downloader logs them itself, in each resource's span.
fn log_progress(event: ProgressEvent) {
    match event {
        ProgressEvent::Started {
            resource,
            total,
            resumed_from,
        } => {
            tracing::info!(%resource, total, resumed_from, "download started");
        }
        ProgressEvent::Progress {
            resource,
            bytes,
            total,
        } => {
            tracing::info!(%resource, bytes, total, "downloading");
        }
        _ => {}
    }
}

/// Prints one line per resource to standard output; `Err` says why it could not.
pub(crate) fn print_report(report: &MeetingReport) -> Result<(), String> {
    let mut lines = String::new();
    for resource in &report.resources {
        let name = resource.label();
        // Writing to a String cannot fail.
        let _ = match (&resource.error, &resource.location) {
            (None, Some(location)) => {
                let mut notes = String::new();
                if let Some(encoding) = &resource.content_encoding {
                    notes.push_str(&format!("  ({encoding}-encoded, as the server sent it)"));
                }
                if resource.skipped {
                    notes.push_str("  (already complete)");
                }
                writeln!(
                    lines,
                    "{name:<24} {:>14} bytes  sha256 {}  {location}{notes}",
                    resource.bytes,
                    resource.sha256.as_deref().unwrap_or(""),
                )
            }
            (Some(error), _) => {
                // The library's words name no flag; this command's user needs the flag.
                let hint = match error {
                    DownloadError::InsecureUrl { .. } => " (--allow-http allows it)",
                    _ => "",
                };
                writeln!(lines, "{name:<24} FAILED: {error}{hint}")
            }
            (None, None) => writeln!(lines, "{name:<24} (nowhere)"),
        };
    }
    output::write(lines.as_bytes())
}

pub(crate) async fn run(
    out: PathBuf,
    api_key: Option<String>,
    fetch: FetchOptions,
    api_hosts: Vec<String>,
    file: &Path,
) -> u8 {
    let api_key = match api_key.map_or_else(client_secret_from_environment, |key| Ok(Some(key))) {
        Ok(Some(key)) => key,
        Ok(None) => {
            return fail(
                exit::USAGE,
                "no API key: pass --api-key or --api-key-file, or set CRONOFY_API_KEY, \
                 CRONOFY_API_KEY_FILE, CRONOFY_CLIENT_SECRET or CRONOFY_CLIENT_SECRET_FILE",
            );
        }
        Err(message) => return fail(exit::USAGE, message),
    };
    // `--out` is made with the first recording, if need be; a file there would fail each
    // recording with "Not a directory", and no word on which path is wrong.
    if out.exists() && !out.is_dir() {
        return fail(
            exit::USAGE,
            format!(
                "cannot download into {}: it is there, but not a directory",
                out.display()
            ),
        );
    }
    let body = match input::read(Some(file), input::CALLBACK) {
        Ok(body) => body,
        Err(message) => return fail(exit::USAGE, message),
    };
    let name = input::name(Some(file));
    let notification = match Notification::from_slice(&body) {
        Ok(notification) => callbacks::typed(notification),
        Err(error) => return fail(exit::FAILED, format!("{name}: {error}")),
    };
    let Some(callback) = notification.as_event_subscription() else {
        return fail(
            exit::FAILED,
            format!("{name}: not a Meeting Agent callback"),
        );
    };
    // The body was not verified: unless testing locally, the key goes to Cronofy's hosts only.
    let api_hosts = (!fetch.allow_http).then(|| {
        std::iter::once(CRONOFY_API_DOMAIN.to_owned())
            .chain(api_hosts)
            .collect()
    });
    let downloader = match downloader(&out, api_key, &fetch, api_hosts) {
        Ok(downloader) => downloader,
        Err(message) => return fail(exit::USAGE, message),
    };
    // Ctrl-C (or SIGTERM) stops the transfers where they are, each keeping what it wrote,
    // rather than killing the process with a megabyte unwritten and the report unsaid.
    let interrupted = CancellationToken::new();
    let watcher = tokio::spawn({
        let interrupted = interrupted.clone();
        async move {
            crate::signals::wait_for_signal().await;
            interrupted.cancel();
        }
    });
    let downloaded = downloader
        .download_with_cancel(callback, interrupted.clone())
        .await;
    watcher.abort();
    match downloaded {
        Ok(report) => {
            let printed = print_report(&report);
            if report.resources.is_empty() {
                note(format_args!(
                    "nothing to download from {name}: {notification}"
                ));
            }
            let code = if report.is_success() {
                exit::OK
            } else if interrupted.is_cancelled() {
                note("interrupted: what was fetched is kept; run the same command again to finish");
                exit::INTERRUPTED
            } else {
                exit::FAILED
            };
            output::exit_code(printed, code)
        }
        Err(error) => fail(exit::FAILED, error),
    }
}

/// The client secret, which is the API key unless told otherwise, from `CRONOFY_CLIENT_SECRET`
/// or the file `CRONOFY_CLIENT_SECRET_FILE` names.
fn client_secret_from_environment() -> Result<Option<String>, String> {
    if let Some(secret) = std::env::var_os("CRONOFY_CLIENT_SECRET") {
        return secret
            .into_string()
            .map(Some)
            .map_err(|_| "CRONOFY_CLIENT_SECRET is not valid UTF-8".to_owned());
    }
    match std::env::var_os("CRONOFY_CLIENT_SECRET_FILE") {
        Some(path) => read_secret_file(Path::new(&path)).map(Some),
        None => Ok(None),
    }
}
