//! The session layer: cookie attributes, the lifetime of each kind of session, and the
//! periodic sweep of expired records.

use std::time::Duration;

use app::backend::{
    auth_session, db::account_events, session_store::SeaOrmSessionStore, sign_in_claims,
    state::AppState,
};
use axum::{extract::Request, middleware::Next, response::Response};
use tower_sessions::{
    cookie::SameSite, session_store::ExpiredDeletion, Expiry, Session, SessionManagerLayer,
};

/// The layer's default lifetime. Only a completed sign-in makes a session, and it sets the
/// session's own lifetime (`auth_session`); this bounds whatever else might be stored.
const ANONYMOUS_SESSION_IDLE: time::Duration = time::Duration::minutes(15);
const SESSION_CLEANUP_EVERY: Duration = Duration::from_secs(15 * 60);

pub fn layer(state: &AppState) -> SessionManagerLayer<SeaOrmSessionStore> {
    let https = state.config.is_https();
    SessionManagerLayer::new(SeaOrmSessionStore::new(state.db.clone()))
        // `__Host-` pins the cookie to this exact origin, but browsers accept it only
        // over https.
        .with_name(if https { "__Host-session" } else { "session" })
        .with_secure(https)
        .with_http_only(true)
        // Lax, not Strict: the provider's redirect back to /callback is a cross-site
        // navigation, and with Strict the browser would not send the cookie holding `state`.
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(ANONYMOUS_SESSION_IDLE))
}

/// Runs inside the session layer: before a modified signed-in session is saved, gives its
/// cookie the expiry its lifetime says (tower-sessions starts every request from the
/// layer's default).
pub async fn keep_cookie_expiry(request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    if let Some(session) = session {
        auth_session::restore_cookie_expiry(&session).await;
    }
    response
}

/// Deletes expired session records, claims of sign-ins that can no longer complete, and
/// account events past their keeping time, periodically.
pub fn spawn_cleanup(state: &AppState) {
    let db = state.db.clone();
    let store = SeaOrmSessionStore::new(db.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SESSION_CLEANUP_EVERY);
        loop {
            every.tick().await;
            if let Err(err) = store.delete_expired().await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
            if let Err(err) = sign_in_claims::delete_expired(&db).await {
                tracing::warn!(error = %err, "could not delete expired sign-in claims");
            }
            if let Err(err) = account_events::delete_older_than_kept(&db.write).await {
                tracing::warn!(error = %err, "could not delete old account events");
            }
        }
    });
}
