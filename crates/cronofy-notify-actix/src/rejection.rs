//! Why a request was not accepted as a Cronofy callback.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use cronofy_notify_core::Error;

/// The error of [`CronofyCallback`](crate::CronofyCallback): a status and a short, generic body;
/// the detailed reason is logged through `tracing` at DEBUG (target `cronofy_notify_actix`).
///
/// | what | status |
/// |---|---|
/// | signature missing, malformed or wrong | 401 |
/// | body over the verifier's limit | 413 |
/// | genuine, but not a Cronofy notification | 400 |
/// | body could not be read | 400 |
/// | no `Verifier` in `app_data` (a bug in the app) | 500 |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackRejection {
    /// Refused by the verifier.
    #[error(transparent)]
    Refused(#[from] Error),
    /// The body could not be read.
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
    /// The app has no `Verifier` (nor `web::Data<Verifier>`) in `app_data`.
    #[error(
        "no cronofy_notify_core::Verifier in app_data: add .app_data(web::Data::new(verifier))"
    )]
    NotConfigured,
}

impl CallbackRejection {
    /// The text answered: short, and the same for every cause with one status.
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::Refused(error) => error.public_message(),
            Self::Unreadable(_) => "could not read the request body",
            Self::NotConfigured => "callback receiver not configured",
        }
    }

    pub(crate) fn log(&self) {
        match self {
            Self::NotConfigured => {
                tracing::error!(target: "cronofy_notify_actix", reason = %self, "callback rejected")
            }
            _ => {
                tracing::debug!(target: "cronofy_notify_actix", status = self.status_code().as_u16(), reason = %self, "callback rejected")
            }
        }
    }
}

impl ResponseError for CallbackRejection {
    fn status_code(&self) -> StatusCode {
        let code = match self {
            Self::Refused(error) => error.http_status(),
            Self::Unreadable(_) => 400,
            Self::NotConfigured => 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.body_text())
    }
}
