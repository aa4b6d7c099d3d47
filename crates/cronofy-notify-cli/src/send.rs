//! `send`: POST a body signed as Cronofy signs it.

use std::path::PathBuf;
use std::time::Duration;

use cronofy_notify_core::samples::Sample;
use cronofy_notify_core::{SIGNATURE_HEADER, Signer};

use crate::{exit, fail, input};

pub(crate) struct Options {
    pub(crate) url: reqwest::Url,
    pub(crate) secrets: Vec<String>,
    pub(crate) sample: Option<Sample>,
    pub(crate) resource_base: Option<reqwest::Url>,
    pub(crate) sub: String,
    pub(crate) file: Option<PathBuf>,
}

pub(crate) async fn run(options: Options) -> u8 {
    let body = match &options.file {
        Some(path) => input::read(Some(path)),
        None => Ok(options.sample.as_ref().unwrap_or(&Sample::Complete).body(
            &options.sub,
            options.resource_base.as_ref().map(reqwest::Url::as_str),
        )),
    };
    let body = match body {
        Ok(body) => body,
        Err(message) => return fail(exit::USAGE, message),
    };
    let signer = match Signer::new(&options.secrets) {
        Ok(signer) => signer,
        Err(error) => return fail(exit::USAGE, error),
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(client) => client,
        Err(error) => return fail(exit::FAILED, error),
    };
    let response = client
        .post(options.url.clone())
        .header(SIGNATURE_HEADER, signer.sign(&body))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(body)
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status();
            println!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            if status.is_success() {
                exit::OK
            } else {
                exit::FAILED
            }
        }
        Err(error) => fail(
            exit::FAILED,
            format!(
                "could not send to {}: {}",
                options.url,
                causes(&error.without_url())
            ),
        ),
    }
}

/// An error and what caused it, outermost first: reqwest's own message ("error sending
/// request") says little without the refused connection or the timeout beneath it.
fn causes(error: &reqwest::Error) -> String {
    let mut words = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_words = cause.to_string();
        if !words.ends_with(&cause_words) {
            words.push_str(": ");
            words.push_str(&cause_words);
        }
        source = cause.source();
    }
    words
}
