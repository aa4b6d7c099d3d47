//! Status codes, headers, redirects and retry timing, with wiremock.

mod common;

use std::time::Duration;

use common::{API_KEY, Events, builder, callback};
use cronofy_notify_resources::{BuildError, DownloadError, Downloader, ProgressEvent, RetryPolicy};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that answers GETs with `first`, one each in turn, then with `then` for good.
async fn answer_in_turn(
    first: impl IntoIterator<Item = ResponseTemplate>,
    then: ResponseTemplate,
) -> MockServer {
    let server = MockServer::start().await;
    for answer in first {
        Mock::given(method("GET"))
            .respond_with(answer)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(then)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

fn body_for(urls: &[(&str, &str, String)]) -> Vec<u8> {
    let resources: Vec<_> = urls
        .iter()
        .map(|(category, kind, url)| serde_json::json!({"category": category, "type": kind, "url": url}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "notification": {"type": "event_subscription", "interactions": [{"type": "meeting_agent_complete"}]},
        "meeting_agent": {"sub": "agt_1", "resources": resources}
    }))
    .unwrap()
}

#[tokio::test]
async fn the_request_carries_the_bearer_key_and_asks_for_identity_encoding() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(header("accept-encoding", "identity"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("transcript", "cronofy", format!("{}/t", server.uri()))]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
}

#[tokio::test]
async fn client_errors_fail_at_once_with_a_clear_error() {
    for status in [400u16, 401, 403, 404, 410] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let root = tempfile::tempdir().unwrap();
        let body = body_for(&[(
            "audio",
            "voice",
            format!("{}/a?sig=secret-query", server.uri()),
        )]);
        let report = common::download(root.path(), &body).await;
        let error = report.resources[0].error.clone().expect("a failure");
        assert_eq!(error.status(), Some(status));
        assert_eq!(report.resources[0].attempts, 1, "{status} is not retried");
        assert!(
            !error.to_string().contains("secret-query"),
            "queries stay out of errors: {error}"
        );
    }
}

#[tokio::test]
async fn transient_statuses_are_retried_until_success() {
    let server = answer_in_turn(
        [500, 502, 503, 504, 408, 429].map(ResponseTemplate::new),
        ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("transcript", "cronofy", format!("{}/t", server.uri()))]);
    let report = builder(root.path())
        .retry(common::quick_retries().max_attempts_without_progress(10))
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources[0].attempts, 7);
}

/// Asked for `identity`, an object store may still send what it holds gzip-encoded. The bytes are
/// kept as served (a resume's ranges count them), and the report and manifest say how they are
/// encoded; an `identity` answer records nothing.
#[tokio::test]
async fn a_body_encoded_anyway_is_stored_as_served_and_says_so() {
    let encoded = b"\x1f\x8b\x08\x00 pretend this is gzip".to_vec();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(encoded.clone(), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/a"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "identity")
                .set_body_raw("plain", "audio/mpeg"),
        )
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[
        ("transcript", "cronofy", format!("{}/t", server.uri())),
        ("audio", "voice", format!("{}/a", server.uri())),
    ]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    let [transcript, audio] = &report.resources[..] else {
        panic!("{report:?}")
    };
    assert_eq!(transcript.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(audio.content_encoding, None);
    let stored = std::fs::read(root.path().join("agt_1/transcript-cronofy.json")).unwrap();
    assert_eq!(stored, encoded, "stored byte for byte as served");
    let manifest = std::fs::read_to_string(root.path().join("agt_1/manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    // Entries are recorded as downloads end, in whichever order that is.
    let entry = |category: &str| {
        manifest["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["category"] == category)
            .cloned()
            .unwrap_or_else(|| panic!("no {category} in {manifest}"))
    };
    assert_eq!(entry("transcript")["content_encoding"], "gzip");
    assert!(entry("audio").get("content_encoding").is_none());
}

/// A 202 ("accepted, not ready yet") or a 204 carries no recording: it must not be stored as
/// one. Both are waited out like a 503, and only a real body lands.
#[tokio::test]
async fn a_202_or_204_is_no_recording_and_is_tried_again() {
    let server = answer_in_turn(
        [202, 204].map(|status| {
            ResponseTemplate::new(status)
                .set_body_raw(r#"{"status":"processing"}"#, "application/json")
        }),
        ResponseTemplate::new(200).set_body_raw("the recording", "audio/mpeg"),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("audio", "voice", format!("{}/a", server.uri()))]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.resources[0].attempts, 3);
    assert_eq!(
        std::fs::read(root.path().join("agt_1/audio-voice.mp3")).unwrap(),
        b"the recording"
    );

    // A resource that never gets past 202 fails with a clear error and leaves nothing.
    let never = answer_in_turn([], ResponseTemplate::new(202)).await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("video", "conference", format!("{}/v", never.uri()))]);
    let report = common::download(root.path(), &body).await;
    let error = report.resources[0].error.as_ref().expect("no recording");
    assert_eq!(error.status(), Some(202), "{error}");
    assert!(error.to_string().contains("not ready"), "{error}");
    assert!(
        common::files_below(root.path())
            .iter()
            .all(|f| !f.ends_with(".mp4"))
    );
}

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
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
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
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    assert!(
        matches!(&report.resources[0].error, Some(DownloadError::DeadlineExceeded { last, .. }) if last.status() == Some(503))
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it did not wait out a hopeless Retry-After"
    );
}

#[tokio::test]
async fn a_redirect_is_followed_without_the_key_even_to_the_same_host() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", "/bucket/object?X-Amz-Signature=abc"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/object"))
        .respond_with(|request: &wiremock::Request| {
            if request.headers.contains_key("authorization") {
                ResponseTemplate::new(400)
            } else {
                ResponseTemplate::new(200).set_body_raw("recording", "audio/mpeg")
            }
        })
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("audio", "voice", format!("{}/api", server.uri()))]);
    let report = common::download(root.path(), &body).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("agt_1/audio-voice.mp3")).unwrap(),
        "recording"
    );
}

#[tokio::test]
async fn a_206_to_a_plain_get_is_taken_when_it_starts_at_zero() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/whole"))
        .respond_with(
            ResponseTemplate::new(206)
                .insert_header("content-range", "bytes 0-4/5")
                .set_body_raw("hello", "text/plain"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/middle"))
        .respond_with(
            ResponseTemplate::new(206)
                .insert_header("content-range", "bytes 2-4/5")
                .set_body_raw("llo", "text/plain"),
        )
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[
        ("transcript", "cronofy", format!("{}/whole", server.uri())),
        ("audio", "voice", format!("{}/middle", server.uri())),
    ]);
    let report = builder(root.path())
        .retry(common::quick_retries().max_attempts_without_progress(2))
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    assert!(report.resources[0].is_success(), "{report:?}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("agt_1/transcript-cronofy.txt")).unwrap(),
        "hello"
    );
    assert!(
        matches!(&report.resources[1].error, Some(DownloadError::GaveUp { last, .. }) if matches!(**last, DownloadError::BadContentRange { .. })),
        "a 206 from the middle is never taken for the whole: {report:?}"
    );
}

#[tokio::test]
async fn a_redirect_without_location_or_in_a_loop_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/no-location"))
        .respond_with(ResponseTemplate::new(302))
        .mount(&server)
        .await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[
        ("audio", "voice", format!("{}/no-location", server.uri())),
        ("video", "conference", format!("{}/loop", server.uri())),
    ]);
    let report = common::download(root.path(), &body).await;
    for resource in &report.resources {
        assert!(
            matches!(resource.error, Some(DownloadError::Redirect { .. })),
            "{resource:?}"
        );
    }
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed_and_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("audio", "voice", format!("{}/a", server.uri()))]);
    let report = builder(root.path())
        .allow_http(false)
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    assert!(
        matches!(
            report.resources[0].error,
            Some(DownloadError::InsecureUrl { .. })
        ),
        "{report:?}"
    );
}

/// With `api_hosts` set, a body that names another host (a file from elsewhere, say) does
/// not get the key: refused before any request, whatever the scheme allows.
#[tokio::test]
async fn the_key_goes_only_to_the_api_hosts_allowed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("x", "audio/mpeg"))
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("audio", "voice", format!("{}/a", server.uri()))]);
    let report = builder(root.path())
        .api_hosts(["cronofy.com"])
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    let error = report.resources[0].error.as_ref().expect("refused");
    assert!(
        matches!(error, DownloadError::UntrustedHost { host, .. } if host == "127.0.0.1"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("refusing to send the API key to 127.0.0.1"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());

    // Allowed, the same body downloads.
    let report = builder(root.path())
        .api_hosts(["cronofy.com", "127.0.0.1"])
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
}

#[tokio::test]
async fn urls_that_are_not_http_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[
        ("audio", "voice", "ftp://127.0.0.1/a".to_owned()),
        ("video", "conference", "not a url".to_owned()),
    ]);
    let report = common::download(root.path(), &body).await;
    for resource in &report.resources {
        assert!(
            matches!(resource.error, Some(DownloadError::InvalidUrl { .. })),
            "{resource:?}"
        );
    }
}

#[tokio::test]
async fn hosts_that_are_not_host_names_fail_at_once() {
    // As in Cronofy's documented examples ("https://..."): no retry can resolve these.
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[
        ("transcript", "cronofy", "https://.../t".to_owned()),
        ("audio", "voice", "https://-audio.example/a".to_owned()),
        (
            "video",
            "conference",
            format!("https://{}.example/v", "x".repeat(64)),
        ),
    ]);
    let started = std::time::Instant::now();
    let report = common::download(root.path(), &body).await;
    for resource in &report.resources {
        assert!(
            matches!(&resource.error, Some(DownloadError::InvalidUrl { reason, .. }) if reason.contains("not a host name")),
            "{resource:?}"
        );
        assert_eq!(
            resource.attempts, 0,
            "refused before any request: {resource:?}"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_callback_without_an_agent_sub_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let body =
        br#"{"notification":{"type":"event_subscription"},"meeting_agent":{"resources":[]}}"#;
    let error = builder(root.path())
        .build()
        .unwrap()
        .download(&callback(body))
        .await
        .unwrap_err();
    assert!(matches!(error, DownloadError::NoAgentSub));
}

#[test]
fn a_blank_or_unsendable_api_key_or_zero_concurrency_is_refused_at_build_time() {
    assert!(matches!(
        Downloader::builder("  ").build(),
        Err(BuildError::EmptyApiKey)
    ));
    assert!(matches!(
        Downloader::builder("k").concurrency(0).build(),
        Err(BuildError::ZeroConcurrency)
    ));
    // A key read whole from a file keeps its line break: refused before any request, by a
    // message that does not show it.
    let error = Downloader::builder("CRN_secret_from_file\n")
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::InvalidApiKey), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("CRN_secret"));
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
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
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
        .build()
        .unwrap()
        .download(&callback(&body))
        .await
        .unwrap();
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
