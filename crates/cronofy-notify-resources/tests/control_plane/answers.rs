//! What each status and header of an answer means to a download.

use cronofy_notify_resources::DownloadError;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, API_KEY, DownloadBody as _, builder};
use crate::{answer_in_turn, body_for};

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
        .download_body(&body)
        .await;
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
        .download_body(&body)
        .await;
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
