//! `cargo xtask soak` and `cargo xtask faults`: the long runs of the load test and of the
//! download fault campaign, in release mode, with their figures written into
//! docs/reliability.md. CI runs both test files at a smaller size.

use crate::{cargo, docs, exec, say};

fn number(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} takes a whole number")),
    }
}

fn read_report(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// 50,000 callbacks (by default) against a release build of `cronofy-notify serve`.
pub(crate) fn soak(args: &[String]) -> Result<(), String> {
    let callbacks = number(args, "--callbacks", 50_000)?;
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "cronofy-notify-cli"]);
    exec(build)?;
    let report = std::env::temp_dir().join(format!("cronofy-soak-{}.json", std::process::id()));
    let mut test = cargo();
    test.args([
        "test",
        "--release",
        "--locked",
        "-p",
        "cronofy-notify-cli",
        "--test",
        "soak",
        "--",
        "--nocapture",
    ])
    .env("SOAK_CALLBACKS", callbacks.to_string())
    .env(
        "SOAK_BINARY",
        crate::bench::target_dir().join("release/cronofy-notify"),
    )
    .env("SOAK_REPORT", &report);
    exec(test)?;
    let r = read_report(&report)?;
    let _ = std::fs::remove_file(&report);
    let kinds = &r["by_kind"];
    let section = format!(
        "Measured by `cargo xtask soak --callbacks {callbacks}` (release build) on {}.\n\n\
         | what | figure |\n|---|---|\n\
         | callbacks sent | {} over {} keep-alive connections, in {:.1} s ({:.0}/s) |\n\
         | genuine, each a new callback | {} answered 202, each body kept exactly once ({} kept) |\n\
         | redelivered | {} answered 200, none handled again |\n\
         | forged | {} answered 401 |\n\
         | oversized (300 KiB) | {} answered 413 |\n\
         | malformed | {} answered 400 |\n\
         | latency | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |\n\
         | memory (RSS) | {} KiB at start, {} KiB warm, {} KiB peak, {} KiB at the end |\n\
         | log at `warn` | nothing but {} of refused requests, by reason, adding up to the {} refused; no error |\n",
        cronofy_notify_test_support::machine(),
        r["callbacks"],
        r["connections"],
        r["seconds"].as_f64().unwrap_or(0.0),
        r["per_second"].as_f64().unwrap_or(0.0),
        kinds["genuine"],
        r["kept_once"],
        kinds["duplicate"],
        kinds["forged"],
        kinds["oversized"],
        kinds["malformed"],
        r["p50_ms"].as_f64().unwrap_or(0.0),
        r["p99_ms"].as_f64().unwrap_or(0.0),
        r["max_ms"].as_f64().unwrap_or(0.0),
        r["rss_kib"]["start"],
        r["rss_kib"]["warm"],
        r["rss_kib"]["peak"],
        r["rss_kib"]["end"],
        match r["refusal_reports"].as_u64() {
            Some(1) => "one report".to_owned(),
            n => format!("{} reports", n.unwrap_or(0)),
        },
        r["refused_reported"],
    );
    say(&section)?;
    docs::replace_section("reliability.md", "soak", &section)
}

/// The download fault campaign, at a size CI cannot afford: into files, then into an object
/// store at sizes that take several parts.
pub(crate) fn faults(args: &[String]) -> Result<(), String> {
    let cases = number(args, "--cases", 10_000)?;
    let max_kib = number(args, "--max-kib", 4096)?;
    let object_cases = number(args, "--object-cases", 1000)?;
    let object_max_mib = number(args, "--object-max-mib", 20)?;
    let report = |name: &str| {
        std::env::temp_dir().join(format!("cronofy-{name}-{}.json", std::process::id()))
    };
    let (files, objects) = (report("faults"), report("object-faults"));
    let mut test = cargo();
    test.args([
        "test",
        "--release",
        "--locked",
        "-p",
        "cronofy-notify-resources",
        "--features",
        "object-store",
        "--test",
        "fault_campaign",
        "--",
        // One campaign at a time: each has the two cores to itself, as in its figures.
        "--test-threads",
        "1",
    ])
    .env("FAULT_CASES", cases.to_string())
    .env("FAULT_MAX_KIB", max_kib.to_string())
    .env("FAULT_REPORT", &files)
    .env("OBJECT_FAULT_CASES", object_cases.to_string())
    .env("OBJECT_FAULT_MAX_MIB", object_max_mib.to_string())
    .env("OBJECT_FAULT_REPORT", &objects);
    exec(test)?;
    let (r, o) = (read_report(&files)?, read_report(&objects)?);
    let _ = std::fs::remove_file(&files);
    let _ = std::fs::remove_file(&objects);
    let machine = cronofy_notify_test_support::machine();
    let section = format!(
        "Measured by `cargo xtask faults --cases {cases} --max-kib {max_kib}` (release build) on {machine}.\n\n\
         {} random schedules passed, bodies of 1 byte to {max_kib} KiB ({:.0} MiB in all, {} of \
         the schedules served unframed), {} faults injected, in {:.0} s: every download either \
         stored the source byte for byte or failed with a clear error and nothing at the final \
         path; none hung; every schedule with fewer faults than the attempts allowed succeeded. \
         CI runs 1,000 schedules of up to 256 KiB.\n",
        r["schedules"],
        r["bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
        r["unframed"],
        r["faults"],
        r["seconds"].as_f64().unwrap_or(0.0),
    );
    say(&section)?;
    docs::replace_section("reliability.md", "faults", &section)?;
    let section = format!(
        "Measured by `cargo xtask faults --object-cases {object_cases} --object-max-mib \
         {object_max_mib}` (release build) on {machine}.\n\n\
         {} random schedules passed into an object store, bodies of 1 byte to {object_max_mib} MiB \
         ({:.0} MiB in all), in {:.0} s; {} multipart uploads started, {} of them completed and \
         the rest aborted, none left open: every download either stored the source byte for \
         byte or failed with a clear error and no object. CI runs 40 schedules of up to 20 MiB.\n",
        o["schedules"],
        o["bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
        o["seconds"].as_f64().unwrap_or(0.0),
        o["multipart_uploads"],
        o["completed"],
    );
    say(&section)?;
    docs::replace_section("reliability.md", "faults-objects", &section)
}
