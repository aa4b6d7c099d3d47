//! Requests per second of a verifying endpoint against a bare one on the same framework, in
//! the same run, with a load generator of our own on loopback.
//!
//! `cargo xtask bench http` runs this in release mode and records the figures in
//! docs/benchmarks.md. Each server runs in its own process (this binary with `--serve KIND`);
//! the load generator keeps 64 keep-alive connections busy for a fixed time, sending the signed
//! seed `meeting_agent_complete` body, and counts answers. The bare endpoint reads the body and
//! answers 204 (a server must read a POST's body to keep the connection); the verifying one
//! extracts `CronofyCallback` (read, verify, parse) and answers 204. Bare and verifying endpoints
//! alternate, round after round; the ratio is the median of the rounds' ratios.
//!
//! Options: `--rounds N` (3), `--seconds N` (3), `--connections N` (64).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cronofy_notify_core::{Signer, Verifier};
use cronofy_notify_test_support::http_cases::read_response;
use cronofy_notify_test_support::vectors;
use tokio::io::AsyncWriteExt;

const KINDS: [(&str, &str); 2] = [("axum", "axum-bare"), ("actix-web", "actix-bare")];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, kind, addr] = &args[..]
        && flag == "--serve"
    {
        return serve(kind, addr.parse().expect("an address"));
    }
    let option = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rounds = option("--rounds", 3) as usize;
    let seconds = option("--seconds", 3);
    let connections = option("--connections", 64) as usize;
    drive(rounds, Duration::from_secs(seconds), connections);
}

fn verifier() -> Verifier {
    Verifier::new([vectors::secret("A")]).expect("the vectors' secret")
}

/// The server process.
fn serve(kind: &str, addr: SocketAddr) {
    match kind {
        "axum-bare" | "axum-verify" | "axum-signature-only" => {
            use axum::http::StatusCode;
            use axum::routing::post;
            async fn bare(_body: axum::body::Bytes) -> StatusCode {
                StatusCode::NO_CONTENT
            }
            async fn verify(_: cronofy_notify_axum::CronofyCallback) -> StatusCode {
                StatusCode::NO_CONTENT
            }
            // Where the time goes: the signature checked, the JSON not parsed.
            async fn signature_only(
                axum::extract::State(verifier): axum::extract::State<Verifier>,
                headers: axum::http::HeaderMap,
                body: axum::body::Bytes,
            ) -> StatusCode {
                let header = headers
                    .get("cronofy-hmac-sha256")
                    .map_or(&b""[..], |v| v.as_bytes());
                match verifier.verify(header, &body) {
                    Ok(()) => StatusCode::NO_CONTENT,
                    Err(_) => StatusCode::UNAUTHORIZED,
                }
            }
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let route = match kind {
                    "axum-bare" => post(bare),
                    "axum-signature-only" => post(signature_only),
                    _ => post(verify),
                };
                let app = axum::Router::new().route("/", route).with_state(verifier());
                let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        }
        "actix-bare" | "actix-verify" => {
            use actix_web::{App, HttpResponse, HttpServer, web};
            async fn bare(_body: web::Bytes) -> HttpResponse {
                HttpResponse::NoContent().finish()
            }
            async fn verify(_: cronofy_notify_actix::CronofyCallback) -> HttpResponse {
                HttpResponse::NoContent().finish()
            }
            let bare_kind = kind == "actix-bare";
            let verifier = web::Data::new(verifier());
            actix_web::rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    let route = if bare_kind {
                        web::post().to(bare)
                    } else {
                        web::post().to(verify)
                    };
                    App::new().app_data(verifier.clone()).route("/", route)
                })
                .bind(addr)
                .unwrap()
                .run()
                .await
                .unwrap();
            });
        }
        other => panic!("unknown server kind {other}"),
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(kind: &str) -> (Server, SocketAddr) {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", kind, &addr.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return (server, addr);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{kind} did not listen");
}

/// Requests per second against `kind`, and how many answers were not 204.
fn load(kind: &str, duration: Duration, connections: usize, request: &[u8]) -> (f64, u64) {
    let (_server, addr) = start(kind);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // A short warm-up, then the measured stretch.
        run_load(addr, Duration::from_millis(300), connections, request).await;
        let started = Instant::now();
        let (done, wrong) = run_load(addr, duration, connections, request).await;
        (done as f64 / started.elapsed().as_secs_f64(), wrong)
    })
}

async fn run_load(
    addr: SocketAddr,
    duration: Duration,
    connections: usize,
    request: &[u8],
) -> (u64, u64) {
    let deadline = tokio::time::Instant::now() + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.to_vec();
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (mut done, mut wrong) = (0u64, 0u64);
                while tokio::time::Instant::now() < deadline {
                    stream.write_all(&request).await.unwrap();
                    let status = read_response(&mut stream)
                        .await
                        .expect("the server closed the connection");
                    done += 1;
                    if status != 204 {
                        wrong += 1;
                    }
                }
                (done, wrong)
            })
        })
        .collect();
    let mut total = (0, 0);
    for task in tasks {
        let (done, wrong) = task.await.unwrap();
        total.0 += done;
        total.1 += wrong;
    }
    total
}

fn drive(rounds: usize, duration: Duration, connections: usize) {
    let body = vectors::seed_body("complete");
    let header = Signer::new([vectors::secret("A")]).unwrap().sign(&body);
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nCronofy-HMAC-SHA256: {header}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);

    println!(
        "Measured by `cargo xtask bench http` ({rounds} rounds of {}s, {connections} keep-alive connections, \
         the {}-byte seed body) on {}.",
        duration.as_secs(),
        body.len(),
        cronofy_notify_test_support::machine()
    );
    println!();
    println!(
        "| framework | bare endpoint (204) | verifying endpoint | ratio (median of rounds) | range |"
    );
    println!("|---|---|---|---|---|");
    for (framework, bare) in KINDS {
        let verify = bare.replace("bare", "verify");
        let mut ratios = Vec::new();
        let mut best = (0f64, 0f64);
        for round in 1..=rounds {
            let (bare_rps, bare_wrong) = load(bare, duration, connections, &request);
            let (verify_rps, verify_wrong) = load(&verify, duration, connections, &request);
            assert_eq!(
                (bare_wrong, verify_wrong),
                (0, 0),
                "every answer must be 204"
            );
            eprintln!(
                "{framework} round {round}: bare {bare_rps:.0} req/s, verifying {verify_rps:.0} req/s"
            );
            ratios.push(verify_rps / bare_rps);
            best = (best.0.max(bare_rps), best.1.max(verify_rps));
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "| {framework} | {:.0} req/s | {:.0} req/s | **{:.2}** | {:.2}–{:.2} |",
            best.0,
            best.1,
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    // Where the verifying endpoint's time goes: the signature alone, without parsing.
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let (bare_rps, _) = load("axum-bare", duration, connections, &request);
        let (signature_rps, wrong) = load("axum-signature-only", duration, connections, &request);
        assert_eq!(wrong, 0, "every answer must be 204");
        ratios.push(signature_rps / bare_rps);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "| axum, signature only (no JSON parse) | | | {:.2} | {:.2}–{:.2} |",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!();
    println!("Target: the verifying endpoint at 0.90 of the bare one or better.");
}
