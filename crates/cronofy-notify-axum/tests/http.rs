//! The shared table of requests, over real HTTP on loopback, through the extractor, the
//! background handler and the middleware; then what only axum can get wrong.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use cronofy_notify_axum::{Background, CronofyCallback, CronofyLayer};
use cronofy_notify_core::{
    DuplicateGuard, GuardError, GuardFuture, HandlerOutcome, Signer, VerifiedNotification, Verifier,
};
use cronofy_notify_test_support::http_cases::{self, Framing};
use cronofy_notify_test_support::random_requests;
use cronofy_notify_test_support::vectors;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// POST on any path, as the examples and `serve` do.
fn any_path<S: Clone + Send + Sync + 'static>(route: axum::routing::MethodRouter<S>) -> Router<S> {
    Router::new()
        .route("/", route.clone())
        .route("/{*path}", route)
}

async fn extractor_app(secrets: Vec<String>) -> SocketAddr {
    async fn handler(CronofyCallback(_verified): CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    serve(any_path(post(handler)).with_state(Verifier::new(secrets).unwrap())).await
}

async fn background_app(secrets: Vec<String>, runs: Arc<AtomicUsize>) -> SocketAddr {
    let handler = move |_verified: VerifiedNotification| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
        }
    };
    serve(any_path(post(Background::new(handler))).with_state(Verifier::new(secrets).unwrap()))
        .await
}

async fn layer_app(secrets: Vec<String>) -> SocketAddr {
    async fn handler(
        Extension(verified): Extension<VerifiedNotification>,
        body: axum::body::Bytes,
    ) -> StatusCode {
        assert_eq!(
            &body,
            verified.body(),
            "the inner service still gets the raw body"
        );
        StatusCode::NO_CONTENT
    }
    serve(any_path(post(handler)).layer(CronofyLayer::new(Verifier::new(secrets).unwrap()))).await
}

#[tokio::test]
async fn the_extractor_answers_the_shared_table() {
    let results = http_cases::run(&http_cases::table(204), extractor_app).await;
    http_cases::assert_all(&results);
    assert!(results.len() > 35, "{} cases", results.len());
}

#[tokio::test]
async fn the_background_handler_answers_the_shared_table() {
    let runs = Arc::new(AtomicUsize::new(0));
    let results = http_cases::run_each(&http_cases::table(202), |secrets| {
        background_app(secrets, runs.clone())
    })
    .await;
    http_cases::assert_all(&results);
}

#[tokio::test]
async fn the_middleware_answers_the_shared_table() {
    // Middleware wraps the router: a GET is verified like any request, then meets the 405.
    let table = http_cases::table(204);
    let results = http_cases::run(&table, layer_app).await;
    http_cases::assert_all(&results);
}

/// axum serves HTTP/2 in cleartext beside HTTP/1.1 once its `http2` feature is on: a body then
/// comes in DATA frames, with or without a length, and is read, limited and checked the same.
#[tokio::test]
async fn the_extractor_answers_the_shared_table_over_http2() {
    let results = http_cases::run_http2(&http_cases::table(204), extractor_app).await;
    http_cases::assert_all(&results);
    assert!(results.len() > 35, "{} cases", results.len());
}

#[tokio::test]
async fn the_middleware_answers_the_shared_table_over_http2() {
    let results = http_cases::run_http2(&http_cases::table(204), layer_app).await;
    http_cases::assert_all(&results);
}

#[tokio::test]
async fn the_extractor_answers_random_requests_as_the_spec_says() {
    let table = random_requests::table(random_requests::seed(), 400, 204);
    http_cases::assert_all(&http_cases::run(&table, extractor_app).await);
}

#[tokio::test]
async fn the_extractor_answers_random_requests_over_http2_as_the_spec_says() {
    let table = random_requests::table(random_requests::seed(), 400, 204);
    http_cases::assert_all(&http_cases::run_http2(&table, extractor_app).await);
}

#[tokio::test]
async fn the_middleware_answers_random_requests_as_the_spec_says() {
    let table = random_requests::table(random_requests::seed(), 400, 204);
    http_cases::assert_all(&http_cases::run(&table, layer_app).await);
}

#[tokio::test]
async fn a_redelivered_callback_is_answered_but_handled_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let addr = background_app(vec![vectors::secret("A")], runs.clone()).await;
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 202);
    assert_eq!(http_cases::send(addr, &case).await, 200);
    assert_eq!(http_cases::wait_for_count(&runs, 1).await, 1);
    // Another interaction of the same agent is another callback.
    assert_eq!(
        http_cases::send(
            addr,
            &http_cases::signed(vectors::seed_body("activated"), 202)
        )
        .await,
        202
    );
    assert_eq!(http_cases::wait_for_count(&runs, 2).await, 2);
}

/// Deliveries of one callback that arrive together: one is answered 202 and run, the others are
/// duplicates, answered 200 and not run.
#[tokio::test]
async fn simultaneous_deliveries_of_one_callback_run_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let addr = background_app(vec![vectors::secret("A")], runs.clone()).await;
    http_cases::assert_together_runs_once(addr, &runs).await;
}

/// A callback whose handler failed the first time (as `fail` does) runs again when redelivered,
/// and only until it succeeds.
async fn assert_redelivery_runs_after(fail: fn() -> Result<(), &'static str>) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let handler = move |_verified: VerifiedNotification| {
        let attempts = counter.clone();
        async move {
            match attempts.fetch_add(1, Ordering::SeqCst) {
                0 => fail(),
                _ => Ok(()),
            }
        }
    };
    assert_runs_again_until_it_succeeds(handler, &attempts).await;
}

/// Delivers one callback to `handler` (which counts its `attempts` and fails the first), then
/// again until it is admitted and runs, then once more: a duplicate by then.
async fn assert_runs_again_until_it_succeeds<H, Fut>(handler: H, attempts: &AtomicUsize)
where
    H: Fn(VerifiedNotification) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutcome,
{
    let app = any_path(post(Background::new(handler)))
        .with_state(Verifier::new([vectors::secret("A")]).unwrap());
    let addr = serve(app).await;
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 202);
    assert_eq!(http_cases::wait_for_count(attempts, 1).await, 1);
    // The release happens after the failure is logged: the redelivery may need a moment.
    assert_eq!(
        http_cases::send_until(addr, &case, 202).await,
        202,
        "the redelivery was admitted"
    );
    assert_eq!(http_cases::wait_for_count(attempts, 2).await, 2);
    assert_eq!(
        http_cases::send(addr, &case).await,
        200,
        "now it succeeded, a third is a duplicate"
    );
}

#[tokio::test]
async fn a_failed_handler_lets_the_redelivery_run_again() {
    assert_redelivery_runs_after(|| Err("the database was down")).await;
}

#[tokio::test]
async fn a_panicking_handler_lets_the_redelivery_run_again() {
    assert_redelivery_runs_after(|| panic!("a bug in the handler")).await;
}

#[tokio::test]
async fn a_handler_that_panics_making_its_future_lets_the_redelivery_run_again() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    // A closure whose body panics before it returns a future: outside any `async` block.
    let handler = move |_verified: VerifiedNotification| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("a bug before the handler's future exists");
        }
        std::future::ready(())
    };
    assert_runs_again_until_it_succeeds(handler, &attempts).await;
}

/// A shared duplicate guard whose store cannot be reached, as Redis sometimes cannot.
#[derive(Debug)]
struct Unreachable;

impl DuplicateGuard for Unreachable {
    fn claim<'a>(&'a self, _: &'a str) -> GuardFuture<'a, Result<bool, GuardError>> {
        Box::pin(async { Err(GuardError::new("connection refused")) })
    }

    fn release<'a>(&'a self, _: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
        Box::pin(async { Err(GuardError::new("connection refused")) })
    }
}

#[tokio::test]
async fn a_guard_that_cannot_say_gets_503_so_cronofy_delivers_again() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .deduplicate_with(Unreachable);
    let addr = serve(
        any_path(post(background.clone()))
            .with_state(Verifier::new([vectors::secret("A")]).unwrap()),
    )
    .await;
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 503);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler was not run");
}

#[tokio::test]
async fn drain_waits_for_the_handlers_in_flight() {
    let (release, released) = tokio::sync::watch::channel(false);
    let finished = Arc::new(AtomicUsize::new(0));
    let counter = finished.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        let (mut released, finished) = (released.clone(), counter.clone());
        async move {
            let _ = released.wait_for(|&go| go).await;
            finished.fetch_add(1, Ordering::SeqCst);
        }
    });
    let app = any_path(post(background.clone()))
        .with_state(Verifier::new([vectors::secret("A")]).unwrap());
    let addr = serve(app).await;
    for which in ["activated", "complete"] {
        let case = http_cases::signed(vectors::seed_body(which), 202);
        assert_eq!(http_cases::send(addr, &case).await, 202);
    }
    assert_eq!(background.in_flight(), 2, "answered, still running");
    let debug = format!("{background:?}");
    assert!(debug.contains("in_flight: 2"), "{debug}");

    let drain = tokio::spawn({
        let background = background.clone();
        async move { background.drain().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!drain.is_finished(), "drain returned with handlers running");
    release.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), drain)
        .await
        .expect("drain returns once the handlers finish")
        .unwrap();
    assert_eq!(finished.load(Ordering::SeqCst), 2);
    assert_eq!(background.in_flight(), 0);
}

#[tokio::test]
async fn default_body_limit_is_honoured_below_the_verifier_limit() {
    async fn handler(CronofyCallback(_v): CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let app = any_path(post(handler))
        .layer(DefaultBodyLimit::max(512))
        .with_state(Verifier::new([vectors::secret("A")]).unwrap());
    let addr = serve(app).await;
    let mut case = http_cases::signed(vectors::seed_body("complete"), 202);
    case.framing = Framing::Chunked;
    assert_eq!(http_cases::send(addr, &case).await, 413);
}

/// The middleware, layered on a router of the callback's own and merged into the app as its
/// docs show, verifies that route only: the app's other routes answer as if it were not there.
#[tokio::test]
async fn the_middleware_on_a_merged_router_leaves_the_other_routes_alone() {
    async fn callback(Extension(_verified): Extension<VerifiedNotification>) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let callbacks = Router::new()
        .route("/cronofy", post(callback))
        .layer(CronofyLayer::new(
            Verifier::new([vectors::secret("A")]).unwrap(),
        ));
    let app = Router::new()
        .route("/health", post(|| async { StatusCode::OK }))
        .merge(callbacks);
    let addr = serve(app).await;
    let body = vectors::seed_body("complete");
    let at = |mut case: http_cases::HttpCase, path| {
        case.path = path;
        case
    };
    let unsigned = |path| {
        let mut case = at(http_cases::signed(body.clone(), 0), path);
        case.headers.clear();
        case
    };
    assert_eq!(http_cases::send(addr, &unsigned("/health")).await, 200);
    assert_eq!(http_cases::send(addr, &unsigned("/cronofy")).await, 401);
    let signed = at(http_cases::signed(body.clone(), 204), "/cronofy");
    assert_eq!(http_cases::send(addr, &signed).await, 204);
}

#[tokio::test]
async fn the_verifier_limit_can_be_raised() {
    async fn handler(CronofyCallback(_v): CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let verifier = Verifier::new([vectors::secret("A")])
        .unwrap()
        .with_body_limit(1 << 20);
    let addr = serve(any_path(post(handler)).with_state(verifier)).await;
    let mut body = br#"{"notification":{"type":"change"},"padding":""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', 512 * 1024));
    body.extend_from_slice(b"\"}");
    let mut case = http_cases::signed(body, 204);
    case.expected = 204;
    assert_eq!(http_cases::send(addr, &case).await, 204);
}

#[tokio::test]
async fn rejections_say_little_and_never_the_signature() {
    use tower::ServiceExt as _;
    async fn handler(CronofyCallback(_v): CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let secret = vectors::secret("A");
    let app = any_path(post(handler)).with_state(Verifier::new([&secret]).unwrap());
    let body = vectors::seed_body("complete");
    let expected = Signer::new([&secret]).unwrap().sign(&body);
    let request = axum::http::Request::post("/")
        .header(
            "Cronofy-HMAC-SHA256",
            "aH8n0UhcaRXMxTEaps6Zu5aZYBVtaDkuFC7BvpNC0cX=",
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let text = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&text);
    assert_eq!(text, "missing or invalid Cronofy-HMAC-SHA256 signature");
    assert!(!text.contains(&expected) && !text.contains(&secret));
}

/// With the body limit lifted (`usize::MAX`, and axum's own limit off), a request that declares
/// an absurd length must not make the extractor reserve that much memory before reading: the
/// allocation would abort the whole process, a denial of service in one request.
#[tokio::test]
async fn a_huge_declared_length_reserves_no_memory_up_front() {
    async fn handler(CronofyCallback(_verified): CronofyCallback) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let verifier = Verifier::new([vectors::secret("A")])
        .unwrap()
        .with_body_limit(usize::MAX);
    let app = any_path(post(handler))
        .layer(DefaultBodyLimit::disable())
        .with_state(verifier);
    let addr = serve(app).await;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000000000000\r\n\
          Cronofy-HMAC-SHA256: AAAA\r\n\r\n{\"notification\":",
    )
    .unwrap();
    // Time for the extractor to start on the request, then the client goes away mid-body.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(stream);

    let case = http_cases::signed(vectors::seed_body("complete"), 204);
    assert_eq!(http_cases::send(addr, &case).await, 204, "still serving");
}

/// A shared store slow to answer a new claim, which it makes at once, as a remote store commits
/// it before its answer arrives.
#[derive(Debug, Default)]
struct SlowStore {
    claimed: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl DuplicateGuard for SlowStore {
    fn claim<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<bool, GuardError>> {
        let first = self.claimed.lock().unwrap().insert(key.to_owned());
        Box::pin(async move {
            if first {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            Ok(first)
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
        self.claimed.lock().unwrap().remove(key);
        Box::pin(async { Ok(()) })
    }
}

/// A sender that hangs up while the shared store answers drops the request's handler. The
/// store has the claim by then, so every redelivery is a duplicate: the handler must run all the
/// same, or the callback is lost.
#[tokio::test]
async fn a_callback_claimed_while_its_sender_hangs_up_still_runs() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .deduplicate_with(SlowStore::default());
    let addr = serve(
        any_path(post(background.clone()))
            .with_state(Verifier::new([vectors::secret("A")]).unwrap()),
    )
    .await;
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    http_cases::send_and_hang_up(addr, &case, std::time::Duration::from_millis(100)).await;
    assert_eq!(
        http_cases::send(addr, &case).await,
        200,
        "the redelivery is a duplicate"
    );
    assert_eq!(
        http_cases::wait_for_count(&runs, 1).await,
        1,
        "and the first one ran"
    );
}

/// A shared store slower than the admission timeout: the callback is answered 503 when the
/// timeout passes, not when the store answers; the store's late claim still runs it, and the
/// redelivery that the 503 brings is then a duplicate.
#[tokio::test]
async fn a_guard_slower_than_the_admission_timeout_gets_503_and_the_callback_still_runs_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .deduplicate_with(SlowStore::default())
    .admission_timeout(std::time::Duration::from_millis(50));
    let addr = serve(
        any_path(post(background)).with_state(Verifier::new([vectors::secret("A")]).unwrap()),
    )
    .await;
    http_cases::assert_late_claim_runs_once(addr, &runs).await;
}

#[tokio::test]
async fn an_unbounded_admission_timeout_waits_for_the_guard() {
    let background = Background::new(|_verified: VerifiedNotification| async {})
        .deduplicate_with(SlowStore::default())
        .admission_timeout(std::time::Duration::MAX);
    let addr = serve(
        any_path(post(background)).with_state(Verifier::new([vectors::secret("A")]).unwrap()),
    )
    .await;
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 202);
}
