//! `GET /healthz` for load balancers: 200 when this instance can reach its database, 503
//! otherwise (take it out of rotation). Says nothing else about the deployment.

use app::backend::state::AppState;
use axum::{extract::State, http::StatusCode, response::IntoResponse};
use http::header;
use sea_orm::{ConnectionTrait, Statement};

pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let read = &state.db.read;
    let probe = Statement::from_string(read.get_database_backend(), "SELECT 1");
    let (status, body) = match read.execute_raw(probe).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    };
    (status, [(header::CACHE_CONTROL, "no-store")], body)
}
