//! Load and soak: `cronofy-notify serve` under tens of thousands of callbacks from many
//! connections, a share of them forged, duplicated, oversized or malformed. Every genuine one
//! is handled exactly once, every other one refused with its status, memory stays flat, and the
//! log holds nothing but `serve`'s reports of what it refused, adding up to every refusal.
//!
//! CI sends 5,000. `cargo xtask soak` sends 50,000 to a release build and records the figures
//! in docs/reliability.md (through `SOAK_CALLBACKS` and `SOAK_REPORT`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cronofy_notify_core::Signer;
use cronofy_notify_test_support::http_cases::read_response;
use cronofy_notify_test_support::logs::counted;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SECRET: &str = "soak-client-secret";
const CONNECTIONS: usize = 32;

/// What a request is, and the status it must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Genuine,
    Duplicate,
    Forged,
    Oversized,
    Malformed,
}

impl Kind {
    fn expected(self) -> u16 {
        match self {
            Self::Genuine => 202,
            Self::Duplicate => 200,
            Self::Forged => 401,
            Self::Oversized => 413,
            Self::Malformed => 400,
        }
    }
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn body_for(i: usize, interaction: &str) -> Vec<u8> {
    format!(
        r#"{{"notification":{{"type":"event_subscription","interactions":[{{"type":"{interaction}"}}]}},"meeting_agent":{{"sub":"agt_soak{i:08}","state":"created","resources":[{{"category":"cronofy","type":"dashboard","url":"https://app.cronofy.com/x"}}]}}}}"#
    )
    .into_bytes()
}

fn request(body: &[u8], signature: &str, close: bool) -> Vec<u8> {
    let mut head = format!(
        "POST /cronofy HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nCronofy-HMAC-SHA256: {signature}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The planned traffic, in order: what each request is, and its bytes (none for a duplicate,
/// which resends an earlier genuine request).
fn plan(total: usize) -> Vec<(Kind, Vec<u8>)> {
    let signer = Signer::new([SECRET]).unwrap();
    let forger = Signer::new(["not-the-secret"]).unwrap();
    let mut oversized = br#"{"notification":{"type":"event_subscription"},"pad":""#.to_vec();
    oversized.extend(std::iter::repeat_n(b'x', 300 * 1024));
    oversized.extend_from_slice(b"\"}");
    let oversized_sig = signer.sign(&oversized);
    let mut genuine = 0;
    (0..total)
        // Kinds go by rounds of one request per connection, so every connection starts with a
        // genuine callback it can later resend.
        .map(|n| match (n / CONNECTIONS) % 20 {
            // 70% genuine, each a new callback; 10% resend an earlier one.
            0..=13 => {
                let interaction = if n % 3 == 0 {
                    "meeting_agent_failed"
                } else {
                    "meeting_agent_activated"
                };
                let body = body_for(genuine, interaction);
                genuine += 1;
                (Kind::Genuine, request(&body, &signer.sign(&body), false))
            }
            // The worker resends one of its own earlier genuine requests.
            14 | 15 => (Kind::Duplicate, Vec::new()),
            16 | 17 => {
                let body = body_for(n + 10_000_000, "meeting_agent_complete");
                (Kind::Forged, request(&body, &forger.sign(&body), false))
            }
            18 => (Kind::Oversized, request(&oversized, &oversized_sig, true)),
            _ => {
                let body = format!("not json {n}").into_bytes();
                (Kind::Malformed, request(&body, &signer.sign(&body), false))
            }
        })
        .collect()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn count_kept(out: &Path) -> (usize, HashMap<String, usize>) {
    let mut total = 0;
    let mut per_agent = HashMap::new();
    for agent in std::fs::read_dir(out).unwrap().flatten() {
        let kept = std::fs::read_dir(agent.path().join("callbacks")).map_or(0, |d| d.count());
        total += kept;
        per_agent.insert(agent.file_name().into_string().unwrap(), kept);
    }
    (total, per_agent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_holds_a_soak_handling_each_genuine_callback_once() {
    let total: usize = std::env::var("SOAK_CALLBACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let binary = std::env::var("SOAK_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cronofy-notify").to_owned());
    let out = tempfile::tempdir().unwrap();
    let log_path = out.path().join("serve.log");
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut serve = Serve(
        Command::new(&binary)
            .args([
                "serve",
                "--listen",
                &addr.to_string(),
                "--secret",
                SECRET,
                "--out",
            ])
            .arg(out.path().join("files"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = serve.0.id();

    // Duplicates resend a genuine request sent earlier on the same connection's stream of work.
    let planned = plan(total);
    let genuine_requests: Arc<Vec<Vec<u8>>> = Arc::new(
        planned
            .iter()
            .filter(|(k, _)| *k == Kind::Genuine)
            .map(|(_, r)| r.clone())
            .collect(),
    );
    // For each planned request, its number among the genuine ones.
    let genuine_ids: Arc<Vec<usize>> = Arc::new(
        planned
            .iter()
            .scan(0, |next, (kind, _)| {
                let id = *next;
                if *kind == Kind::Genuine {
                    *next += 1;
                }
                Some(id)
            })
            .collect(),
    );
    let planned = Arc::new(planned);
    let started = Instant::now();
    // Memory over the run, every 50 ms.
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let running = running.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                samples.push(rss_kib(pid));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        })
    };
    let mut workers = Vec::new();
    for worker in 0..CONNECTIONS {
        let planned = planned.clone();
        let genuine_requests = genuine_requests.clone();
        let genuine_ids = genuine_ids.clone();
        workers.push(tokio::spawn(async move {
            let mut stream: Option<TcpStream> = None;
            let mut outcomes = Vec::new();
            let mut sent_genuine: Vec<usize> = Vec::new();
            for index in (worker..planned.len()).step_by(CONNECTIONS) {
                let (kind, bytes) = &planned[index];
                let bytes = match kind {
                    Kind::Duplicate if sent_genuine.is_empty() => continue,
                    Kind::Duplicate => {
                        genuine_requests[sent_genuine[index % sent_genuine.len()]].clone()
                    }
                    _ => bytes.clone(),
                };
                if *kind == Kind::Genuine {
                    sent_genuine.push(genuine_ids[index]);
                }
                let begun = Instant::now();
                if stream.is_none() {
                    stream = Some(TcpStream::connect(addr).await.expect("connect"));
                }
                let connection = stream.as_mut().unwrap();
                let status = match connection.write_all(&bytes).await {
                    Ok(()) => read_response(connection).await,
                    Err(_) => None,
                };
                if *kind == Kind::Oversized || status.is_none() {
                    stream = None;
                }
                outcomes.push((*kind, status.unwrap_or(0), begun.elapsed()));
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(
            tokio::time::timeout(Duration::from_secs(600), worker)
                .await
                .expect("bounded")
                .unwrap(),
        );
    }
    let elapsed = started.elapsed();
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut samples = sampler.await.unwrap();
    samples.push(rss_kib(pid));
    // After the first fifth of the run the server is warm; from there on it must stay flat.
    let warm = samples[samples.len() / 5];
    let (rss_start, rss_end) = (samples[0], *samples.last().unwrap());
    let rss_peak = samples.iter().copied().max().unwrap_or(0);

    let mut wrong: Vec<_> = outcomes
        .iter()
        .filter(|(k, s, _)| k.expected() != *s)
        .collect();
    wrong.truncate(10);
    assert!(wrong.is_empty(), "unexpected answers: {wrong:?}");

    let genuine = outcomes
        .iter()
        .filter(|(k, _, _)| *k == Kind::Genuine)
        .count();
    // Each genuine body is kept once, under its own agent, however often it was resent.
    let mut kept: (usize, HashMap<String, usize>) = (0, HashMap::new());
    for _ in 0..200 {
        kept = count_kept(&out.path().join("files"));
        if kept.0 >= genuine {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(kept.0, genuine, "every genuine callback kept exactly once");
    assert!(
        kept.1.values().all(|n| *n == 1),
        "no agent has a callback twice"
    );

    // Stopped as a service manager stops it, `serve` reports what it refused since its last
    // report: the log must hold those reports and nothing else, and they must add up to every
    // request refused, each under its own reason.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let mut stopped = false;
    for _ in 0..1500 {
        if serve.0.try_wait().unwrap().is_some() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stopped, "serve stops on SIGTERM");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let unexpected: Vec<_> = log
        .lines()
        .filter(|line| !(line.contains(" WARN ") && line.contains(" refused ")))
        .take(20)
        .collect();
    assert!(
        unexpected.is_empty(),
        "the log holds more than expected:\n{}",
        unexpected.join("\n")
    );
    let sent = |kind: Kind| outcomes.iter().filter(|(k, _, _)| *k == kind).count() as u64;
    for (kind, reason) in [
        (Kind::Forged, "with a signature that does not match"),
        (Kind::Oversized, "over the body limit"),
        (Kind::Malformed, "genuine but not a Cronofy notification"),
    ] {
        assert_eq!(counted(&log, reason), sent(kind), "{kind:?}: {log}");
    }
    let refused = sent(Kind::Forged) + sent(Kind::Oversized) + sent(Kind::Malformed);
    assert_eq!(
        counted(&log, " request"),
        refused,
        "no other refusal: {log}"
    );
    assert!(
        rss_peak <= warm + 32 * 1024,
        "memory grew: {warm} KiB warm, {rss_peak} KiB at the peak: {samples:?}"
    );

    let mut latencies: Vec<_> = outcomes.iter().map(|(_, _, d)| *d).collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let mut by_kind: HashMap<&str, usize> = HashMap::new();
    for (kind, _, _) in &outcomes {
        *by_kind
            .entry(match kind {
                Kind::Genuine => "genuine",
                Kind::Duplicate => "duplicate",
                Kind::Forged => "forged",
                Kind::Oversized => "oversized",
                Kind::Malformed => "malformed",
            })
            .or_default() += 1;
    }
    let report = serde_json::json!({
        "callbacks": outcomes.len(),
        "connections": CONNECTIONS,
        "seconds": elapsed.as_secs_f64(),
        "per_second": outcomes.len() as f64 / elapsed.as_secs_f64(),
        "p50_ms": pct(0.50).as_secs_f64() * 1000.0,
        "p99_ms": pct(0.99).as_secs_f64() * 1000.0,
        "max_ms": latencies.last().unwrap().as_secs_f64() * 1000.0,
        "rss_kib": {"start": rss_start, "warm": warm, "peak": rss_peak, "end": rss_end, "samples": samples.len()},
        "by_kind": by_kind,
        "kept_once": kept.0,
        "refusal_reports": log.lines().count(),
        "refused_reported": counted(&log, " request"),
    });
    eprintln!("{report:#}");
    if let Ok(path) = std::env::var("SOAK_REPORT") {
        std::fs::write(path, report.to_string()).unwrap();
    }
}
