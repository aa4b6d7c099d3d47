//! Download throughput and peak memory, ours against curl, in the same run.
//!
//! `cargo xtask bench download` runs this and records the figures in docs/benchmarks.md. It
//! starts the fake Cronofy on loopback (a Bearer-checking API redirecting to a second host),
//! then alternates our downloader and curl, each in its own process, each writing the body to
//! disk and making it durable (ours fsyncs; curl's file gets a `sync`). Peak memory is the
//! process's VmHWM. A last run cuts the connection at 90% and shows what the resume fetches.
//!
//! Options: `--size-gib N` (2), `--rounds N` (3), `--big-gib N` (4; 0 skips the large run).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{KEY, Options, Run, fake_video, mbps, median, runtime, timed, video_callback};
use cronofy_notify_resources::Downloader;
use cronofy_notify_test_support::fake::{Fault, ResourceSpec};

const GIB: u64 = 1 << 30;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--client") {
        return client(&args[1], Path::new(&args[2]));
    }
    let options = Options::new(args);
    let option = |name: &str, default: u64| options.get(name, default);
    let smoke = options.smoke();
    let size = if smoke {
        8 << 20
    } else {
        option("--size-gib", 2) * GIB
    };
    let rounds = if smoke {
        1
    } else {
        option("--rounds", 3) as usize
    };
    let big = if smoke {
        0
    } else {
        option("--big-gib", 4) * GIB
    };
    driver(size, rounds, big);
}

fn driver(size: u64, rounds: usize, big: u64) {
    let runtime = runtime();
    let (fake, url) = fake_video(&runtime, size);
    let scratch = tempdir();

    // Warm up both (the first write of a batch is slower), and check ours is right.
    let ours_file = scratch.join("ours/agt_bench/video-conference.mp4");
    ours(&url, &scratch.join("ours"));
    let expected = fake.sha256("video");
    let got = sha256_of(&ours_file);
    assert_eq!(got, expected, "the benchmark download is not byte for byte");
    curl(&url, &scratch.join("curl.mp4"));

    let mut ratios = Vec::new();
    let mut ours_runs = Vec::new();
    let mut curl_runs = Vec::new();
    for round in 1..=rounds {
        let _ = std::fs::remove_dir_all(scratch.join("ours"));
        let a = ours(&url, &scratch.join("ours"));
        let b = curl(&url, &scratch.join("curl.mp4"));
        eprintln!(
            "round {round}: ours {:.0} MB/s ({} MiB RSS), curl {:.0} MB/s ({} MiB RSS)",
            mbps(size, a.seconds),
            a.peak_rss_kib / 1024,
            mbps(size, b.seconds),
            b.peak_rss_kib / 1024
        );
        ratios.push(b.seconds / a.seconds);
        ours_runs.push(a);
        curl_runs.push(b);
    }
    let _ = std::fs::remove_dir_all(scratch.join("ours"));
    let _ = std::fs::remove_file(scratch.join("curl.mp4"));

    let big_run = (big > 0).then(|| {
        fake.add("big", ResourceSpec::generated(big, "video/mp4"));
        let run = ours(&fake.url("agt_big", "big"), &scratch.join("big"));
        let _ = std::fs::remove_dir_all(scratch.join("big"));
        run
    });

    // Resume: the first attempt is cut at 90%; what does the second ask for?
    fake.add("cut", ResourceSpec::generated(size, "video/mp4"));
    fake.faults(
        "cut",
        [Fault {
            drop_at: Some(size / 10 * 9),
            ..Fault::default()
        }],
    );
    ours(&fake.url("agt_cut", "cut"), &scratch.join("cut"));
    let resumed =
        sha256_of(&scratch.join("cut/agt_cut/video-conference.mp4")) == fake.sha256("cut");
    let storage: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.side == "storage" && s.name == "cut")
        .collect();
    let _ = std::fs::remove_dir_all(&scratch);

    let median = median(&mut ratios);
    let best = |runs: &[Run]| runs.iter().map(|r| r.seconds).fold(f64::MAX, f64::min);
    let peak = |runs: &[Run]| runs.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0);
    let gib = size as f64 / GIB as f64;
    println!(
        "Measured by `cargo xtask bench download` ({rounds} rounds, alternating) on {}.",
        cronofy_notify_test_support::machine()
    );
    println!();
    println!("| {gib:.0} GiB over loopback to disk | best throughput | peak RSS |");
    println!("|---|---|---|");
    println!(
        "| cronofy-notify-resources | {:.0} MB/s | {:.1} MiB |",
        mbps(size, best(&ours_runs)),
        peak(&ours_runs) as f64 / 1024.0
    );
    println!(
        "| curl (`-L`, then `sync`) | {:.0} MB/s | {:.1} MiB |",
        mbps(size, best(&curl_runs)),
        peak(&curl_runs) as f64 / 1024.0
    );
    println!();
    println!(
        "**Throughput ratio, ours / curl: {median:.2}** (median of per-round ratios; range {:.2}–{:.2}; target ≥ 0.90).",
        ratios[0],
        ratios[ratios.len() - 1]
    );
    if let Some(run) = big_run {
        println!();
        println!(
            "At {:.0} GiB: {:.0} MB/s, peak RSS **{:.1} MiB** (target < 32 MiB at both sizes).",
            big as f64 / GIB as f64,
            mbps(big, run.seconds),
            run.peak_rss_kib as f64 / 1024.0
        );
    }
    if let [first, second, ..] = &storage[..] {
        println!();
        println!(
            "Resume: the first attempt was cut at 90% ({} bytes planned, connection dropped); the \
             second asked for `{}` and was sent {} bytes, **{:.1}%** of the file; the result is \
             byte for byte: {resumed}.",
            first.planned_bytes,
            second.range.as_deref().unwrap_or("(no Range)"),
            second.planned_bytes,
            second.planned_bytes as f64 * 100.0 / size as f64
        );
    }
}

fn ours(url: &str, out: &Path) -> Run {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.arg("--client").arg(url).arg(out);
    timed(command, None)
}

fn curl(url: &str, out: &Path) -> Run {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-f", "-L", "-H"])
        .arg(format!("Authorization: Bearer {KEY}"))
        .arg("-o")
        .arg(out)
        .arg(url);
    timed(command, Some(out))
}

/// The client process: one download with our crate, the way an application would.
fn client(url: &str, out: &Path) {
    runtime().block_on(async {
        let callback = video_callback(url);
        let downloader = Downloader::builder(KEY)
            .root(out)
            .allow_http(true)
            .build()
            .unwrap();
        let report = downloader.download(&callback).await.unwrap();
        assert!(report.is_success(), "{report:?}");
    });
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cronofy-notify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).unwrap();
    let mut hash = sha2::Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        match file.read(&mut buf).unwrap() {
            0 => return hex::encode(hash.finalize()),
            n => hash.update(&buf[..n]),
        }
    }
}
