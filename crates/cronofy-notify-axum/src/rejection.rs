//! Why a request was not accepted as a Cronofy callback.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cronofy_notify_core::Error;

/// The rejection of [`CronofyCallback`](crate::CronofyCallback) and [`CronofyLayer`](crate::CronofyLayer).
///
/// The response carries a status and a short, generic text; the detailed reason is logged
/// through `tracing` at DEBUG (target `cronofy_notify_axum`) and is available here for a
/// handler that wants it.
///
/// | what | status |
/// |---|---|
/// | signature missing, malformed or wrong | 401 |
/// | body over the verifier's limit (or `DefaultBodyLimit`) | 413 |
/// | genuine, but not a Cronofy notification | 400 |
/// | body could not be read | 400 |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackRejection {
    /// Refused by the verifier.
    #[error(transparent)]
    Refused(#[from] Error),
    /// The body could not be read (the client went away, or sent a malformed chunked body).
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
}

impl CallbackRejection {
    /// The status answered.
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::Refused(error) => error.http_status(),
            Self::Unreadable(_) => 400,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// The text answered: short, and the same for every cause with one status.
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::Refused(error) => error.public_message(),
            Self::Unreadable(_) => "could not read the request body",
        }
    }

    pub(crate) fn log(&self) {
        tracing::debug!(target: "cronofy_notify_axum", status = self.status().as_u16(), reason = %self, "callback rejected");
    }
}

impl IntoResponse for CallbackRejection {
    fn into_response(self) -> Response {
        (self.status(), self.body_text()).into_response()
    }
}
