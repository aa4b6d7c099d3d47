//! `cargo xtask bench`: each benchmark beside its baseline, in the same run, several rounds; the
//! median of the per-round ratios goes into docs/benchmarks.md (see ../shared/BENCHMARKING.md for
//! why ratios, and why rounds).

use std::path::PathBuf;

use crate::{cargo, docs, exec, root, say};

/// A candidate and the baseline it is compared with.
struct Pair {
    what: &'static str,
    candidate: &'static str,
    baseline: &'static str,
    target: &'static str,
}

const CORE_PAIRS: &[Pair] = &[
    Pair {
        what: "verify the 1.1 KiB seed body vs one raw HMAC-SHA256 of it (keyed per call)",
        candidate: "verify_ours",
        baseline: "hmac_raw",
        target: "≤ 1.2",
    },
    Pair {
        what: "verify vs naive verify (re-key HMAC per call, decode, compare)",
        candidate: "verify_ours",
        baseline: "verify_naive",
        target: "",
    },
    Pair {
        what: "typed parse vs `serde_json::Value`",
        candidate: "parse_typed",
        baseline: "parse_value",
        target: "",
    },
    Pair {
        what: "verify + parse vs naive (re-keyed HMAC + `Value`)",
        candidate: "verify_and_parse_ours",
        baseline: "verify_and_parse_naive",
        target: "< 1.0",
    },
];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut rounds = None;
    let mut which = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or("--rounds takes a whole number above 0")?,
                );
            }
            "core" | "download" | "object-store" | "http" => which.push(arg.as_str()),
            other => {
                return Err(format!(
                    "unknown benchmark {other:?}: expected core, download, object-store or http"
                ));
            }
        }
    }
    if which.is_empty() {
        which = vec!["core", "download", "object-store", "http"];
    }
    for bench in which {
        match bench {
            "core" => core(rounds.unwrap_or(5))?,
            "download" => download(rounds.unwrap_or(5))?,
            "object-store" => object_store(rounds.unwrap_or(5))?,
            // One-second stretches, so more of them: see benches/src/http.rs.
            "http" => http(rounds.unwrap_or(20))?,
            _ => unreachable!("checked above"),
        }
    }
    Ok(())
}

/// 2 GiB (and 4 GiB) over loopback, ours against curl; the bench prints its own table.
fn download(rounds: usize) -> Result<(), String> {
    resources_bench("download", &[], rounds)
}

/// Downloads into a store far away, parts uploading one at a time against several at once; the
/// bench prints its own table.
fn object_store(rounds: usize) -> Result<(), String> {
    resources_bench("object_store", &["--features", "object-store"], rounds)
}

/// One of the downloader's benches, which prints its own table, for `rounds` rounds; the table
/// goes into the section of docs/benchmarks.md named after it (`_` as `-`).
fn resources_bench(bench: &str, features: &[&str], rounds: usize) -> Result<(), String> {
    let mut command = cargo();
    command
        .args(["bench", "--locked", "-p", "cronofy-notify-resources"])
        .args(features)
        .args(["--bench", bench, "--", "--rounds", &rounds.to_string()]);
    let table = capture(command)?;
    print!("{table}");
    let section = format!("bench:{}", bench.replace('_', "-"));
    docs::replace_section("benchmarks.md", &section, &table)
}

/// Requests per second of the adapters' verifying endpoints against bare ones, in `pairs`
/// alternating stretches of a second.
fn http(pairs: usize) -> Result<(), String> {
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "cronofy-notify-benches",
    ]);
    exec(build)?;
    let mut bench = std::process::Command::new(target_dir().join("release/http-bench"));
    bench.args(["--pairs", &pairs.to_string(), "--seconds", "1"]);
    let table = capture(bench)?;
    print!("{table}");
    docs::replace_section("benchmarks.md", "bench:http", &table)
}

/// Runs a command, passing its standard error through, and returns its standard output.
fn capture(mut command: std::process::Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{shown} failed ({})", output.status));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{shown} printed non-UTF-8: {e}"))
}

fn core(rounds: usize) -> Result<(), String> {
    let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); CORE_PAIRS.len()];
    let mut medians_ns: Vec<(String, f64)> = Vec::new();
    for round in 1..=rounds {
        eprintln!("xtask: core benchmarks, round {round} of {rounds}");
        let mut bench = cargo();
        bench.args([
            "bench",
            "--locked",
            "-p",
            "cronofy-notify-core",
            "--bench",
            "verify",
            "--",
            "--noplot",
        ]);
        exec(bench)?;
        for (pair, ratios) in CORE_PAIRS.iter().zip(&mut per_round) {
            ratios.push(estimate(pair.candidate)? / estimate(pair.baseline)?);
        }
        if round == rounds {
            for id in [
                "hmac_raw",
                "verify_ours",
                "verify_naive",
                "parse_typed",
                "parse_value",
                "verify_and_parse_ours",
                "verify_and_parse_naive",
            ] {
                medians_ns.push((id.to_owned(), estimate(id)?));
            }
        }
    }

    let mut table = format!(
        "Measured by `cargo xtask bench core` ({rounds} rounds) on {}.\n\n\
         | comparison | median ratio (candidate / baseline) | range over rounds | target |\n\
         |---|---|---|---|\n",
        cronofy_notify_test_support::machine()
    );
    for (pair, ratios) in CORE_PAIRS.iter().zip(&mut per_round) {
        ratios.sort_by(f64::total_cmp);
        table.push_str(&format!(
            "| {} | **{:.2}** | {:.2}–{:.2} | {} |\n",
            pair.what,
            median(ratios),
            ratios[0],
            ratios[ratios.len() - 1],
            pair.target
        ));
    }
    table.push_str("\nAbsolute medians of the last round (for the order of magnitude only):\n\n");
    table.push_str("| benchmark | median |\n|---|---|\n");
    for (id, ns) in &medians_ns {
        table.push_str(&format!("| `{id}` | {} |\n", human_ns(*ns)));
    }
    say(&table)?;
    docs::replace_section("benchmarks.md", "bench:core", &table)
}

/// The median time, in nanoseconds, of the latest criterion run of `id`.
fn estimate(id: &str) -> Result<f64, String> {
    let path = target_dir()
        .join("criterion")
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{} has no median", path.display()))
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn median(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn human_ns(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}
