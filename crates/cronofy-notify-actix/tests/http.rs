//! The shared table of requests, over real HTTP on loopback, through the extractor and the
//! background handler; then what only actix-web can get wrong.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{App, HttpResponse, web};
use cronofy_notify_actix::{Background, CronofyCallback};
use cronofy_notify_core::{
    DuplicateGuard, GuardError, GuardFuture, HandlerOutcome, Signer, VerifiedNotification, Verifier,
};
use cronofy_notify_test_support::http_cases::{self, Framing};
use cronofy_notify_test_support::random_requests;
use cronofy_notify_test_support::vectors;

async fn extractor(CronofyCallback(_verified): CronofyCallback) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

async fn extractor_app(secrets: Vec<String>) -> SocketAddr {
    common::serve(Some(Verifier::new(secrets).unwrap()), || {
        web::post().to(extractor)
    })
}

async fn extractor_app_http2(secrets: Vec<String>) -> SocketAddr {
    common::serve_with_http2(Some(Verifier::new(secrets).unwrap()), || {
        web::post().to(extractor)
    })
}

async fn background_app(secrets: Vec<String>, runs: Arc<AtomicUsize>) -> SocketAddr {
    let background = Background::new(move |_verified: VerifiedNotification| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
        }
    });
    common::serve(Some(Verifier::new(secrets).unwrap()), move || {
        web::post().to(background.clone())
    })
}

#[actix_web::test]
async fn the_extractor_answers_the_shared_table() {
    let results = http_cases::run(&http_cases::table(204), extractor_app).await;
    http_cases::assert_all(&results);
    assert!(results.len() > 35, "{} cases", results.len());
}

/// Served over HTTP/2 as well (`listen_auto_h2c`), a body comes in DATA frames, with or without
/// a length, and is read, limited and checked the same.
#[actix_web::test]
async fn the_extractor_answers_the_shared_table_over_http2() {
    let results = http_cases::run_http2(&http_cases::table(204), extractor_app_http2).await;
    http_cases::assert_all(&results);
    assert!(results.len() > 35, "{} cases", results.len());
}

#[actix_web::test]
async fn the_extractor_answers_random_requests_as_the_spec_says() {
    let table = random_requests::table(random_requests::seed(), 400, 204);
    http_cases::assert_all(&http_cases::run(&table, extractor_app).await);
}

#[actix_web::test]
async fn the_extractor_answers_random_requests_over_http2_as_the_spec_says() {
    let table = random_requests::table(random_requests::seed(), 400, 204);
    http_cases::assert_all(&http_cases::run_http2(&table, extractor_app_http2).await);
}

#[actix_web::test]
async fn the_background_handler_answers_the_shared_table() {
    let runs = Arc::new(AtomicUsize::new(0));
    let results = http_cases::run_each(&http_cases::table(202), |secrets| {
        background_app(secrets, runs.clone())
    })
    .await;
    http_cases::assert_all(&results);
}

#[actix_web::test]
async fn a_redelivered_callback_is_answered_but_handled_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let addr = background_app(vec![vectors::secret("A")], runs.clone()).await;
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 202);
    assert_eq!(http_cases::send(addr, &case).await, 200);
    assert_eq!(http_cases::wait_for_count(&runs, 1).await, 1);
    assert_eq!(
        http_cases::send(addr, &http_cases::signed(vectors::seed_body("failed"), 202)).await,
        202
    );
    assert_eq!(http_cases::wait_for_count(&runs, 2).await, 2);
}

/// Deliveries of one callback that arrive together: one is answered 202 and run, the others are
/// duplicates, answered 200 and not run.
#[actix_web::test]
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
    H: Fn(VerifiedNotification) -> Fut + Send + Sync + 'static,
    Fut: Future + 'static,
    Fut::Output: HandlerOutcome,
{
    let background = Background::new(handler);
    let addr = common::serve(
        Some(Verifier::new([vectors::secret("A")]).unwrap()),
        move || web::post().to(background.clone()),
    );
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 202);
    assert_eq!(http_cases::wait_for_count(attempts, 1).await, 1);
    assert_eq!(
        http_cases::send_until(addr, &case, 202).await,
        202,
        "the redelivery was admitted"
    );
    assert_eq!(http_cases::wait_for_count(attempts, 2).await, 2);
    assert_eq!(http_cases::send(addr, &case).await, 200);
}

#[actix_web::test]
async fn a_failed_handler_lets_the_redelivery_run_again() {
    assert_redelivery_runs_after(|| Err("the database was down")).await;
}

#[actix_web::test]
async fn a_panicking_handler_lets_the_redelivery_run_again() {
    assert_redelivery_runs_after(|| panic!("a bug in the handler")).await;
}

#[actix_web::test]
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

#[actix_web::test]
async fn a_guard_that_cannot_say_gets_503_so_cronofy_delivers_again() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .deduplicate_with(Unreachable);
    let addr = common::serve(Some(Verifier::new([vectors::secret("A")]).unwrap()), {
        let background = background.clone();
        move || web::post().to(background.clone())
    });
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 503);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler was not run");
}

#[actix_web::test]
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
    let addr = common::serve(Some(Verifier::new([vectors::secret("A")]).unwrap()), {
        let background = background.clone();
        move || web::post().to(background.clone())
    });
    for which in ["activated", "complete"] {
        let case = http_cases::signed(vectors::seed_body(which), 202);
        assert_eq!(http_cases::send(addr, &case).await, 202);
    }
    assert_eq!(background.in_flight(), 2, "answered, still running");
    let debug = format!("{background:?}");
    assert!(debug.contains("in_flight: 2"), "{debug}");

    let drain = actix_web::rt::spawn({
        let background = background.clone();
        async move { background.drain().await }
    });
    actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!drain.is_finished(), "drain returned with handlers running");
    release.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), drain)
        .await
        .expect("drain returns once the handlers finish")
        .unwrap();
    assert_eq!(finished.load(Ordering::SeqCst), 2);
    assert_eq!(background.in_flight(), 0);
}

#[actix_web::test]
async fn the_verifier_limit_can_be_raised() {
    async fn handler(CronofyCallback(_v): CronofyCallback) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
    let verifier = Verifier::new([vectors::secret("A")])
        .unwrap()
        .with_body_limit(1 << 20);
    let addr = common::serve(Some(verifier), || web::post().to(handler));
    let mut body = br#"{"notification":{"type":"change"},"padding":""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', 512 * 1024));
    body.extend_from_slice(b"\"}");
    let mut case = http_cases::signed(body, 204);
    case.framing = Framing::Chunked;
    assert_eq!(http_cases::send(addr, &case).await, 204);
}

#[actix_web::test]
async fn a_missing_verifier_is_a_server_error_not_an_open_door() {
    async fn handler(CronofyCallback(_v): CronofyCallback) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
    let addr = common::serve(None, || web::post().to(handler));
    assert_eq!(
        http_cases::send(
            addr,
            &http_cases::signed(vectors::seed_body("complete"), 202)
        )
        .await,
        500
    );
}

#[actix_web::test]
async fn rejections_say_little_and_never_the_signature() {
    use actix_web::test;
    async fn handler(CronofyCallback(_v): CronofyCallback) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
    let secret = vectors::secret("A");
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(Verifier::new([&secret]).unwrap()))
            .route("/", web::post().to(handler)),
    )
    .await;
    let body = vectors::seed_body("complete");
    let expected = Signer::new([&secret]).unwrap().sign(&body);
    let request = test::TestRequest::post()
        .uri("/")
        .insert_header((
            "Cronofy-HMAC-SHA256",
            "aH8n0UhcaRXMxTEaps6Zu5aZYBVtaDkuFC7BvpNC0cX=",
        ))
        .set_payload(body)
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 401);
    let text = test::read_body(response).await;
    let text = String::from_utf8_lossy(&text);
    assert_eq!(text, "missing or invalid Cronofy-HMAC-SHA256 signature");
    assert!(!text.contains(&expected) && !text.contains(&secret));
}

/// With the body limit lifted (`usize::MAX`), a request that declares an absurd length must not
/// make the extractor reserve that much memory before reading: the allocation would abort the
/// whole process, a denial of service in one request.
#[actix_web::test]
async fn a_huge_declared_length_reserves_no_memory_up_front() {
    async fn handler(CronofyCallback(_verified): CronofyCallback) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
    let verifier = Verifier::new([vectors::secret("A")])
        .unwrap()
        .with_body_limit(usize::MAX);
    let addr = common::serve(Some(verifier), || web::post().to(handler));
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
                actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            Ok(first)
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> GuardFuture<'a, Result<(), GuardError>> {
        self.claimed.lock().unwrap().remove(key);
        Box::pin(async { Ok(()) })
    }
}

/// A handler of one's own that gives up on `accept` (a timeout around it, say) while the shared
/// store answers drops it mid-admission. The store has the claim by then, so every redelivery is
/// a duplicate: the callback must run all the same, or it is lost. (actix-web itself finishes a
/// handler whose sender hung up; the timeout is what drops it here.)
#[actix_web::test]
async fn a_callback_claimed_while_its_answer_is_given_up_on_still_runs() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .deduplicate_with(SlowStore::default());
    let addr = common::serve(
        Some(Verifier::new([vectors::secret("A")]).unwrap()),
        move || {
            let background = background.clone();
            web::post().to(move |CronofyCallback(verified): CronofyCallback| {
                let background = background.clone();
                async move {
                    let answer = background.accept(verified);
                    actix_web::rt::time::timeout(std::time::Duration::from_millis(100), answer)
                        .await
                        .unwrap_or_else(|_| HttpResponse::GatewayTimeout().finish())
                }
            })
        },
    );
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 504, "given up on");
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
#[actix_web::test]
async fn a_guard_slower_than_the_admission_timeout_gets_503_and_the_callback_still_runs_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let background = Background::new(move |_verified: VerifiedNotification| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .deduplicate_with(SlowStore::default())
    .admission_timeout(std::time::Duration::from_millis(50));
    let addr = common::serve(
        Some(Verifier::new([vectors::secret("A")]).unwrap()),
        move || web::post().to(background.clone()),
    );
    http_cases::assert_late_claim_runs_once(addr, &runs).await;
}

#[actix_web::test]
async fn an_unbounded_admission_timeout_waits_for_the_guard() {
    let background = Background::new(|_verified: VerifiedNotification| async {})
        .deduplicate_with(SlowStore::default())
        .admission_timeout(std::time::Duration::MAX);
    let addr = common::serve(
        Some(Verifier::new([vectors::secret("A")]).unwrap()),
        move || web::post().to(background.clone()),
    );
    let case = http_cases::signed(vectors::seed_body("complete"), 202);
    assert_eq!(http_cases::send(addr, &case).await, 202);
}
