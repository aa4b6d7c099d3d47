//! `cronofy-notify`: verify, sign and send Cronofy callbacks; receive them and file the
//! recordings. `cronofy-notify --help` lists the commands; each is a thin layer over the
//! cronofy-notify crates.

mod callbacks;
mod cli;
mod credentials;
mod download;
mod input;
mod inspect;
mod listen;
mod output;
mod refusals;
mod send;
mod serve;
mod signals;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;

use cli::{Cli, Command, LogFormat};

/// Exit codes, part of the contract.
pub(crate) mod exit {
    /// Success: genuine, sent, stored.
    pub(crate) const OK: u8 = 0;
    /// A signature missing, malformed or wrong; a send that got no 2xx; a resource not stored.
    pub(crate) const FAILED: u8 = 1;
    /// Usage: bad arguments, unreadable input or unwritable output.
    pub(crate) const USAGE: u8 = 2;
    /// A genuine signature on a body that is not a Cronofy notification.
    pub(crate) const NOT_A_NOTIFICATION: u8 = 3;
    /// Stopped by Ctrl-C or SIGTERM before it was done (`download`): what it fetched is kept,
    /// and the same command carries on from there. 128 + SIGINT, as a shell reports Ctrl-C.
    pub(crate) const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let code = run(cli.command).unwrap_or_else(|message| fail(exit::USAGE, message));
    ExitCode::from(code)
}

/// Logs go to standard error, at the level `RUST_LOG` sets (`info` by default). A log line that
/// cannot be written (a full disk behind `2> file`) is lost, and nothing else: tracing's own
/// report of it would go to standard error too, with `eprintln!`, which panics there.
fn init_logs(format: LogFormat) {
    // A RUST_LOG that does not parse is said, once logging is up, rather than dropped in
    // silence for `info`: a typo there would otherwise hide the very lines it asked for.
    let (filter, unparsed) = match tracing_subscriber::EnvFilter::try_from_default_env() {
        Ok(filter) => (filter, None),
        Err(error) => {
            let set = std::env::var_os("RUST_LOG").is_some();
            ("info".into(), set.then_some(error))
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs
            .with_ansi(colours(
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
                std::env::var_os("NO_COLOR"),
            ))
            .init(),
        LogFormat::Json => {
            JSON_LOGS.store(true, Ordering::Relaxed);
            logs.json().flatten_event(true).with_span_list(false).init();
        }
    }
    if let Some(error) = unparsed {
        tracing::warn!(%error, "RUST_LOG is not a filter tracing understands; logging at info");
    }
}

/// Whether log lines are coloured: on a terminal only, and not when `NO_COLOR` is set to
/// anything but nothing (<https://no-color.org>).
fn colours(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

/// Runs a command; `Err` is a usage error (a secret file that cannot be read).
fn run(command: Command) -> Result<u8, String> {
    Ok(match command {
        Command::Verify {
            secrets,
            signature,
            json,
            file,
        } => inspect::verify(
            &secrets.resolve()?,
            signature.as_deref(),
            json,
            file.as_deref(),
        ),
        Command::Sign { secrets, file } => inspect::sign(&secrets.resolve()?, file.as_deref()),
        Command::Transcript { format, file } => inspect::transcript(format, file.as_deref()),
        Command::Completions { shell } => cli::completions(shell),
        Command::Sample {
            sample,
            sub,
            resource_base,
        } => inspect::sample(
            &sample,
            &sub,
            resource_base.as_ref().map(reqwest::Url::as_str),
        ),
        Command::Send {
            url,
            secrets,
            sample,
            resource_base,
            sub,
            timeout,
            file,
        } => block_on(send::run(send::Options {
            url,
            secrets: secrets.resolve()?,
            sample,
            resource_base,
            sub,
            timeout: Duration::from_secs(timeout),
            file,
        })),
        Command::Serve {
            listen,
            secrets,
            api_key,
            out,
            fetch,
            retry_every,
            read_timeout,
            report_refusals_every,
            body_limit,
        } => block_on(serve::run(serve::Options {
            listen,
            secrets: secrets.resolve()?,
            api_key: api_key.resolve()?,
            out,
            fetch,
            retry_every: Duration::from_secs(retry_every),
            read_timeout: Duration::from_secs(read_timeout),
            report_refusals_every: Duration::from_secs(report_refusals_every),
            body_limit,
        })),
        Command::Download {
            out,
            api_key,
            fetch,
            api_hosts,
            file,
        } => block_on(download::run(
            out,
            api_key.resolve()?,
            fetch,
            api_hosts,
            &file,
        )),
    })
}

/// Runs a command's future on a multi-threaded runtime.
fn block_on(command: impl Future<Output = u8>) -> u8 {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(error) => fail(
            exit::FAILED,
            format!("cannot start the async runtime: {error}"),
        ),
    }
}

/// Whether logs are JSON (`--log-format json`): the command's own messages then go out as log
/// events too, so that standard error holds nothing but JSON lines for the collector.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

/// Whether logs are JSON lines, for a collector rather than a person.
pub(crate) fn json_logs() -> bool {
    JSON_LOGS.load(Ordering::Relaxed)
}

/// Says an error to the user and returns its exit code.
pub(crate) fn fail(code: u8, message: impl std::fmt::Display) -> u8 {
    if json_logs() {
        tracing::error!(exit_code = code, "{message}");
    } else {
        output::say(format_args!("cronofy-notify: {message}"));
    }
    code
}

/// Says something worth a second look (the wrong file, most likely), without failing.
pub(crate) fn note(message: impl std::fmt::Display) {
    if json_logs() {
        tracing::warn!("{message}");
    } else {
        output::say(format_args!("cronofy-notify: {message}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_coloured_on_a_terminal_unless_no_color_is_set() {
        assert!(colours(true, None));
        assert!(colours(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!colours(true, Some("1".into())));
        assert!(!colours(false, None), "never in a file or a pipe");
    }
}
