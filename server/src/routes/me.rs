//! `GET /api/me`: the signed-in user as JSON, or 401. A browser is known by its session
//! cookie, a script by a personal API token (`Authorization: Bearer <token>`).

use app::backend::api_tokens::{self, Bearer};
use app::backend::{auth_user, state::AppState};
use axum::{
    extract::{FromRequestParts, State},
    response::IntoResponse,
    Json,
};
use http::{header, request::Parts, HeaderValue, StatusCode};
use serde_json::json;
use tower_sessions::Session;

/// The request's `Authorization` header, without copying the others (`HeaderMap` as an
/// extractor clones them all, for every `/api/me`).
pub struct Authorization(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for Authorization {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::AUTHORIZATION).cloned()))
    }
}

pub async fn me(
    State(state): State<AppState>,
    Authorization(authorization): Authorization,
    session: Session,
) -> impl IntoResponse {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let user = match api_tokens::bearer(&state.db, authorization.as_ref()).await {
        Ok(Bearer::Absent) => {
            auth_user::current_user(&state.db.read, &state.config, &session).await
        }
        Ok(Bearer::User(user_id)) => auth_user::find(&state.db.read, &state.config, user_id).await,
        // RFC 6750 §3.1: the token is unknown, revoked, expired or malformed.
        Ok(Bearer::Invalid) => {
            return unauthorized(
                r#"Bearer error="invalid_token", error_description="The token is unknown, revoked or expired""#,
                "invalid token",
            )
        }
        Err(err) => Err(err),
    };
    match user {
        Ok(Some(user)) => (StatusCode::OK, no_store, Json(json!(user))).into_response(),
        // No credentials at all: RFC 6750 §3 says which scheme to use, without an error.
        Ok(None) => unauthorized("Bearer", "not signed in"),
        Err(err) => (
            err.http_status(),
            no_store,
            Json(json!({"error": err.to_string()})),
        )
            .into_response(),
    }
}

fn unauthorized(challenge: &'static str, error: &str) -> axum::response::Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ),
        ],
        Json(json!({ "error": error })),
    )
        .into_response()
}
