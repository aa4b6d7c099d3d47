//! Downloads into an object store: parts uploading one at a time, against several at once.
//!
//! `cargo xtask bench object-store` runs this and records the figures in docs/benchmarks.md. The
//! fake Cronofy serves a generated video on loopback; each client process downloads it into an
//! object store that takes a fixed time over each part, as a store far away does (80 ms by
//! default: an 8 MiB part at 100 MB/s), and keeps no bytes once a part is done, so that the
//! peak memory is the pipeline's own. The settings alternate within each round; each speed-up
//! is the median of its per-round ratios against one part at a time, in the same round.
//!
//! Options: `--size-mib N` (512), `--rounds N` (3), `--part-ms N` (80).

mod common;
#[path = "../tests/common/upload_store.rs"]
mod upload_store;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{KEY, Options, Run, fake_video, mbps, median, runtime, timed, video_callback};
use cronofy_notify_resources::{Downloader, ObjectStoreStorage};
use object_store::{MultipartUpload, PutPayload, PutResult, UploadPart};
use upload_store::{UploadStore, WrapUpload};

const MIB: u64 = 1 << 20;
/// Parts in flight, one at a time first: the baseline.
const SETTINGS: [usize; 3] = [1, 2, 4];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, url, parts, part_ms] = &args[..]
        && flag == "--client"
    {
        return client(url, parts.parse().unwrap(), part_ms.parse().unwrap());
    }
    let options = Options::new(args);
    let option = |name: &str, default: u64| options.get(name, default);
    let smoke = options.smoke();
    let (size, rounds, part_ms) = if smoke {
        (32 * MIB, 1, 10)
    } else {
        (
            option("--size-mib", 512) * MIB,
            option("--rounds", 3).max(1) as usize,
            option("--part-ms", 80),
        )
    };
    driver(size, rounds, part_ms);
}

fn driver(size: u64, rounds: usize, part_ms: u64) {
    let runtime = runtime();
    let (_fake, url) = fake_video(&runtime, size);

    let mut runs: Vec<Vec<Run>> = SETTINGS.iter().map(|_| Vec::new()).collect();
    let mut speedups: Vec<Vec<f64>> = SETTINGS.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        // Each setting in turn, starting one further along each round.
        let mut seconds = [0.0; SETTINGS.len()];
        for turn in 0..SETTINGS.len() {
            let which = (turn + round) % SETTINGS.len();
            let run = ours(&url, SETTINGS[which], part_ms);
            eprintln!(
                "round {round}: {} in flight, {:.0} MB/s, {} MiB RSS",
                SETTINGS[which],
                mbps(size, run.seconds),
                run.peak_rss_kib / 1024
            );
            seconds[which] = run.seconds;
            runs[which].push(run);
        }
        for (which, speedups) in speedups.iter_mut().enumerate() {
            speedups.push(seconds[0] / seconds[which]);
        }
    }

    println!(
        "Measured by `cargo xtask bench object-store` ({rounds} rounds, alternating) on {}.",
        cronofy_notify_test_support::machine()
    );
    println!();
    println!(
        "| {} MiB over loopback into a store taking {part_ms} ms a part | best throughput | peak RSS | speed-up over one at a time |",
        size / MIB
    );
    println!("|---|---|---|---|");
    for (which, parts) in SETTINGS.iter().enumerate() {
        let best = runs[which]
            .iter()
            .map(|r| r.seconds)
            .fold(f64::MAX, f64::min);
        let peak = runs[which]
            .iter()
            .map(|r| r.peak_rss_kib)
            .max()
            .unwrap_or(0);
        let default = if *parts == 2 { " (the default)" } else { "" };
        println!(
            "| {parts} part(s) in flight{default} | {:.0} MB/s | {:.1} MiB | **{:.2}** |",
            mbps(size, best),
            peak as f64 / 1024.0,
            median(&mut speedups[which])
        );
    }
}

fn ours(url: &str, parts: usize, part_ms: u64) -> Run {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .arg("--client")
        .arg(url)
        .arg(parts.to_string())
        .arg(part_ms.to_string());
    timed(command, None)
}

/// The client process: one download into the slow store, the way an application would.
fn client(url: &str, parts: usize, part_ms: u64) {
    runtime().block_on(async {
        let store = Arc::new(UploadStore::new(Far {
            per_part: Duration::from_millis(part_ms),
        }));
        let downloader = Downloader::builder(KEY)
            .storage(ObjectStoreStorage::new(store, "recordings").with_parts_in_flight(parts))
            .allow_http(true)
            .build()
            .unwrap();
        let report = downloader.download(&video_callback(url)).await.unwrap();
        assert!(report.is_success(), "{report:?}");
    });
}

/// A store far away: each part takes `per_part` to upload, its bytes held until then and then
/// let go (the object is not kept; the manifest is).
#[derive(Debug)]
struct Far {
    per_part: Duration,
}

impl WrapUpload for Far {
    const NAME: &'static str = "Far";

    fn wrap(&self, upload: Box<dyn MultipartUpload>) -> Box<dyn MultipartUpload> {
        Box::new(FarUpload {
            // Completed without parts: an empty object marks where the video went.
            upload,
            per_part: self.per_part,
        })
    }
}

#[derive(Debug)]
struct FarUpload {
    upload: Box<dyn MultipartUpload>,
    per_part: Duration,
}

#[async_trait::async_trait]
impl MultipartUpload for FarUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let per_part = self.per_part;
        Box::pin(async move {
            tokio::time::sleep(per_part).await;
            drop(data);
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.upload.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.upload.abort().await
    }
}
