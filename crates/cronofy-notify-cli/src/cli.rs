//! The command line: a contract that scripts rely on. Add to it freely; change nothing.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use cronofy_notify_core::ResourceCategory;
use cronofy_notify_core::samples::Sample;

use crate::credentials::{ApiKey, Secrets};

/// Verify, sign and send Cronofy callbacks; receive them and file the recordings.
#[derive(Debug, Parser)]
#[command(name = "cronofy-notify", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// How logs are written to standard error (`RUST_LOG` sets the level).
    #[arg(
        long,
        value_name = "FORMAT",
        global = true,
        // After each command's own options, in every --help.
        display_order = 100,
        value_enum,
        env = "CRONOFY_NOTIFY_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    pub(crate) log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// For people: one line per event, coloured on a terminal.
    Text,
    /// For log collectors: one JSON object per line, the event's fields at its top level.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a body's Cronofy-HMAC-SHA256 signature, and sum the notification up.
    ///
    /// Exit 0: genuine; 1: signature missing, malformed or wrong; 3: genuine, but not a Cronofy
    /// notification; 2: usage.
    Verify {
        #[command(flatten)]
        secrets: Secrets,
        /// The Cronofy-HMAC-SHA256 header value (a header line copied whole, name and all, is
        /// taken too).
        #[arg(long)]
        signature: Option<String>,
        /// Print the notification as JSON (Cronofy's field names) instead of a summary.
        #[arg(long)]
        json: bool,
        /// The body; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    /// Print the Cronofy-HMAC-SHA256 header's value for a body.
    ///
    /// One value per secret, comma-separated, as Cronofy signs during a rotation. The header's
    /// name is not printed, so the value goes where one is wanted: `curl -H
    /// "Cronofy-HMAC-SHA256: $(cronofy-notify sign body.json)" --data-binary @body.json URL`.
    Sign {
        #[command(flatten)]
        secrets: Secrets,
        /// The body; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    /// POST a signed callback to an endpoint: a sample, or a body of yours.
    ///
    /// Signed exactly as Cronofy signs. Exit 0 on a 2xx answer. An answer that takes more than
    /// 3 s is pointed out, 2xx or not: Cronofy waits only a few seconds (its exact limit is not
    /// documented), so an endpoint should answer first and do slow work after.
    Send {
        /// Where to send it.
        #[arg(long, value_parser = http_url)]
        url: reqwest::Url,
        #[command(flatten)]
        secrets: Secrets,
        /// A built-in sample: activated, complete, failed, or failed:SUBTYPE (default complete).
        #[arg(long, conflicts_with = "file")]
        sample: Option<Sample>,
        /// Puts the resource URLs under this base instead of `https://api.cronofy.com`, as
        /// `URL/v1/meeting_agents/SUB/CATEGORY` (for local tests).
        #[arg(long, value_name = "URL", conflicts_with = "file", value_parser = resource_base)]
        resource_base: Option<reqwest::Url>,
        /// The sample's meeting agent id.
        #[arg(
            long,
            default_value = "agt_692702a100ccd07000000000",
            conflicts_with = "file",
            value_parser = agent_sub
        )]
        sub: String,
        /// How long to wait for the answer before giving up, from 1 to 3600 seconds.
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 30,
            value_parser = clap::value_parser!(u64).range(1..=3600)
        )]
        timeout: u64,
        /// The body to send instead of a sample (`-`: standard input).
        file: Option<PathBuf>,
    },
    /// Receive callbacks and file the recordings of completed meetings.
    ///
    /// Callbacks are accepted by POST on any path: 202 for genuine ones, 401, 400 or 413
    /// otherwise. Each body is kept under `OUT/<sub>/callbacks` (one per agent and interaction: a
    /// redelivery is answered 200), and the recordings of completed meetings are filed under
    /// `OUT/<sub>/`, unfinished ones resumed on start and again after --retry-every.
    #[command(visible_alias = "receive")]
    Serve {
        /// The address to listen on: an IP address and a port (`localhost:PORT` is
        /// `127.0.0.1:PORT`; `0.0.0.0:PORT` or `[::]:PORT` for every interface).
        #[arg(long, default_value = "127.0.0.1:3000", value_parser = listen_addr)]
        listen: SocketAddr,
        #[command(flatten)]
        secrets: Secrets,
        #[command(flatten)]
        api_key: ApiKey,
        /// Where bodies and recordings go.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        fetch: FetchOptions,
        /// After this many seconds, fetch again the recordings of completed meetings that are not
        /// all stored (a failure that outlasted the downloader's retries), doubling the wait
        /// after each failed try, up to a day; 0: only on start.
        #[arg(long, value_name = "SECONDS", default_value_t = 900)]
        retry_every: u64,
        /// How long a request may take to arrive: its headers (and an idle connection's next
        /// request) before the connection is closed, its body before the answer is 408.
        /// From 1 to 3600: a public endpoint needs some bound, and 0 would refuse everything.
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 30,
            value_parser = clap::value_parser!(u64).range(1..=3600)
        )]
        read_timeout: u64,
        /// Every this many seconds, one warning counting the requests refused meanwhile, by
        /// reason, if there were any (and once more on stopping): each refusal alone is logged
        /// only at DEBUG, so without it a wrong --secret would refuse every callback in silence.
        /// 0: never.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        report_refusals_every: u64,
        /// The largest callback body taken, in bytes or with a unit (KiB, MiB); larger ones are
        /// answered 413 before any hashing. From 1 KiB (a documented callback is 1-2 KiB) to
        /// 64 MiB (bodies are held in memory while they are checked).
        #[arg(long, value_name = "SIZE", default_value = "256KiB", value_parser = body_limit)]
        body_limit: usize,
    },
    /// Download the recordings of a saved `meeting_agent_complete` body.
    ///
    /// With progress bars on a terminal. Exit 0: every recording stored; 1: one or more not;
    /// 2: usage; 130: stopped by Ctrl-C or SIGTERM, keeping what was fetched (the same command
    /// resumes it).
    Download {
        /// Where the recordings go (`OUT/<sub>/...`).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        api_key: ApiKey,
        #[command(flatten)]
        fetch: FetchOptions,
        /// Another host the API key may be sent to, beside cronofy.com and its subdomains
        /// (repeatable). The saved body is not verified here, so whoever wrote it would choose
        /// where the key goes; --allow-http, for local tests, allows any host.
        #[arg(long = "api-host", value_name = "HOST")]
        api_hosts: Vec<String>,
        /// The saved `meeting_agent_complete` body (`-`: standard input).
        file: PathBuf,
    },
    /// Print a sample callback body, to save, sign or edit.
    ///
    /// What `send --sample` sends, with a final line break.
    Sample {
        /// Which: activated, complete, failed, or failed:SUBTYPE.
        #[arg(default_value = "complete")]
        sample: Sample,
        /// The meeting agent id.
        #[arg(long, default_value = "agt_692702a100ccd07000000000", value_parser = agent_sub)]
        sub: String,
        /// Puts the resource URLs under this base instead of `https://api.cronofy.com`, as
        /// `URL/v1/meeting_agents/SUB/CATEGORY` (for local tests).
        #[arg(long, value_name = "URL", value_parser = resource_base)]
        resource_base: Option<reqwest::Url>,
    },
    /// Render a downloaded transcript as text, WebVTT or SRT.
    ///
    /// A value of a kind a transcript does not hold (a time sent as a string, say) is left out,
    /// as if absent, and named on standard error. Exit 0: rendered; 1: not JSON, or not an
    /// object; 2: usage.
    Transcript {
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The transcript JSON; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    // No full stop: verbatim, this first line is --help's summary as written, and the others
    // have none.
    /// Print a completion script for a shell
    ///
    /// Save it where the shell looks for completions, for example:
    ///   bash: cronofy-notify completions bash > ~/.local/share/bash-completion/completions/cronofy-notify
    ///   zsh:  cronofy-notify completions zsh > ~/.zfunc/_cronofy-notify   (with ~/.zfunc on $fpath)
    ///   fish: cronofy-notify completions fish > ~/.config/fish/completions/cronofy-notify.fish
    #[command(verbatim_doc_comment)]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `completions`: the script for `shell`, generated from the definition the parser uses, so it
/// knows every command and option there is.
pub(crate) fn completions(shell: clap_complete::Shell) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        BIN_NAME,
        &mut script,
    );
    if shell == clap_complete::Shell::Bash {
        script = mend_bash(&script);
    }
    crate::output::exit_code(crate::output::write(&script), crate::exit::OK)
}

const BIN_NAME: &str = "cronofy-notify";

/// clap_complete's bash script for a name with a hyphen in it reaches a subcommand's state as
/// `cronofy__notify__subcmd__serve` but matches it as `cronofy__subcmd__notify__subcmd__serve`,
/// so no option of any subcommand was ever completed (clap-rs/clap#6421). Spelled the way it is
/// reached; a script without the slip is returned as it is.
fn mend_bash(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("cronofy__subcmd__notify", "cronofy__notify")
        .into_bytes()
}

/// Which resources to fetch, and from where.
#[derive(Debug, clap::Args)]
pub(crate) struct FetchOptions {
    /// Which categories to fetch: any of transcript, audio and video, or a category Cronofy
    /// adds later.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "transcript,audio,video",
        value_parser = category
    )]
    pub(crate) categories: Vec<ResourceCategory>,
    /// Allow plain-http resource URLs (the API key would travel unencrypted: local tests only).
    #[arg(long)]
    pub(crate) allow_http: bool,
    /// The largest recording fetched, in bytes or with a unit (KiB, MiB, GiB, TiB): a larger
    /// one fails, checked against its declared length before a byte is written and again while
    /// it streams (default: no limit).
    #[arg(long, value_name = "SIZE", value_parser = max_size)]
    pub(crate) max_size: Option<u64>,
}

impl FetchOptions {
    /// The categories, with a warning for any Cronofy does not document (a typo fetches nothing).
    pub(crate) fn categories(&self) -> Vec<ResourceCategory> {
        for category in &self.categories {
            if !category.is_downloadable() {
                tracing::warn!(
                    %category,
                    "not a category Cronofy documents (transcript, audio, video); \
                     fetched only if a callback lists it"
                );
            }
        }
        self.categories.clone()
    }
}

/// One `--categories` value: case does not matter; the dashboard (`cronofy`) is a page for a
/// browser, never downloaded, so asking for it is a mistake worth saying.
fn category(value: &str) -> Result<ResourceCategory, String> {
    let value = value.trim().to_ascii_lowercase();
    match ResourceCategory::from(value.as_str()) {
        _ if value.is_empty() => {
            Err("an empty category; expected transcript, audio or video".into())
        }
        ResourceCategory::Cronofy => Err(
            "the cronofy category is the dashboard, a page for a browser, and is never \
             downloaded; expected transcript, audio or video"
                .into(),
        ),
        category => Ok(category),
    }
}

/// `--listen`: an IP address and port. `localhost` is loopback by definition (RFC 6761), so it
/// is read as `127.0.0.1` without asking a resolver; other host names are refused rather than
/// resolved, since a name may stand for several addresses, and which one to listen on is the
/// operator's to say.
fn listen_addr(value: &str) -> Result<SocketAddr, String> {
    let value = value.trim();
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    if let Some((host, port)) = value.rsplit_once(':')
        && host.eq_ignore_ascii_case("localhost")
        && let Ok(port) = port.parse::<u16>()
    {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err(format!(
        "{value:?} is not an address to listen on: expected an IP address and a port, such as \
         127.0.0.1:3000 (this machine only), 0.0.0.0:3000 or [::]:3000 (every interface)"
    ))
}

/// `--url`, `--resource-base`: an http or https URL, checked as the command line is read.
fn http_url(value: &str) -> Result<reqwest::Url, String> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        Ok(url) => Err(format!(
            "expected an http or https URL, not {:?}",
            url.scheme()
        )),
        Err(error) => Err(format!("{value:?} is not a URL: {error}")),
    }
}

/// `--resource-base`: an http or https URL that paths can follow. The resource URLs are the
/// base with `/v1/meeting_agents/...` after it, so a query or a fragment would swallow that path
/// (`http://host/?token=t/v1/...` fetches `/` on every download): refused, saying so.
fn resource_base(value: &str) -> Result<reqwest::Url, String> {
    let url = http_url(value)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(
            "the resource URLs' paths would go inside its query (?...) or fragment \
                    (#...): give a base without them, such as http://127.0.0.1:8080/prefix"
                .into(),
        );
    }
    Ok(url)
}

/// The range `--body-limit` takes: a limit under a kilobyte would refuse Cronofy's own
/// callbacks (a typo for `256KiB`, say), one over 64 MiB would let each connection hold that
/// much memory.
const BODY_LIMITS: std::ops::RangeInclusive<usize> = 1024..=LARGEST_BODY_LIMIT;

/// The highest `--body-limit`, and the largest body the other commands read.
pub(crate) const LARGEST_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// `--body-limit`: a [`size`] within [`BODY_LIMITS`].
fn body_limit(value: &str) -> Result<usize, String> {
    let bytes = size(value)?;
    match usize::try_from(bytes) {
        Ok(bytes) if BODY_LIMITS.contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "{:?} is {bytes} bytes; expected from 1KiB to 64MiB (a documented callback is \
             1-2 KiB; the default is 256KiB)",
            value.trim()
        )),
    }
}

/// `--max-size`: a [`size`] of at least one byte.
fn max_size(value: &str) -> Result<u64, String> {
    match size(value)? {
        0 => Err("a --max-size of 0 would refuse every recording".into()),
        bytes => Ok(bytes),
    }
}

/// A size in bytes, or with a binary unit (`KiB`, `MiB`, `GiB`, `TiB`; case does not matter).
/// `MB` and the like are refused rather than guessed at: 1,000,000 or 1,048,576?
fn size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => Some(0),
        "kib" => Some(10),
        "mib" => Some(20),
        "gib" => Some(30),
        "tib" => Some(40),
        _ => None,
    };
    shift
        .zip(number.parse::<u64>().ok())
        .and_then(|(shift, n)| n.checked_mul(1 << shift))
        .ok_or_else(|| {
            format!(
                "{value:?} is not a size: expected bytes, or a number with KiB, MiB, GiB or TiB \
                 (256KiB)"
            )
        })
}

/// `--sub`: an agent id, which `serve` keeps the callback under; blank would name no agent.
fn agent_sub(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err("a meeting agent id (agt_...) cannot be blank".into());
    }
    Ok(value.to_owned())
}

/// A transcript format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// One line per paragraph, with speaker and time.
    Text,
    /// WebVTT captions.
    Vtt,
    /// SubRip captions.
    Srt,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Cli;

    /// The command lines the documentation shows, in code blocks and in `code` spans: what comes
    /// after `cronofy-notify `, up to a pipe, a redirection or a comment, in shell words.
    fn documented_command_lines(text: &str) -> Vec<Vec<String>> {
        let mut lines = Vec::new();
        let mut in_block = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_block = !in_block;
                continue;
            }
            let spans: Vec<&str> = if in_block {
                vec![line]
            } else {
                line.split('`').skip(1).step_by(2).collect()
            };
            for span in spans {
                for (at, _) in span.match_indices("cronofy-notify ") {
                    let command = &span[at + "cronofy-notify ".len()..];
                    let command = command
                        .split(['|', '>', '#', ';'])
                        .next()
                        .unwrap_or_default();
                    if command.contains('<') || command.trim().is_empty() {
                        continue; // `cronofy-notify <command> --help`: a pattern, not a line
                    }
                    lines.push(shell_words(command));
                }
            }
        }
        lines
    }

    /// Words split on spaces, double-quoted ones kept whole without their quotes.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        for (i, part) in line.split('"').enumerate() {
            if i % 2 == 1 {
                words.push(part.to_owned());
            } else {
                words.extend(part.split_whitespace().map(str::to_owned));
            }
        }
        words
    }

    #[test]
    fn a_size_is_bytes_or_a_number_with_a_binary_unit_in_any_case() {
        for (given, bytes) in [
            ("0", 0),
            ("7", 7),
            ("7b", 7),
            ("2KiB", 2 << 10),
            ("3 mib", 3 << 20),
            ("5GIB", 5 << 30),
            (" 1TiB ", 1 << 40),
            ("16777215TiB", ((1 << 24) - 1) << 40),
        ] {
            assert_eq!(super::size(given), Ok(bytes), "{given:?}");
        }
        for refused in ["", "KiB", "2MB", "1.5GiB", "-1", "1PiB", "16777216TiB"] {
            let error = super::size(refused).unwrap_err();
            assert!(error.contains("is not a size"), "{refused:?}: {error}");
        }
    }

    #[test]
    fn every_command_line_in_the_documentation_parses() {
        // Where cargo says the crate is now, rather than where it was compiled: checkouts that
        // share a target folder can find another checkout's test binary fresh.
        let root = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(
                || env!("CARGO_MANIFEST_DIR").into(),
                std::path::PathBuf::from,
            )
            .join("../..");
        let mut checked = 0;
        for file in [
            "README.md",
            "crates/cronofy-notify-cli/README.md",
            "docs/serve.md",
        ] {
            let text = std::fs::read_to_string(root.join(file))
                .unwrap_or_else(|error| panic!("{file}: {error}"));
            for mut words in documented_command_lines(&text) {
                // Placeholders, as prose writes them, for values of their kind.
                for word in &mut words {
                    if word == "URL" {
                        *word = "https://app.example.com/cronofy".into();
                    }
                }
                let parsed = Cli::try_parse_from(
                    std::iter::once("cronofy-notify".into()).chain(words.clone()),
                );
                // A secret may come from the environment, as the documentation says it should.
                if let Err(error) = parsed
                    && error.kind() != clap::error::ErrorKind::MissingRequiredArgument
                {
                    panic!("{file}: cronofy-notify {}: {error}", words.join(" "));
                }
                checked += 1;
            }
        }
        assert!(
            checked >= 15,
            "the documentation shows {checked} command lines"
        );
    }
}
