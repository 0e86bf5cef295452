//! `GET /api/me`: the signed-in user as JSON, or 401. A browser is known by its session
//! cookie, a script by a personal API token (`Authorization: Bearer <token>`).

use app::backend::api_tokens::{self, Bearer};
use app::backend::{auth_user, state::AppState};
use axum::{extract::State, response::IntoResponse, Json};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use tower_sessions::Session;

pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
) -> impl IntoResponse {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let user = match api_tokens::bearer(&state.db, &headers).await {
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
