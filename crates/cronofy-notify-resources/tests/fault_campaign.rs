//! The download fault campaign: random fault schedules drawn from the fake Cronofy's switches,
//! for random sizes. Whatever happens, the stored file equals the source byte for byte, or the
//! download reports a clear error and nothing is at the final path; it never hangs past its
//! deadline. A schedule with fewer faults than the attempts allowed must succeed. A quarter of
//! the schedules serve their bodies unframed, ended by the connection's close, where a drop
//! looks like the end of the body.
//!
//! CI runs 1,000 schedules of bodies up to 256 KiB into files, and (feature `object-store`) 40
//! of up to 20 MiB into an object store, where every multipart upload must end, completed or
//! aborted. A longer campaign:
//! `FAULT_CASES=20000 FAULT_MAX_KIB=4096 cargo test --release -p cronofy-notify-resources --test fault_campaign`.

mod common;

use std::time::Duration;

#[cfg(feature = "object-store")]
use common::upload_store::{Counting, UploadStore};
use common::{API_KEY, callback};
#[cfg(feature = "object-store")]
use cronofy_notify_resources::ObjectStoreStorage;
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

/// How the storage serves the resource's bodies.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Serving {
    /// With a `Content-Length` (or chunked, by [`Step::Chunked`]), with an ETag or without.
    Framed { etag: bool },
    /// Ended by closing the connection, so that a drop looks like the end of the body; with an
    /// ETag, by which the downloader asks what follows each body to confirm its end.
    Unframed,
}

fn serving() -> impl Strategy<Value = Serving> {
    prop_oneof![
        3 => Just(Serving::Framed { etag: true }),
        3 => Just(Serving::Framed { etag: false }),
        2 => Just(Serving::Unframed),
    ]
}

impl Step {
    /// Whether the end of an unframed body can still be confirmed under this step: not when the
    /// answer to the question ignores `Range`, nor when it leaves out the ETag to ask with. A
    /// body cut short then cannot be told from a whole one, by this downloader or any other.
    fn leaves_an_end_confirmable(&self) -> bool {
        !matches!(self, Self::IgnoreRange | Self::NoEtag)
    }
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

/// Where a schedule's download goes.
enum Target {
    /// Files under a folder of their own (the default storage).
    Files(tempfile::TempDir),
    /// An in-memory object store, its multipart uploads counted.
    #[cfg(feature = "object-store")]
    Objects(std::sync::Arc<UploadStore<Counting>>),
}

async fn run_schedule(
    size: u64,
    serving: Serving,
    steps: &[Step],
    target: Target,
) -> Result<(), String> {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    let mut spec = ResourceSpec::generated(size, "video/mp4");
    spec.etag = serving != Serving::Framed { etag: false };
    spec.unframed = serving == Serving::Unframed;
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
    let builder = match &target {
        Target::Files(root) => Downloader::builder(API_KEY).root(root.path()),
        #[cfg(feature = "object-store")]
        Target::Objects(store) => {
            Downloader::builder(API_KEY).storage(ObjectStoreStorage::new(store.clone(), ""))
        }
    };
    let downloader = builder
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
    let stored = stored_video(&target).await;
    match &video.error {
        None => {
            if video.location != Some(final_location(&target)) {
                return Err(format!("stored at {:?}", video.location));
            }
            let Some(stored) = stored else {
                return Err("success, and nothing at the final place".into());
            };
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
            uploads_ended(&target, 1)
        }
        Some(error) => {
            if stored.is_some() {
                return Err(format!(
                    "failed ({error}) but something is at the final place"
                ));
            }
            uploads_ended(&target, 0)?;
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

const FINAL_NAME: &str = "agt_fault/video-conference.mp4";

fn final_location(target: &Target) -> Location {
    match target {
        Target::Files(root) => Location::File(root.path().join(FINAL_NAME)),
        #[cfg(feature = "object-store")]
        Target::Objects(_) => Location::Object(FINAL_NAME.to_owned()),
    }
}

/// The bytes at the final place, if any.
async fn stored_video(target: &Target) -> Option<Vec<u8>> {
    match target {
        Target::Files(root) => std::fs::read(root.path().join(FINAL_NAME)).ok(),
        #[cfg(feature = "object-store")]
        Target::Objects(store) => {
            use object_store::ObjectStoreExt as _;
            let found = store.inner.get(&FINAL_NAME.into()).await.ok()?;
            Some(found.bytes().await.unwrap().to_vec())
        }
    }
}

/// Every multipart upload started was completed (`completed` of them) or aborted, none left
/// open, whose parts a store such as S3 would keep out of sight.
#[cfg_attr(not(feature = "object-store"), allow(unused_variables))]
fn uploads_ended(target: &Target, completed: usize) -> Result<(), String> {
    match target {
        Target::Files(_) => Ok(()),
        #[cfg(feature = "object-store")]
        Target::Objects(store) => {
            let (started, done, aborted) = store.uploads();
            // None started: the object was small enough for one plain PUT.
            if started == done + aborted && (started == 0 || done == completed) {
                Ok(())
            } else {
                Err(format!(
                    "uploads: {started} started, {done} completed, {aborted} aborted"
                ))
            }
        }
    }
}

/// Runs `schedule` for `cases` random schedules of bodies up to `max_size` bytes, on a runtime
/// of two workers; panics with the first that fails, shrunk.
fn campaign(
    cases: u32,
    max_size: u64,
    schedule: impl Fn(&tokio::runtime::Runtime, u64, Serving, &[Step]) -> Result<(), String>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ProptestConfig::with_cases(cases);
    config.failure_persistence = None;
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (
        1..=max_size,
        serving(),
        prop::collection::vec(step(), 0..10),
    )
        .prop_map(|(size, serving, mut steps)| {
            if serving == Serving::Unframed {
                steps.retain(Step::leaves_an_end_confirmable);
            }
            (size, serving, steps)
        });
    let outcome = runner.run(&strategy, |(size, serving, steps)| {
        let result = schedule(&runtime, size, serving, &steps);
        prop_assert!(
            result.is_ok(),
            "size {size}, {serving:?}, {steps:?}: {}",
            result.unwrap_err()
        );
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[test]
fn random_fault_schedules_never_corrupt_or_hang() {
    let cases = env_number("FAULT_CASES", 1000) as u32;
    let max_size = env_number("FAULT_MAX_KIB", 256) * 1024;
    let started = std::time::Instant::now();
    let faults = std::sync::atomic::AtomicU64::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let unframed = std::sync::atomic::AtomicU64::new(0);
    campaign(cases, max_size, |runtime, size, serving, steps| {
        faults.fetch_add(steps.len() as u64, std::sync::atomic::Ordering::Relaxed);
        bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
        if serving == Serving::Unframed {
            unframed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let target = Target::Files(tempfile::tempdir().unwrap());
        runtime.block_on(run_schedule(size, serving, steps, target))
    });
    let report = format!(
        r#"{{"schedules":{cases},"max_kib":{},"faults":{},"bytes":{},"unframed":{},"seconds":{:.1}}}"#,
        max_size / 1024,
        faults.into_inner(),
        bytes.into_inner(),
        unframed.into_inner(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("{report}");
    if let Ok(path) = std::env::var("FAULT_REPORT") {
        std::fs::write(path, report).unwrap();
    }
}

/// The same schedules into an object store, at sizes that take several 8 MiB parts, uploading
/// while the download goes on: the object equals the source, or the download reports an error
/// and no object is there; every multipart upload ends, completed or aborted.
///
/// CI runs 40 schedules of up to 20 MiB. Longer:
/// `OBJECT_FAULT_CASES=1000 cargo test --release -p cronofy-notify-resources --features
/// object-store --test fault_campaign object_store`.
#[cfg(feature = "object-store")]
#[test]
fn random_fault_schedules_into_an_object_store_never_corrupt_or_hang() {
    let cases = env_number("OBJECT_FAULT_CASES", 40) as u32;
    let max_size = env_number("OBJECT_FAULT_MAX_MIB", 20) << 20;
    let started = std::time::Instant::now();
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let uploads = std::sync::atomic::AtomicUsize::new(0);
    let completed = std::sync::atomic::AtomicUsize::new(0);
    campaign(cases, max_size, |runtime, size, serving, steps| {
        bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
        let store = std::sync::Arc::new(UploadStore::new(Counting::default()));
        let target = Target::Objects(store.clone());
        runtime.block_on(run_schedule(size, serving, steps, target))?;
        let (started, done, _) = store.uploads();
        uploads.fetch_add(started, std::sync::atomic::Ordering::Relaxed);
        completed.fetch_add(done, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    let (uploads, completed) = (uploads.into_inner(), completed.into_inner());
    let report = format!(
        r#"{{"schedules":{cases},"max_mib":{},"bytes":{},"multipart_uploads":{uploads},"completed":{completed},"seconds":{:.1}}}"#,
        max_size >> 20,
        bytes.into_inner(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("{report}");
    if let Ok(path) = std::env::var("OBJECT_FAULT_REPORT") {
        std::fs::write(path, report).unwrap();
    }
    // Not a campaign of single PUTs: the multipart path was taken to the end and, in a long
    // campaign, cut short too. About one schedule in ten aborts an upload (94 of 1,000 at the
    // last recorded run), so 40 schedules see none about once in forty runs: CI's short
    // campaign asserts only the first; tests/object_store.rs aborts uploads on purpose
    // (`every_multipart_upload_is_completed_or_aborted` and its neighbours).
    if cases >= 20 && max_size > 16 << 20 {
        assert!(completed > 0, "{uploads} uploads, {completed} completed");
    }
    if cases >= 200 && max_size > 16 << 20 {
        assert!(
            uploads > completed,
            "{uploads} uploads, all {completed} completed: none was cut short"
        );
    }
}
