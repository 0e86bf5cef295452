//! Who is signed in: the one place that decides it for pages, server functions and JSON
//! routes alike (from the session cookie; bearer tokens will join here).

use sea_orm::DatabaseConnection;
use tower_sessions::Session;

use super::auth_session;
use super::config::Config;
use super::db::users;
use super::session_store::{storage_key, LOADED_USER_KEY};
use crate::error::AppError;
use crate::models::CurrentUser;

/// How recently the person must have signed in for what cannot be undone (deleting the
/// account), as GitHub's "sudo mode" asks.
pub const RECENT_SIGN_IN_SECS: i64 = 10 * 60;

/// The signed-in user of this request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i32,
    /// Unix seconds.
    pub signed_in_at: i64,
    /// The stored key of this request's session ("this device" on the sessions list).
    pub session_key: String,
}

impl AuthUser {
    pub fn signed_in_recently(&self) -> bool {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        now - self.signed_in_at <= RECENT_SIGN_IN_SECS
    }
}

/// The request's user, or `None` when signed out (an ended or expired session included).
pub async fn from_session(session: &Session) -> Result<Option<AuthUser>, AppError> {
    let Some((id, signed_in)) = auth_session::signed_in(session).await? else {
        return Ok(None);
    };
    let Some(session_id) = session.id() else {
        return Ok(None);
    };
    Ok(Some(AuthUser {
        id,
        signed_in_at: signed_in.at,
        session_key: storage_key(&session_id),
    }))
}

/// [`from_session`], refusing a signed-out request.
pub async fn require(session: &Session) -> Result<AuthUser, AppError> {
    from_session(session).await?.ok_or(AppError::NotSignedIn)
}

/// The signed-in user with their sign-in methods, as pages and `GET /api/me` show them;
/// `None` when signed out or when the user no longer exists.
pub async fn current_user(
    db: &DatabaseConnection,
    config: &Config,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(user_id) = auth_session::user_id(session).await? else {
        return Ok(None);
    };
    let label = |name: &str| config.provider_label(name);
    if let Some(mut loaded) = loaded_with_session(session, user_id).await {
        for identity in &mut loaded.identities {
            if let Some(known) = label(&identity.provider) {
                identity.label = known;
            }
        }
        return Ok(Some(loaded));
    }
    find(db, config, user_id).await
}

/// User `user_id` as pages and the API show them, read now (a caller known by an API
/// token, or a session whose copy is missing).
pub async fn find(
    db: &DatabaseConnection,
    config: &Config,
    user_id: i32,
) -> Result<Option<CurrentUser>, AppError> {
    let label = |name: &str| config.provider_label(name);
    users::find_current_user(db, user_id, label)
        .await
        .map_err(AppError::db_failure("could not load the signed-in user"))
}

/// The user the session store read with this request's session, if it is `user_id` (the
/// session may have changed hands since it was loaded: a sign-in in this very request).
async fn loaded_with_session(session: &Session, user_id: i32) -> Option<CurrentUser> {
    let loaded: CurrentUser = session.get(LOADED_USER_KEY).await.ok().flatten()?;
    (loaded.id == i64::from(user_id)).then_some(loaded)
}
