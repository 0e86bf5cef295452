//! Who is signed in, as kept in the session. Every write to a signed-in session goes
//! through here so that the remember-me lifetime is applied consistently.

use sea_orm::DatabaseConnection;
use time::Duration;
use tower_sessions::{Expiry, Session};

use super::db::users;
use crate::error::AppError;
use crate::models::CurrentUser;

const USER_ID_KEY: &str = "auth.user_id";
/// "Keep me signed in": a 30-day cookie, renewed on activity; otherwise a browser-session one.
pub const REMEMBER_ME_FOR: Duration = Duration::days(30);

pub fn session_failure(err: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %err, "session store failure");
    AppError::Internal
}

/// Marks the session as signed in as `user_id`. The session id is replaced first, so an id
/// planted before sign-in (fixation, login CSRF) is worthless afterwards.
pub async fn sign_in(session: &Session, user_id: i32, remember: bool) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_failure)?;
    session.set_expiry(Some(if remember {
        Expiry::OnInactivity(REMEMBER_ME_FOR)
    } else {
        Expiry::OnSessionEnd
    }));
    session
        .insert(USER_ID_KEY, user_id)
        .await
        .map_err(session_failure)
}

/// Deletes the session record and expires the cookie.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    if session.id().is_none() {
        // Never stored: nothing to delete, only the in-memory data to drop.
        session.clear().await;
        return Ok(());
    }
    session.flush().await.map_err(session_failure)
}

pub async fn user_id(session: &Session) -> Result<Option<i32>, AppError> {
    session.get(USER_ID_KEY).await.map_err(session_failure)
}

pub async fn current_user(
    db: &DatabaseConnection,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(user_id) = user_id(session).await? else {
        return Ok(None);
    };
    users::find_current_user(db, user_id).await.map_err(|err| {
        tracing::error!(error = %err, "could not load the signed-in user");
        AppError::Internal
    })
}
