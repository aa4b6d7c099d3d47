//! Requests per second of a verifying endpoint against a bare one on the same framework, in
//! the same run, with a load generator of our own on loopback.
//!
//! `cargo xtask bench http` runs this in release mode and records the figures in
//! docs/benchmarks.md. Each server runs in its own process (this binary with `--serve KIND`);
//! the load generator keeps 64 keep-alive connections busy for a fixed time, sending the signed
//! seed `meeting_agent_complete` body, and counts answers. The bare endpoint reads the body and
//! answers 204 (a server must read a POST's body to keep the connection); the verifying one
//! extracts `CronofyCallback` (read, verify, parse) and answers 204. Both servers of a comparison
//! run at once (one idle while the other is measured); short stretches of each alternate, A B then
//! B A, and the ratio is the median of the pairs' ratios: on a shared, noisy machine a burst of
//! load from elsewhere then falls on both sides of a pair instead of on one round of one side.
//!
//! Options: `--pairs N` (20), `--seconds S` (1, fractions allowed), `--connections N` (64).
//! For profiling one server by hand: `--serve KIND ADDR` runs it alone, and `--load ADDR SECONDS`
//! drives it with the same load and prints requests per second (docs/benchmarks.md shows how).
//! KIND is `actix-bare`, `actix-verify`, or `axum-` followed by `bare`, `verify`,
//! `signature-only`, `parse-only` or `by-hand` (on tokio's multi-thread runtime); `axum-per-core-`
//! instead of `axum-` runs one current-thread runtime per core, as actix-web runs its workers.
//! With `--features mimalloc`, both servers (and the load generator) use mimalloc instead of the
//! system allocator.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cronofy_notify_core::{Signer, Verifier};
use cronofy_notify_test_support::http_cases::read_response;
use cronofy_notify_test_support::vectors;
use tokio::io::AsyncWriteExt;

/// The frameworks compared, each by its bare server (the verifying one is named `...-verify`).
/// The per-core axum servers need `SO_REUSEPORT`, so they run on unix only.
const KINDS: [(&str, &str); 3] = [
    ("axum", "axum-bare"),
    ("actix-web", "actix-bare"),
    (
        "axum, one current-thread runtime per core",
        "axum-per-core-bare",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, kind, addr] = &args[..]
        && flag == "--serve"
    {
        return serve(kind, addr.parse().expect("an address"));
    }
    // Load alone against a server started by hand, for profiling it: `--load ADDR SECONDS`.
    if let [flag, addr, seconds] = &args[..]
        && flag == "--load"
    {
        let (rps, wrong) = load(
            addr.parse().expect("an address"),
            Duration::from_secs_f64(seconds.parse().expect("seconds")),
            64,
            &request(),
        );
        println!("{rps:.0} req/s, {wrong} answers not 204");
        return;
    }
    let option = |name: &str, default: f64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .filter(|&v: &f64| v > 0.0)
            .unwrap_or(default)
    };
    let pairs = (option("--pairs", 20.0) as usize).max(1);
    let seconds = option("--seconds", 1.0);
    let connections = option("--connections", 64.0) as usize;
    drive(pairs, Duration::from_secs_f64(seconds), connections);
}

fn verifier() -> Verifier {
    Verifier::new([vectors::secret("A")]).expect("the vectors' secret")
}

/// The server process.
fn serve(kind: &str, addr: SocketAddr) {
    match kind.split_once('-') {
        Some(("axum", handler)) => match handler.strip_prefix("per-core-") {
            Some(handler) => serve_axum(handler, addr, Scheduling::PerCore),
            None => serve_axum(handler, addr, Scheduling::WorkStealing),
        },
        Some(("actix", handler)) => serve_actix(handler, addr),
        _ => panic!("unknown server kind {kind}"),
    }
}

/// An actix-web server, one worker per core (actix-web's default).
fn serve_actix(handler: &str, addr: SocketAddr) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    async fn bare(_body: web::Bytes) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
    async fn verify(_: cronofy_notify_actix::CronofyCallback) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
    let bare_handler = match handler {
        "bare" => true,
        "verify" => false,
        other => panic!("unknown actix-web handler {other}"),
    };
    let verifier = web::Data::new(verifier());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let route = if bare_handler {
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

/// How an axum server runs its connections.
#[derive(Clone, Copy)]
enum Scheduling {
    /// tokio's multi-thread runtime, whose workers take tasks from one another: what
    /// `#[tokio::main]` gives.
    WorkStealing,
    /// One current-thread runtime per core, each with a listener of its own on the same port:
    /// a connection stays on the thread that accepted it, as in actix-web's workers.
    PerCore,
}

/// An axum server.
fn serve_axum(handler: &str, addr: SocketAddr, scheduling: Scheduling) {
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
    // The other half: the JSON parsed, the signature not checked.
    async fn parse_only(body: axum::body::Bytes) -> StatusCode {
        match cronofy_notify_core::Notification::from_slice(&body) {
            Ok(_) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }
    // Both halves by hand, as a handler without the extractor would do them.
    async fn by_hand(
        axum::extract::State(verifier): axum::extract::State<Verifier>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        match verifier.verify_request(&headers, body) {
            Ok(_) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::UNAUTHORIZED,
        }
    }
    let route = match handler {
        "bare" => post(bare),
        "verify" => post(verify),
        "signature-only" => post(signature_only),
        "parse-only" => post(parse_only),
        "by-hand" => post(by_hand),
        other => panic!("unknown axum handler {other}"),
    };
    let app = axum::Router::new().route("/", route).with_state(verifier());
    match scheduling {
        Scheduling::WorkStealing => tokio::runtime::Runtime::new().unwrap().block_on(async {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            axum::serve(listener, app).await.unwrap();
        }),
        Scheduling::PerCore => {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let workers: Vec<_> = (0..cores)
                .map(|_| {
                    let app = app.clone();
                    std::thread::spawn(move || {
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap()
                            .block_on(async move {
                                axum::serve(port_sharing_listener(addr), app).await.unwrap();
                            });
                    })
                })
                .collect();
            for worker in workers {
                worker.join().unwrap();
            }
        }
    }
}

/// A listener sharing its port with the other workers' (`SO_REUSEPORT`): the kernel spreads new
/// connections among them. (A listener cloned between runtimes instead gave some runtimes most
/// of the connections, and the ratio swung from 0.60 to 0.81 between pairs.)
#[cfg(unix)]
fn port_sharing_listener(addr: SocketAddr) -> tokio::net::TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseport(true).unwrap();
    socket.bind(addr).unwrap();
    socket.listen(1024).unwrap()
}

#[cfg(not(unix))]
fn port_sharing_listener(_: SocketAddr) -> tokio::net::TcpListener {
    panic!("one runtime per core needs SO_REUSEPORT, which this platform does not have")
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

/// Requests per second against a running server, and how many answers were not 204.
fn load(addr: SocketAddr, duration: Duration, connections: usize, request: &[u8]) -> (f64, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let (done, wrong) = run_load(addr, duration, connections, request).await;
        (done as f64 / started.elapsed().as_secs_f64(), wrong)
    })
}

/// A candidate server measured against its baseline: the ratio of each pair of stretches, and
/// the best requests per second each reached.
struct Comparison {
    ratios: Vec<f64>,
    best: (f64, f64),
}

impl Comparison {
    /// Both servers run side by side (each idle while the other is measured) and are warmed up;
    /// then `pairs` short stretches of each alternate, in the order A B, B A, A B ..., so that a
    /// burst of load from elsewhere on the machine falls on both sides of a pair.
    fn run(
        baseline: &str,
        candidate: &str,
        pairs: usize,
        duration: Duration,
        connections: usize,
        request: &[u8],
    ) -> Self {
        let (_baseline_server, baseline_addr) = start(baseline);
        let (_candidate_server, candidate_addr) = start(candidate);
        let warm_up = Duration::from_millis(500);
        for addr in [baseline_addr, candidate_addr] {
            load(addr, warm_up, connections, request);
        }
        let measure = |addr| {
            let (rps, wrong) = load(addr, duration, connections, request);
            assert_eq!(wrong, 0, "every answer must be 204");
            rps
        };
        let mut comparison = Self {
            ratios: Vec::with_capacity(pairs),
            best: (0.0, 0.0),
        };
        for pair in 0..pairs {
            let (base_rps, cand_rps) = if pair % 2 == 0 {
                let base = measure(baseline_addr);
                (base, measure(candidate_addr))
            } else {
                let cand = measure(candidate_addr);
                (measure(baseline_addr), cand)
            };
            eprintln!(
                "{candidate} pair {}: {base_rps:.0} vs {cand_rps:.0} req/s",
                pair + 1
            );
            comparison.ratios.push(cand_rps / base_rps);
            comparison.best = (
                comparison.best.0.max(base_rps),
                comparison.best.1.max(cand_rps),
            );
        }
        comparison.ratios.sort_by(f64::total_cmp);
        comparison
    }

    fn median(&self) -> f64 {
        self.ratios[self.ratios.len() / 2]
    }

    /// The middle half of the ratios, as "low–high".
    fn spread(&self) -> String {
        let quarter = self.ratios.len() / 4;
        format!(
            "{:.2}–{:.2}",
            self.ratios[quarter],
            self.ratios[self.ratios.len() - 1 - quarter]
        )
    }
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

/// The request every connection sends: the signed seed `meeting_agent_complete` body.
fn request() -> Vec<u8> {
    let body = vectors::seed_body("complete");
    let header = Signer::new([vectors::secret("A")]).unwrap().sign(&body);
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nCronofy-HMAC-SHA256: {header}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

fn drive(pairs: usize, duration: Duration, connections: usize) {
    let body = vectors::seed_body("complete");
    let request = request();

    println!(
        "Measured by `cargo xtask bench http` ({pairs} pairs of {}s stretches, A B then B A, \
         {connections} keep-alive connections, the {}-byte seed body) on {}.",
        duration.as_secs_f64(),
        body.len(),
        cronofy_notify_test_support::machine()
    );
    println!();
    println!(
        "| framework | bare endpoint (204), best | verifying endpoint, best | ratio (median of pairs) | middle half |"
    );
    println!("|---|---|---|---|---|");
    for (framework, bare) in KINDS
        .into_iter()
        .filter(|(_, bare)| cfg!(unix) || !bare.contains("per-core"))
    {
        let verify = bare.replace("bare", "verify");
        let run = Comparison::run(bare, &verify, pairs, duration, connections, &request);
        println!(
            "| {framework} | {:.0} req/s | {:.0} req/s | **{:.2}** | {} |",
            run.best.0,
            run.best.1,
            run.median(),
            run.spread()
        );
    }
    // Where the verifying endpoint's time goes: each half of its work alone, then both by hand.
    for (kind, label) in [
        (
            "axum-signature-only",
            "axum, signature only (no JSON parse)",
        ),
        ("axum-parse-only", "axum, parse only (no signature)"),
        (
            "axum-by-hand",
            "axum, `Bytes` then `verify_request` by hand",
        ),
    ] {
        let run = Comparison::run("axum-bare", kind, pairs, duration, connections, &request);
        println!("| {label} | | | {:.2} | {} |", run.median(), run.spread());
    }
    println!();
    println!("Target: the verifying endpoint at 0.90 of the bare one or better.");
}
