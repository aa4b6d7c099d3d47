//! `cargo xtask fuzz [--seconds N] [--jobs N] [--record] [TARGET...]`: builds the fuzz targets in `fuzz/`
//! with libFuzzer and AddressSanitizer (the flags cargo-fuzz uses, on this stable toolchain with
//! `RUSTC_BOOTSTRAP=1`), seeds them from the shared vectors, runs each for N seconds, and reports
//! executions. `--record` writes the figures into docs/reliability.md. A crash fails the task and
//! leaves its input under `fuzz/artifacts/<target>/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cronofy_notify_test_support::{samples, vectors};

use crate::{docs, exec, root, say};

const TARGETS: [&str; 4] = [
    "notification",
    "signature_header",
    "verify_and_parse",
    "transcript",
];

const SANCOV: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Zsanitizer=address -Cdebug-assertions \
    -Coverflow-checks -Cforce-frame-pointers";

/// What one target's run came to.
struct Outcome {
    target: &'static str,
    seconds: u64,
    executions: u64,
    corpus: usize,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut seconds = 15u64;
    let mut jobs = 1usize;
    let mut record = false;
    let mut chosen = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--seconds takes a whole number above 0")?;
            }
            "--jobs" => {
                jobs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--jobs takes a whole number above 0")?;
            }
            "--record" => record = true,
            name => match TARGETS.iter().find(|t| **t == name) {
                Some(target) => chosen.push(*target),
                None => return Err(format!("unknown fuzz target {name:?}: one of {TARGETS:?}")),
            },
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }

    let fuzz = root().join("fuzz");
    // Beside the project's own build cache when one is set (CI keeps it outside the clone).
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || fuzz.join("target"),
        |dir| PathBuf::from(dir).join("fuzz"),
    );
    let triple = host_triple()?;
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .current_dir(&fuzz)
        .args(["build", "--release", "--bins", "--target", &triple])
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", SANCOV)
        .env("CARGO_TARGET_DIR", &target_dir);
    exec(build)?;

    let seeds = write_seeds(&target_dir.join("seeds"))?;
    let logs = target_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let mut outcomes = Vec::new();
    // Targets run `jobs` at a time, each a process of its own.
    for batch in chosen.chunks(jobs) {
        let mut running = Vec::new();
        for &target in batch {
            let corpus = fuzz.join("corpus").join(target);
            let artifacts = fuzz.join("artifacts").join(target);
            for dir in [&corpus, &artifacts] {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let binary = target_dir.join(&triple).join("release").join(target);
            // libFuzzer writes a line per input it keeps: to a file, not a pipe, which nothing
            // would read until the target before it in the batch ends, and which, once full,
            // would stop this one while its time runs.
            let log_path = logs.join(format!("{target}.log"));
            let log = std::fs::File::create(&log_path)
                .map_err(|e| format!("{}: {e}", log_path.display()))?;
            eprintln!("xtask: fuzzing {target} for {seconds}s");
            let child = Command::new(&binary)
                .arg(&corpus)
                .arg(seeds.join(target))
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048")
                .arg("-print_final_stats=1")
                .arg(format!("-artifact_prefix={}/", artifacts.display()))
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
            running.push((target, corpus, artifacts, log_path, child));
        }
        for (target, corpus, artifacts, log_path, mut child) in running {
            let status = child.wait().map_err(|e| e.to_string())?;
            let log =
                std::fs::read(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
            let log = String::from_utf8_lossy(&log);
            if !status.success() {
                let tail: Vec<_> = log.lines().rev().take(30).collect();
                return Err(format!(
                    "{target} crashed; the input is under {}, the whole log in {}:\n{}",
                    artifacts.display(),
                    log_path.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            let executions = stat(&log, "stat::number_of_executed_units:").unwrap_or(0);
            let corpus_size = std::fs::read_dir(&corpus).map_or(0, |d| d.count());
            eprintln!("xtask: {target}: {executions} executions, no crash, corpus {corpus_size}");
            outcomes.push(Outcome {
                target,
                seconds,
                executions,
                corpus: corpus_size,
            });
        }
    }

    let mut table = format!(
        "Measured by `cargo xtask fuzz --seconds {seconds} --jobs {jobs}` on {} (libFuzzer + \
         AddressSanitizer, {jobs} target(s) at a time on the machine's cores, seeded from the \
         shared vectors).\n\n\
         | target | time | executions | per second | corpus | crashes |\n|---|---|---|---|---|---|\n",
        cronofy_notify_test_support::machine()
    );
    for o in &outcomes {
        table.push_str(&format!(
            "| `{}` | {} s | {} | {} | {} | 0 |\n",
            o.target,
            o.seconds,
            o.executions,
            o.executions / o.seconds.max(1),
            o.corpus
        ));
    }
    say(&table)?;
    if record {
        docs::replace_section("reliability.md", "fuzz", &table)?;
    }
    Ok(())
}

fn host_triple() -> Result<String, String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV names no host".into())
}

fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
}

/// Seed inputs per target, from the shared vectors (read there, never copied into the repo).
fn write_seeds(dir: &Path) -> Result<PathBuf, String> {
    let write = |target: &str, name: &str, bytes: &[u8]| -> Result<(), String> {
        let at = dir.join(target);
        std::fs::create_dir_all(&at).map_err(|e| e.to_string())?;
        std::fs::write(at.join(name), bytes).map_err(|e| e.to_string())
    };
    for (i, case) in vectors::cases().into_iter().enumerate() {
        write("notification", &format!("body-{i}"), &case.body)?;
        write(
            "signature_header",
            &format!("header-{i}"),
            case.header.as_bytes(),
        )?;
        let mut framed = vec![u8::try_from(case.header.len()).unwrap_or(u8::MAX)];
        framed.extend_from_slice(case.header.as_bytes());
        framed.extend_from_slice(&case.body);
        write("verify_and_parse", &format!("case-{i}"), &framed)?;
    }
    write("transcript", "sample", &samples::transcript("agt_seed"))?;
    write("transcript", "empty", b"{}")?;
    Ok(dir.to_path_buf())
}
