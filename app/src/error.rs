//! Errors that server functions return to the page and to the sign-in routes.

use serde::{Deserialize, Serialize};
use server_fn_error::*;

mod server_fn_error {
    pub use leptos::server_fn::codec::PostcardEncoding;
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

/// What went wrong, in words fit for the person signing in. Internal details (database
/// messages, provider bodies) are logged, never carried here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The person said no at the provider.
    #[error("Sign-in cancelled.")]
    Cancelled,
    /// The sign-in could not be completed; `reason` is short and safe to show.
    #[error("Authentication failed: {reason}")]
    SignInFailed { kind: FailureKind, reason: String },
    #[error("Unknown sign-in provider.")]
    UnknownProvider,
    /// An account action without a signed-in session.
    #[error("Please sign in first.")]
    NotSignedIn,
    /// A cross-site request to a state-changing endpoint.
    #[error("This request came from another site and was refused.")]
    Forbidden,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The database is down or overloaded: worth a retry in a moment.
    #[error("The service is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    #[error("{0}")]
    ServerFn(ServerFnErrorErr),
}

/// Why a sign-in failed, which decides its HTTP status (see [`AppError::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The request, or the answer the browser brought back from the provider, is
    /// wrong or stale: starting again may work.
    BadRequest,
    /// The provider failed, could not be reached in time (one page for every transport
    /// failure, see `oauth2_flow::transport_failure`) or answered something unusable.
    ProviderFailed,
    /// The sign-in worked at the provider but cannot join or make an account here (the
    /// identity is another account's, or its verified address is): nothing was changed.
    Conflict,
}

impl AppError {
    /// A 400: see [`FailureKind::BadRequest`].
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::failed(FailureKind::BadRequest, reason)
    }

    /// A 409: see [`FailureKind::Conflict`].
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::failed(FailureKind::Conflict, reason)
    }

    /// A 502: see [`FailureKind::ProviderFailed`].
    pub fn provider_failed(reason: impl Into<String>) -> Self {
        Self::failed(FailureKind::ProviderFailed, reason)
    }

    fn failed(kind: FailureKind, reason: impl Into<String>) -> Self {
        AppError::SignInFailed {
            kind,
            reason: reason.into(),
        }
    }

    /// The HTTP status a page showing this error is served with: the only place
    /// errors become numbers.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Cancelled => 400,
            AppError::SignInFailed { kind, .. } => match kind {
                FailureKind::BadRequest => 400,
                FailureKind::ProviderFailed => 502,
                FailureKind::Conflict => 409,
            },
            AppError::UnknownProvider => 404,
            AppError::NotSignedIn => 401,
            AppError::Forbidden => 403,
            AppError::Internal => 500,
            AppError::Unavailable => 503,
            AppError::ServerFn(_) => 400,
        }
    }

    /// The message shown on the page.
    pub fn to_flash(&self) -> crate::models::Flash {
        use crate::models::{Flash, FlashKind};
        match self {
            AppError::Cancelled => Flash {
                kind: FlashKind::Info,
                title: "Sign-in cancelled.".into(),
                detail: None,
            },
            AppError::SignInFailed {
                kind: FailureKind::Conflict,
                reason,
            } => Flash {
                kind: FlashKind::Error,
                title: "Nothing was changed.".into(),
                detail: Some(reason.clone()),
            },
            AppError::SignInFailed { reason, .. } => Flash {
                kind: FlashKind::Error,
                title: "Authentication failed.".into(),
                detail: Some(reason.clone()),
            },
            AppError::ServerFn(_) => Flash {
                kind: FlashKind::Error,
                title: "Authentication failed.".into(),
                detail: Some("The request was malformed.".into()),
            },
            other => Flash {
                kind: FlashKind::Error,
                title: other.to_string(),
                detail: None,
            },
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// [`AppError::status`] as an HTTP status (every status we set is a valid one).
    pub fn http_status(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A database error as the person sees it: 503 while the database is unreachable,
    /// otherwise a plain internal error. Log the error itself before calling this.
    pub fn from_db(err: &sea_orm::DbErr) -> Self {
        if crate::backend::db::is_unavailable(err) {
            crate::backend::metrics::database_unavailable();
            AppError::Unavailable
        } else {
            AppError::Internal
        }
    }

    /// A fixed word for the kind of failure, for metrics (never the message, which may name
    /// a provider's answer).
    pub fn label(&self) -> &'static str {
        match self {
            AppError::Cancelled => "cancelled",
            AppError::SignInFailed { kind, .. } => match kind {
                FailureKind::BadRequest => "bad_request",
                FailureKind::ProviderFailed => "provider_failed",
                FailureKind::Conflict => "conflict",
            },
            AppError::UnknownProvider => "unknown_provider",
            AppError::NotSignedIn => "not_signed_in",
            AppError::Forbidden => "forbidden",
            AppError::Internal | AppError::ServerFn(_) => "internal",
            AppError::Unavailable => "unavailable",
        }
    }

    /// Logs a database error as `what` went wrong, and gives [`AppError::from_db`]'s
    /// answer: for `map_err` on a database call.
    pub fn db_failure(what: &'static str) -> impl Fn(sea_orm::DbErr) -> Self {
        move |err| {
            tracing::error!(error = %err, "{what}");
            Self::from_db(&err)
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = PostcardEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_their_status_and_reason() {
        let err = AppError::provider_failed("The provider did not answer properly.");
        assert_eq!(err.status(), 502);
        assert_eq!(AppError::bad_request("x").status(), 400);
        let flash = err.to_flash();
        assert_eq!(flash.title, "Authentication failed.");
        assert_eq!(
            flash.detail.as_deref(),
            Some("The provider did not answer properly.")
        );
        assert_eq!(AppError::Cancelled.to_flash().title, "Sign-in cancelled.");
        assert_eq!(AppError::UnknownProvider.status(), 404);
    }

    #[test]
    fn failures_survive_the_trip_to_the_browser() {
        let err = AppError::provider_failed("Could not reach the provider.");
        let json = serde_json::to_string(&err).unwrap();
        let back: AppError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, err);
        assert_eq!(back.status(), 502);
    }
}
