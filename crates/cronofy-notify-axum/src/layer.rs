//! Verification as tower middleware.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use cronofy_notify_core::Verifier;
use tower_layer::Layer;
use tower_service::Service;

use crate::extract::read_verified;

/// Middleware that verifies every request as a Cronofy callback and puts the
/// [`VerifiedNotification`](cronofy_notify_core::VerifiedNotification) into the request's
/// extensions; a request that is not genuine gets its [`CallbackRejection`](crate::CallbackRejection)
/// and never reaches the inner service. The inner service still receives the raw body.
///
/// It refuses every request that is not a signed callback, so wrap only the callback's routes:
/// a router of their own, merged into the app, or `MethodRouter::layer` on the one route, not
/// the `Router` that also serves a health check or anything else others call.
///
/// ```no_run
/// use axum::{Extension, Router, routing::post};
/// use cronofy_notify_axum::{CronofyLayer, VerifiedNotification, Verifier};
///
/// async fn callback(Extension(verified): Extension<VerifiedNotification>) -> &'static str {
///     "ok"
/// }
///
/// # fn app(verifier: Verifier) -> Router {
/// let callbacks = Router::new()
///     .route("/cronofy", post(callback))
///     .layer(CronofyLayer::new(verifier));
/// Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" })) // not verified
///     .merge(callbacks)
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CronofyLayer {
    verifier: Verifier,
}

impl CronofyLayer {
    /// Verifies with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for CronofyLayer {
    type Service = CronofyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CronofyService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`CronofyLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct CronofyService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S> Service<Request> for CronofyService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match read_verified(request, &verifier).await {
                Ok((parts, verified)) => {
                    let body = Body::from(verified.body().clone());
                    let mut request = Request::from_parts(parts, body);
                    request.extensions_mut().insert(verified);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
