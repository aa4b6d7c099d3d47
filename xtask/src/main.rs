//! Project chores, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `demo`: the whole flow on loopback with a fake Cronofy; the recordings land in `demo-out/`.
//! - `fuzz [--seconds N] [--record]`: the fuzz targets in `fuzz/`, each for N seconds.
//! - `soak`, `faults`: the long load test and download fault campaign, recorded.
//! - `prune [--older-than-hours H]`: removes from the target folder the builds of this
//!   workspace's crates not written for H hours (24), which cargo keeps for ever.
//! - `ci`: what `.ci/run` does: formatting, clippy and docs with warnings denied, the demo, a
//!   short fuzzing run, and the tests.
//! - `bench [core] [download] [object-store] [http] [--rounds N]`: the benchmarks, each beside its baseline in the same
//!   run (N rounds, 5 by default; for http, N alternating pairs, 20 by default); the figures are
//!   written into `docs/benchmarks.md`.

mod bench;
mod ci;
mod demo;
mod docs;
mod fuzz;
mod prune;
mod reliability;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("soak") => reliability::soak(&args[1..]),
        Some("faults") => reliability::faults(&args[1..]),
        Some("prune") => prune::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => say(USAGE),
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  demo [--video-mib N]    the whole flow on loopback, no Cronofy account: a fake Cronofy,
                          `cronofy-notify serve`, signed callbacks, the recordings on disk
                          (a video of N MiB, 300 by default, and audio a twelfth of it)
  ci                      what .ci/run does: fmt --check, clippy and docs with warnings
                          denied, the demo, a short fuzzing run, the tests
  fuzz [--seconds N] [--jobs N] [--record] [TARGET...]
                          run each fuzz target for N seconds (15), N at a time; --record writes
                          the figures into docs/reliability.md
  soak [--callbacks N]    N callbacks (50,000) against a release `serve`; figures into
                          docs/reliability.md
  faults [--cases N] [--max-kib K] [--object-cases N] [--object-max-mib M]
                          the download fault campaign at length (10,000 schedules up to
                          4 MiB into files, 1,000 up to 20 MiB into an object store);
                          figures into docs/reliability.md
  prune [--older-than-hours H]
                          remove from the target folder the builds of this workspace's
                          crates that nothing wrote for H hours (24): cargo keeps each
                          dependency graph's builds for ever, a few GB each
  bench [core] [download] [object-store] [http] [--rounds N]
                          run benchmarks beside their baselines (all by default;
                          5 rounds, or 20 pairs of 1s for http); record the figures in
                          docs/benchmarks.md";

/// The workspace root. `cargo run` says where xtask's manifest is at run time; that is preferred
/// to the place it was compiled in, which differs when checkouts share a target folder (as
/// `.ci/run`'s cache makes them) and cargo finds the other checkout's build fresh.
fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Prints a line to standard output. `Err` when it cannot, as when its reader stopped reading
/// (`cargo xtask demo | head`): the task then stops, its servers stopped as they are dropped,
/// where `println!` would panic.
fn say(text: impl std::fmt::Display) -> Result<(), String> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

/// `cargo` as the one running us would call it.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs a command, failing with its description when it fails.
fn exec(mut command: Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}
