//! `GET /api/me`: the signed-in user as JSON, or 401.

use app::backend::{auth_user, state::AppState};
use axum::{extract::State, response::IntoResponse, Json};
use http::{header, StatusCode};
use serde_json::json;
use tower_sessions::Session;

pub async fn me(State(state): State<AppState>, session: Session) -> impl IntoResponse {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    match auth_user::current_user(&state.db.read, &state.config, &session).await {
        Ok(Some(user)) => (StatusCode::OK, no_store, Json(json!(user))),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            no_store,
            Json(json!({"error": "not signed in"})),
        ),
        Err(err) => (
            err.http_status(),
            no_store,
            Json(json!({"error": err.to_string()})),
        ),
    }
}
