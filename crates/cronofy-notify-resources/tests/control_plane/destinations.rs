//! Where a download may go: redirects followed without the key, and the URLs and hosts refused.

use cronofy_notify_resources::{DownloadError, Location};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::body_for;
use crate::common::{self, DownloadBody as _, builder, callback};

#[tokio::test]
async fn a_redirect_is_followed_without_the_key_even_to_the_same_host() {
    assert_lands_through(|_| {
        ResponseTemplate::new(302).insert_header("location", "/bucket/object?X-Amz-Signature=abc")
    })
    .await;
}

/// Cronofy's redirect also names the pre-signed URL in its JSON body: without a `Location`
/// (a proxy dropped it), that is the way on, still without the key.
#[tokio::test]
async fn a_redirect_without_location_goes_where_its_body_names() {
    assert_lands_through(|server| {
        let signed = format!("{server}/bucket/object?X-Amz-Signature=abc");
        ResponseTemplate::new(302)
            .set_body_json(serde_json::json!({"resource": {"download_url": signed}}))
    })
    .await;
}

/// A redirect's body is read only while it is small, up to 16 KiB (Cronofy's is a line of
/// JSON): one of exactly that size naming the URL is followed, and one a byte larger is not
/// read, which leaves the redirect nowhere to go.
#[tokio::test]
async fn a_redirect_body_naming_the_url_is_read_up_to_16_kib() {
    const MOST: usize = 16 * 1024;
    assert_lands_through(|server| redirect_body_of(server, MOST)).await;

    let server = MockServer::start().await;
    Mock::given(path("/api"))
        .respond_with(redirect_body_of(&server.uri(), MOST + 1))
        .mount(&server)
        .await;
    Mock::given(path("/bucket/object"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("recording", "audio/mpeg"))
        .expect(0)
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[("audio", "voice", format!("{}/api", server.uri()))]);
    let report = common::download(root.path(), &body).await;
    assert!(
        matches!(
            report.resources[0].error,
            Some(DownloadError::Redirect { .. })
        ),
        "{report:?}"
    );
}

/// A 302 without `Location` whose JSON body, `size` bytes long, names the storage URL.
fn redirect_body_of(server: &str, size: usize) -> ResponseTemplate {
    let json = |padding: &str| {
        serde_json::json!({
            "resource": {"download_url": format!("{server}/bucket/object?X-Amz-Signature=abc")},
            "padding": padding,
        })
        .to_string()
    };
    let body = json(&"x".repeat(size - json("").len()));
    assert_eq!(body.len(), size);
    ResponseTemplate::new(302).set_body_raw(body, "application/json")
}

/// An API at `/api` that answers the keyed request with `redirect` (given the server's base
/// URL), and storage at `/bucket/object` on the same host that refuses a request with a key,
/// as pre-signed storage does: the recording must land all the same, one request to each.
async fn assert_lands_through(redirect: impl FnOnce(&str) -> ResponseTemplate) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(header_exists("authorization"))
        .respond_with(redirect(&server.uri()))
        .expect(1)
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
        .expect(1)
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
async fn a_redirect_without_location_or_in_a_loop_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/no-location"))
        .respond_with(ResponseTemplate::new(302))
        .mount(&server)
        .await;
    Mock::given(path("/body-names-nothing"))
        .respond_with(
            ResponseTemplate::new(302)
                .set_body_json(serde_json::json!({"resource": {"url": "/elsewhere"}})),
        )
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
        (
            "transcript",
            "cronofy",
            format!("{}/body-names-nothing", server.uri()),
        ),
    ]);
    let report = common::download(root.path(), &body).await;
    assert_eq!(report.resources.len(), 3);
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
        .download_body(&body)
        .await;
    assert!(
        matches!(
            report.resources[0].error,
            Some(DownloadError::InsecureUrl { .. })
        ),
        "{report:?}"
    );
}

/// `allow_http_on_loopback` admits plain http on this machine, by address or as `localhost`,
/// the redirect's target included, and nowhere else: a resource or a redirect elsewhere is
/// refused before anything is sent there.
#[tokio::test]
async fn plain_http_on_loopback_only_when_allowed_there() {
    let server = MockServer::start().await;
    let port = server.address().port();
    Mock::given(path("/api"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("http://localhost:{port}/bucket/object")),
        )
        .mount(&server)
        .await;
    Mock::given(path("/away"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://storage.invalid/object"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/bucket/object"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("recording", "audio/mpeg"))
        .expect(1)
        .mount(&server)
        .await;
    let root = tempfile::tempdir().unwrap();
    let body = body_for(&[
        ("audio", "voice", format!("http://127.0.0.1:{port}/api")),
        (
            "video",
            "conference",
            format!("http://127.0.0.1:{port}/away"),
        ),
        (
            "transcript",
            "cronofy",
            "http://cronofy.invalid/t".to_owned(),
        ),
    ]);
    let report = builder(root.path())
        .allow_http(false)
        .allow_http_on_loopback(true)
        .download_body(&body)
        .await;
    let [audio, video, transcript] = &report.resources[..] else {
        panic!("{report:?}");
    };
    assert!(audio.error.is_none(), "{audio:?}");
    let Some(Location::File(stored)) = &audio.location else {
        panic!("{audio:?}");
    };
    assert_eq!(std::fs::read(stored).unwrap(), b"recording");
    for refused in [video, transcript] {
        assert!(
            matches!(refused.error, Some(DownloadError::InsecureUrl { .. })),
            "{refused:?}"
        );
    }
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
        .download_body(&body)
        .await;
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
        .api_hosts(["cronofy.com", " 127.0.0.1 "])
        .download_body(&body)
        .await;
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
    let downloader = builder(root.path()).build().unwrap();
    for agent in [r#"{"resources":[]}"#, r#"{"sub":" ","resources":[]}"#] {
        let body = format!(
            r#"{{"notification":{{"type":"event_subscription"}},"meeting_agent":{agent}}}"#
        );
        let error = downloader
            .download(&callback(body.as_bytes()))
            .await
            .unwrap_err();
        assert!(matches!(error, DownloadError::NoAgentSub), "{agent}");
    }
    assert!(
        common::files_below(root.path()).is_empty(),
        "no folder made"
    );
}
