//! Retry timing, and settings at their limits.

use std::time::Duration;

use cronofy_notify_resources::{BuildError, DownloadError, Downloader, ProgressEvent, RetryPolicy};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{DownloadBody as _, Events, builder, callback};
use crate::{answer_in_turn, body_for};

#[tokio::test]
async fn retry_after_sets_the_wait_before_the_next_attempt() {
    let server = answer_in_turn(
        [ResponseTemplate::new(429).insert_header("retry-after", "1")],
        ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let events = Events::default();
    let body = body_for(&[("transcript", "cronofy", format!("{}/t", server.uri()))]);
    let report = builder(root.path())
        .on_progress(events.handler())
        .download_body(&body)
        .await;
    assert!(report.is_success());
    let delays: Vec<_> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            ProgressEvent::Retrying { delay, .. } => Some(delay),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [Duration::from_secs(1)],
        "the backoff (5 ms) gave way to Retry-After"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("transcript", "cronofy", format!("{}/t", server.uri()))]);
    let started = std::time::Instant::now();
    let report = builder(root.path())
        .retry(RetryPolicy::default().deadline(Duration::from_secs(60)))
        .download_body(&body)
        .await;
    assert!(
        matches!(&report.resources[0].error, Some(DownloadError::DeadlineExceeded { last, .. }) if last.status() == Some(503))
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it did not wait out a hopeless Retry-After"
    );
}

#[test]
fn a_blank_or_unsendable_api_key_zero_concurrency_or_a_zero_timeout_is_refused_at_build_time() {
    assert!(matches!(
        Downloader::builder("  ").build(),
        Err(BuildError::EmptyApiKey)
    ));
    assert!(matches!(
        Downloader::builder("k").concurrency(0).build(),
        Err(BuildError::ZeroConcurrency)
    ));
    // A zero timeout failed every attempt, eight times over, with "idle: 0ns".
    assert!(matches!(
        Downloader::builder("k")
            .idle_timeout(Duration::ZERO)
            .build(),
        Err(BuildError::ZeroTimeout("idle"))
    ));
    assert!(matches!(
        Downloader::builder("k")
            .connect_timeout(Duration::ZERO)
            .build(),
        Err(BuildError::ZeroTimeout("connect"))
    ));
    // A key read whole from a file keeps its line break: refused before any request, by a
    // message that does not show it.
    let error = Downloader::builder("CRN_secret_from_file\n")
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::InvalidApiKey), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("CRN_secret"));
    // White space around it would go out as part of the key: refused alike. So would a
    // byte-order mark from a file saved on Windows, or a zero-width space from a copy: no
    // bearer token holds a character beyond ASCII.
    for unsendable in [
        " CRN_secret",
        "CRN_secret ",
        "CRN_\u{7f}secret",
        "\u{FEFF}CRN_secret",
        "CRN_\u{200B}secret",
    ] {
        assert!(
            matches!(
                Downloader::builder(unsendable).build(),
                Err(BuildError::InvalidApiKey)
            ),
            "{unsendable:?}"
        );
    }
    // Quotes kept from an env file (`docker run --env-file`) would go out with the key.
    for quoted in ["\"CRN_secret\"", "'CRN_secret'"] {
        let error = Downloader::builder(quoted).build().unwrap_err();
        assert!(matches!(error, BuildError::QuotedApiKey), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("CRN_secret"));
    }
}

/// `Duration::MAX` is how a caller says "no limit": as the deadline, the longest backoff or the
/// longest Retry-After honoured, it must mean that, not a panic on adding it to the clock.
#[tokio::test]
async fn unbounded_retry_settings_mean_no_limit_and_never_panic() {
    let server = answer_in_turn(
        [ResponseTemplate::new(503).insert_header("retry-after", "0")],
        ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("transcript", "cronofy", format!("{}/t", server.uri()))]);
    let report = builder(root.path())
        .retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::MAX)
                .max_retry_after(Duration::MAX)
                .deadline(Duration::MAX),
        )
        .idle_timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .progress_interval(Duration::MAX)
        .download_body(&body)
        .await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources[0].attempts, 2);
}

/// `usize::MAX` is how a caller says "no limit" to the concurrency settings: taken as the
/// largest limit there is, not a panic when the semaphores are made.
#[tokio::test]
async fn unbounded_concurrency_means_no_limit_and_never_panics() {
    let server = answer_in_turn(
        [],
        ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("transcript", "cronofy", format!("{}/t", server.uri()))]);
    let report = builder(root.path())
        .concurrency(usize::MAX)
        .per_host_concurrency(usize::MAX)
        .download_body(&body)
        .await;
    assert!(report.is_success(), "{report:?}");
}

/// Backoff timing, on tokio's paused clock: the connection is refused at once (nothing listens),
/// so every wait is a backoff, and the clock shows their exact sum.
#[tokio::test(start_paused = true)]
async fn backoff_doubles_between_attempts_on_a_paused_clock() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("audio", "voice", format!("http://127.0.0.1:{port}/a"))]);
    let downloader = builder(root.path())
        .idle_timeout(Duration::from_secs(86_400))
        .retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(100))
                .max_backoff(Duration::from_millis(400))
                .max_attempts_without_progress(5)
                .jitter(false),
        )
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let report = downloader.download(&callback(&body)).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        matches!(&report.resources[0].error, Some(DownloadError::GaveUp { attempts: 5, last }) if matches!(**last, DownloadError::Network { .. })),
        "{report:?}"
    );
    // 100 + 200 + 400 + 400 ms between five attempts.
    assert_eq!(elapsed, Duration::from_millis(1100));
}

/// An API host that no resource's host could match was kept as given, and every resource then
/// refused as untrusted, which named the very host the user thought they had allowed: a URL, a
/// port and a wildcard are now refused when the downloader is built, saying what to give.
#[test]
fn an_api_host_that_is_not_a_host_is_refused_at_build_time() {
    for given in [
        "https://api.example.com",
        "api.example.com:443",
        "*.example.com",
    ] {
        let error = Downloader::builder("k")
            .api_hosts(["cronofy.com", given])
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, BuildError::InvalidApiHost { host } if host == given),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("give a host name alone"),
            "{error}"
        );
    }
    // Case, dots at either end, blank entries and IPv6 in brackets are all fine.
    Downloader::builder("k")
        .api_hosts(["API.Cronofy.com.", " ", "[::1]"])
        .build()
        .unwrap();
}
