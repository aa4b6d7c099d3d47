//! The extractor, and the request reading it shares with the middleware.

use axum::RequestExt as _;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use cronofy_notify_core::{Error, VerifiedNotification, Verifier};

use crate::CallbackRejection;

/// Extracts a verified Cronofy callback: the typed notification and the raw body.
///
/// The [`Verifier`] comes from the router's state through [`FromRef`]. The raw body is read
/// (never through a JSON extractor, which would re-serialise it), up to the verifier's
/// [body limit](Verifier::with_body_limit) (256 KiB by default) and no further than axum's
/// `DefaultBodyLimit` allows; a declared `Content-Length` over the limit is refused before a
/// byte is read. The `Cronofy-HMAC-SHA256` header is matched case-insensitively; sent twice, its
/// values count as one comma-separated list. The content type is not looked at. Failures are
/// [`CallbackRejection`]s: 401, 413 or 400.
///
/// ```no_run
/// use axum::{Router, http::StatusCode, routing::post};
/// use cronofy_notify_axum::{CronofyCallback, Verifier};
///
/// async fn callback(CronofyCallback(verified): CronofyCallback) -> StatusCode {
///     if let Some(callback) = verified.to_event_subscription() {
///         tracing::info!(sub = ?callback.agent_sub(), "genuine callback");
///     }
///     StatusCode::NO_CONTENT
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::new([std::env::var("CRONOFY_CLIENT_SECRET")?])?;
/// let app = Router::new().route("/cronofy", post(callback)).with_state(verifier);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CronofyCallback(pub VerifiedNotification);

impl<S> FromRequest<S> for CronofyCallback
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = CallbackRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        read_verified(request, &verifier)
            .await
            .map(|(_, verified)| Self(verified))
    }
}

/// Reads and verifies a request, giving back its head for the middleware. A rejection is
/// logged here, once, whether it becomes a response or goes to a handler that takes it.
pub(crate) async fn read_verified(
    request: Request,
    verifier: &Verifier,
) -> Result<(axum::http::request::Parts, VerifiedNotification), CallbackRejection> {
    read(request, verifier)
        .await
        .inspect_err(CallbackRejection::log)
}

async fn read(
    request: Request,
    verifier: &Verifier,
) -> Result<(axum::http::request::Parts, VerifiedNotification), CallbackRejection> {
    let limit = verifier.body_limit();
    if declared_length(request.headers()).is_some_and(|length| length > limit as u64) {
        return Err(Error::TooLarge { limit }.into());
    }
    let request = request.with_limited_body();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, limit).await.map_err(|error| {
        if is_length_limit(&error) {
            CallbackRejection::Refused(Error::TooLarge { limit })
        } else {
            CallbackRejection::Unreadable(error.to_string())
        }
    })?;
    let verified = verifier.verify_request(&parts.headers, body)?;
    Ok((parts, verified))
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a body error is a length limit (ours or `DefaultBodyLimit`'s), found in its sources.
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}
