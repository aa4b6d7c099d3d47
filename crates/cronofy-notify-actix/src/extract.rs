//! The extractor.

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use bytes::BytesMut;
use cronofy_notify_core::{
    Error, SIGNATURE_HEADER, VerifiedNotification, Verifier, combine_header_values,
};
use futures::StreamExt as _;
use futures::future::LocalBoxFuture;

use crate::CallbackRejection;

/// Extracts a verified Cronofy callback: the typed notification and the raw body.
///
/// The [`Verifier`] comes from `app_data` (as `web::Data<Verifier>` or a plain `Verifier`). The
/// raw body is read from the payload stream up to the verifier's
/// [body limit](Verifier::with_body_limit) (256 KiB by default); a declared `Content-Length` over
/// it is refused before a byte is read, and a chunked body is cut off at it. The
/// `Cronofy-HMAC-SHA256` header is matched case-insensitively; sent twice, its values count as one
/// comma-separated list. The content type is not looked at. Failures are [`CallbackRejection`]s:
/// 401, 413 or 400.
///
/// ```no_run
/// use actix_web::{App, HttpResponse, HttpServer, web};
/// use cronofy_notify_actix::{CronofyCallback, Verifier};
///
/// async fn callback(CronofyCallback(verified): CronofyCallback) -> HttpResponse {
///     tracing::info!(kind = %verified.notification_type(), "genuine callback");
///     HttpResponse::NoContent().finish()
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = web::Data::new(Verifier::new([std::env::var("CRONOFY_CLIENT_SECRET")?])?);
/// HttpServer::new(move || {
///     App::new()
///         .app_data(verifier.clone())
///         .route("/cronofy", web::post().to(callback))
/// })
/// .bind("127.0.0.1:3000")?
/// .run()
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CronofyCallback(pub VerifiedNotification);

impl FromRequest for CronofyCallback {
    type Error = CallbackRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let verifier = request
            .app_data::<web::Data<Verifier>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| request.app_data::<Verifier>().cloned());
        let header = signature_of(request.headers());
        let declared = declared_length(request.headers());
        let payload = payload.take();
        Box::pin(async move {
            let result = async {
                let verifier = verifier.ok_or(CallbackRejection::NotConfigured)?;
                let body = read_limited(payload, declared, verifier.body_limit()).await?;
                Ok(Self(verifier.verify_and_parse(&header, body)?))
            }
            .await;
            result.inspect_err(CallbackRejection::log)
        })
    }
}

/// The most memory reserved for a body before its bytes arrive.
const RESERVE_AT_MOST: usize = 64 * 1024;

async fn read_limited(
    mut payload: Payload,
    declared: Option<u64>,
    limit: usize,
) -> Result<bytes::Bytes, CallbackRejection> {
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Error::TooLarge { limit }.into());
    }
    // Room for what was declared, but never more than a callback needs up front: the length is
    // the client's word, and with the limit lifted it could ask for any amount of memory.
    let reserve = declared.map_or(8 * 1024, |length| {
        length.min(RESERVE_AT_MOST as u64) as usize
    });
    let mut body = BytesMut::with_capacity(reserve);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| CallbackRejection::Unreadable(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::TooLarge { limit }.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The signature header's values, as one, owned (the future outlives the request borrow).
fn signature_of(headers: &HeaderMap) -> Vec<u8> {
    combine_header_values(headers.get_all(SIGNATURE_HEADER).map(|v| v.as_bytes())).into_owned()
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
