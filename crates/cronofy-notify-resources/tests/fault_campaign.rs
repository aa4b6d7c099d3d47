//! The download fault campaign: random fault schedules drawn from the fake Cronofy's switches,
//! for random sizes. Whatever happens, the stored file equals the source byte for byte, or the
//! download reports a clear error and nothing is at the final path; it never hangs past its
//! deadline. A schedule with fewer faults than the attempts allowed must succeed.
//!
//! CI runs 1,000 schedules of bodies up to 256 KiB. A longer campaign:
//! `FAULT_CASES=20000 FAULT_MAX_KIB=4096 cargo test --release -p cronofy-notify-resources --test fault_campaign`.

mod common;

use std::time::Duration;

use common::{API_KEY, callback};
use cronofy_notify_resources::{Downloader, Location, RetryPolicy};
use cronofy_notify_test_support::fake::{ApiFault, FakeCronofy, Fault, ResourceSpec};
use proptest::prelude::*;

/// One switch of the fake, for one request.
#[derive(Clone, Debug)]
enum Step {
    /// Close the connection at this fraction of the body.
    Drop(f64),
    /// Go silent at this fraction of the body for longer than the idle timeout.
    Stall(f64),
    /// Answer this status (5xx, 408, 429), with `Retry-After: 0` or none.
    Status(u16, bool),
    /// Send the whole body with 200 whatever the Range.
    IgnoreRange,
    /// The resource becomes a new version (new bytes, new ETag).
    ChangeVersion,
    /// Declare this many bytes more than are sent.
    Overstate(u64),
    /// The pre-signed link has expired: 403 from storage (S3, Azure) or 400 (Google Cloud
    /// Storage).
    Expired(u16),
    /// An answer without its `ETag` (a resumed one still answers the `If-Range` it was sent).
    NoEtag,
    /// The API answers 503 instead of redirecting.
    ApiError,
    /// No Content-Length: a chunked body.
    Chunked,
    /// A chunked body that, on a resume (206), goes on this many bytes past its end.
    Overrun(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0.0..1.0f64).prop_map(Step::Drop),
        (0.0..1.0f64).prop_map(Step::Stall),
        (
            prop::sample::select(vec![500u16, 502, 503, 504, 408, 429]),
            any::<bool>()
        )
            .prop_map(|(s, r)| Step::Status(s, r)),
        Just(Step::IgnoreRange),
        Just(Step::ChangeVersion),
        (1u64..5000).prop_map(Step::Overstate),
        prop::sample::select(vec![403u16, 400]).prop_map(Step::Expired),
        Just(Step::NoEtag),
        Just(Step::ApiError),
        Just(Step::Chunked),
        (1u64..5000).prop_map(Step::Overrun),
    ]
}

const MAX_ATTEMPTS: u32 = 8;
const IDLE: Duration = Duration::from_millis(100);
const DEADLINE: Duration = Duration::from_secs(20);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run_schedule(size: u64, etag: bool, steps: &[Step]) -> Result<(), String> {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    let mut spec = ResourceSpec::generated(size, "video/mp4");
    spec.etag = etag;
    fake.add("video", spec);
    let at = |fraction: f64| (size as f64 * fraction) as u64;
    for step in steps {
        match step {
            Step::ApiError => fake.api_faults(
                "video",
                [ApiFault {
                    status: Some((503, None)),
                    ..ApiFault::default()
                }],
            ),
            other => fake.faults(
                "video",
                [match other {
                    Step::Drop(f) => Fault {
                        drop_at: Some(at(*f)),
                        ..Fault::default()
                    },
                    Step::Stall(f) => Fault {
                        stall_at: Some((at(*f), IDLE * 3)),
                        ..Fault::default()
                    },
                    Step::Status(s, retry) => Fault {
                        status: Some((*s, retry.then(|| "0".to_owned()))),
                        ..Fault::default()
                    },
                    Step::IgnoreRange => Fault {
                        ignore_range: true,
                        ..Fault::default()
                    },
                    Step::ChangeVersion => Fault {
                        change_version: true,
                        ..Fault::default()
                    },
                    Step::Overstate(n) => Fault {
                        overstate_length: Some(*n),
                        ..Fault::default()
                    },
                    Step::Expired(status) => Fault {
                        status: Some((*status, None)),
                        ..Fault::default()
                    },
                    Step::NoEtag => Fault {
                        omit_etag: true,
                        ..Fault::default()
                    },
                    Step::Chunked => Fault {
                        chunked: true,
                        ..Fault::default()
                    },
                    Step::Overrun(n) => Fault {
                        chunked: true,
                        overrun: Some(*n),
                        ..Fault::default()
                    },
                    Step::ApiError => unreachable!("handled above"),
                }],
            ),
        }
    }
    let root = tempfile::tempdir().unwrap();
    let downloader = Downloader::builder(API_KEY)
        .root(root.path())
        .allow_http(true)
        .idle_timeout(IDLE)
        .retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5))
                .max_attempts_without_progress(MAX_ATTEMPTS)
                .deadline(DEADLINE),
        )
        .build()
        .unwrap();
    let body = fake.complete_body("agt_fault", &[("video", "conference", "video")]);
    let report = tokio::time::timeout(
        DEADLINE + Duration::from_secs(10),
        downloader.download(&callback(&body)),
    )
    .await
    .map_err(|_| "the download hung past its deadline".to_owned())?
    .map_err(|e| format!("the meeting failed: {e}"))?;
    let video = &report.resources[0];
    let final_path = root.path().join("agt_fault/video-conference.mp4");
    match &video.error {
        None => {
            let Some(Location::File(path)) = &video.location else {
                return Err(format!("success without a file: {video:?}"));
            };
            if path != &final_path {
                return Err(format!("stored at {}", path.display()));
            }
            let stored = std::fs::read(path).unwrap();
            if stored != fake.content("video") {
                return Err(format!(
                    "CORRUPT: {} bytes stored, {} served",
                    stored.len(),
                    size
                ));
            }
            if video.sha256.as_deref() != Some(fake.sha256("video").as_str()) {
                return Err("the reported SHA-256 is not the file's".into());
            }
            Ok(())
        }
        Some(error) => {
            if final_path.exists() {
                return Err(format!("failed ({error}) but a file is at the final path"));
            }
            let failures = steps
                .iter()
                .filter(|s| !matches!(s, Step::ChangeVersion | Step::IgnoreRange | Step::Chunked))
                .count();
            if failures < MAX_ATTEMPTS as usize {
                return Err(format!(
                    "{failures} faults, fewer than {MAX_ATTEMPTS} attempts, yet it failed: {error}"
                ));
            }
            if error.to_string().trim().is_empty() {
                return Err("an error without words".into());
            }
            Ok(())
        }
    }
}

#[test]
fn random_fault_schedules_never_corrupt_or_hang() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cases = env_number("FAULT_CASES", 1000) as u32;
    let max_size = env_number("FAULT_MAX_KIB", 256) * 1024;
    let mut config = ProptestConfig::with_cases(cases);
    config.failure_persistence = None;
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (
        1..=max_size,
        any::<bool>(),
        prop::collection::vec(step(), 0..10),
    );
    let started = std::time::Instant::now();
    let faults = std::sync::atomic::AtomicU64::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let outcome = runner.run(&strategy, |(size, etag, steps)| {
        faults.fetch_add(steps.len() as u64, std::sync::atomic::Ordering::Relaxed);
        bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
        let result = runtime.block_on(run_schedule(size, etag, &steps));
        prop_assert!(
            result.is_ok(),
            "size {size}, etag {etag}, {steps:?}: {}",
            result.unwrap_err()
        );
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let report = format!(
        r#"{{"schedules":{cases},"max_kib":{},"faults":{},"bytes":{},"seconds":{:.1}}}"#,
        max_size / 1024,
        faults.into_inner(),
        bytes.into_inner(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("{report}");
    if let Ok(path) = std::env::var("FAULT_REPORT") {
        std::fs::write(path, report).unwrap();
    }
}
