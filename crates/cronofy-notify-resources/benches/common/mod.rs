//! What the download benchmarks share: timing a client process and polling its peak memory,
//! and the callback a client downloads.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cronofy_notify_test_support::fake::{FakeCronofy, ResourceSpec};

/// The API key the fake Cronofy checks.
pub(crate) const KEY: &str = "bench-api-key";

/// A multi-thread tokio runtime, as an application has.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A fake Cronofy on `runtime` serving a generated video of `size` bytes, and its URL (agent
/// `agt_bench`).
pub(crate) fn fake_video(runtime: &tokio::runtime::Runtime, size: u64) -> (FakeCronofy, String) {
    let fake = runtime.block_on(FakeCronofy::start(KEY)).unwrap();
    fake.add("video", ResourceSpec::generated(size, "video/mp4"));
    let url = fake.url("agt_bench", "video");
    (fake, url)
}

/// One run of a client process: wall time and peak RSS.
pub(crate) struct Run {
    pub(crate) seconds: f64,
    pub(crate) peak_rss_kib: u64,
}

/// Runs a command to the end, polling its peak RSS; `sync_after` is made durable inside the
/// timing, as our downloader's fsync is.
pub(crate) fn timed(mut command: Command, sync_after: Option<&std::path::Path>) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .spawn()
        .expect("the command starts");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| vm_hwm(&s))
        {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{command:?} failed: {status}");
    if let Some(path) = sync_after {
        let ok = Command::new("sync")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "sync failed");
    }
    Run {
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: peak,
    }
}

fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `meeting_agent_complete` callback holding one video at `url` (a fake Cronofy resource URL,
/// whose second-to-last segment is the agent).
pub(crate) fn video_callback(url: &str) -> cronofy_notify_core::EventSubscription {
    let body = serde_json::json!({
        "notification": {"type": "event_subscription", "interactions": [{"type": "meeting_agent_complete"}]},
        "meeting_agent": {"sub": url.split('/').rev().nth(1).unwrap(), "resources": [
            {"category": "video", "type": "conference", "url": url}]}
    });
    cronofy_notify_core::Notification::from_slice(body.to_string().as_bytes())
        .unwrap()
        .into_event_subscription()
        .unwrap()
}

pub(crate) fn mbps(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds / 1e6
}

/// The median of `values`, which are sorted here.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The driver's options: `--name N`, and whether this is a real run (`cargo bench` passes
/// `--bench`) or a quick smoke run (`cargo test --benches`).
pub(crate) struct Options(Vec<String>);

impl Options {
    pub(crate) fn new(args: Vec<String>) -> Self {
        Self(args)
    }

    /// The number after `name`, or `default`.
    pub(crate) fn get(&self, name: &str, default: u64) -> u64 {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub(crate) fn smoke(&self) -> bool {
        !self.0.iter().any(|a| a == "--bench")
    }
}
