//! Status codes, headers, redirects and retry timing, with wiremock: what each answer means
//! (`answers`), where the API key may go (`destinations`), and retry timing and settings at their
//! limits (`limits`). Here, the helpers they share.

mod answers;
#[path = "../common/mod.rs"]
mod common;
mod destinations;
mod limits;

use wiremock::matchers::method;
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
