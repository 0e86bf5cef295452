//! Who is signed in, as kept in the session, and for how long. Every write to a signed-in
//! session goes through here so that the lifetimes below hold:
//!
//! | "keep me signed in" | cookie | server forgets it after | renewed | absolute cap |
//! |---|---|---|---|---|
//! | on | 30 days (`Max-Age`) | 30 days idle | at most once a day, on use | 90 days |
//! | off | ends with the browser | 12 hours idle | at most once an hour, on use | 7 days |
//!
//! tower-sessions keeps no expiry per session (each request starts from the layer's
//! default), so the deadline lives in the session data ([`DEADLINE_KEY`], which the store
//! also uses for the row) and [`restore_cookie_expiry`] puts it back before a save.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tower_sessions::{Expiry, Session};

use super::session_store::{
    record_already_deleted, DEADLINE_KEY, DEVICE_KEY, LOADED_USER_KEY, SIGNED_IN_KEY,
    UNAVAILABLE_PREFIX, USER_ID_KEY,
};
use crate::error::AppError;

/// The browser a session was signed in from, as far as the request said: its User-Agent
/// (cut short) and its network (IPv4 /24, IPv6 /48), never the full address.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Device {
    pub user_agent: Option<String>,
    pub network: Option<String>,
}

/// Longest User-Agent kept: enough for any real browser's.
const MAX_USER_AGENT_LEN: usize = 512;

impl Device {
    pub fn new(user_agent: Option<&str>, network: Option<String>) -> Self {
        let user_agent = user_agent.map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT_LEN);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].to_owned()
        });
        Self {
            user_agent,
            network,
        }
    }
}

/// How long one kind of signed-in session lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Unused for this long, the session ends.
    pub idle: Duration,
    /// Use extends the deadline only once this much of it has passed, so that a busy
    /// session costs one write per interval, not one per request.
    pub renew_after: Duration,
    /// Never longer than this after signing in, however active.
    pub absolute: Duration,
}

pub const REMEMBERED: Lifetime = Lifetime {
    idle: Duration::days(30),
    renew_after: Duration::days(1),
    absolute: Duration::days(90),
};

pub const BROWSER_SESSION: Lifetime = Lifetime {
    idle: Duration::hours(12),
    renew_after: Duration::hours(1),
    absolute: Duration::days(7),
};

/// What the session remembers about its sign-in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SignedIn {
    pub remember: bool,
    /// Unix seconds.
    pub at: i64,
}

impl SignedIn {
    fn lifetime(&self) -> Lifetime {
        if self.remember {
            REMEMBERED
        } else {
            BROWSER_SESSION
        }
    }
}

impl Lifetime {
    /// The deadline for a session signed in at `signed_in_at` and used at `now`.
    pub fn deadline(&self, signed_in_at: i64, now: i64) -> i64 {
        (now + self.idle.whole_seconds()).min(signed_in_at + self.absolute.whole_seconds())
    }

    /// The new deadline if this use should extend the current one, else `None`.
    pub fn renewal(&self, signed_in_at: i64, current: i64, now: i64) -> Option<i64> {
        let next = self.deadline(signed_in_at, now);
        (next - current >= self.renew_after.whole_seconds()).then_some(next)
    }

    pub fn is_over(&self, signed_in_at: i64, deadline: i64, now: i64) -> bool {
        now >= deadline || now >= signed_in_at + self.absolute.whole_seconds()
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn session_failure(err: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %err, "session store failure");
    match err {
        tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(
            message,
        )) if message.starts_with(UNAVAILABLE_PREFIX) => AppError::Unavailable,
        _ => AppError::Internal,
    }
}

/// Whether the caller has already deleted the session's stored record, in a transaction of
/// its own (as `users::sign_in_identity` does: one commit instead of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldRecord {
    AlreadyDeleted,
    Stored,
}

/// Marks the session as signed in as `user_id`. The session id is replaced first, so an id
/// planted before sign-in (fixation, login CSRF) is worthless afterwards; its old record
/// is deleted here unless the caller already did.
pub async fn sign_in(
    session: &Session,
    user_id: i32,
    remember: bool,
    device: Device,
    old_record: OldRecord,
) -> Result<(), AppError> {
    match (old_record, session.id()) {
        (OldRecord::AlreadyDeleted, Some(old_id)) => {
            record_already_deleted(&old_id, session.cycle_id()).await
        }
        _ => session.cycle_id().await,
    }
    .map_err(session_failure)?;
    // The previous holder's user, as read with the session, is not this one's.
    session
        .remove_value(LOADED_USER_KEY)
        .await
        .map_err(session_failure)?;
    let signed_in = SignedIn {
        remember,
        at: now(),
    };
    let deadline = signed_in.lifetime().deadline(signed_in.at, signed_in.at);
    session
        .insert(SIGNED_IN_KEY, signed_in)
        .await
        .map_err(session_failure)?;
    session
        .insert(DEADLINE_KEY, deadline)
        .await
        .map_err(session_failure)?;
    session
        .insert(DEVICE_KEY, device)
        .await
        .map_err(session_failure)?;
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

/// The signed-in user's id, renewing the session's deadline when it is due; `None` when
/// signed out or when the session has outlived its lifetime (it is then ended).
pub async fn user_id(session: &Session) -> Result<Option<i32>, AppError> {
    Ok(signed_in(session).await?.map(|(user_id, _)| user_id))
}

/// [`user_id`] with when the session signed in.
pub async fn signed_in(session: &Session) -> Result<Option<(i32, SignedIn)>, AppError> {
    let Some(user_id) = session.get(USER_ID_KEY).await.map_err(session_failure)? else {
        return Ok(None);
    };
    let (Some(signed_in), Some(deadline)) =
        lifetime_data(session).await.map_err(session_failure)?
    else {
        // Not written by `sign_in`: not a session we vouch for.
        sign_out(session).await?;
        return Ok(None);
    };
    let lifetime = signed_in.lifetime();
    let now = now();
    if lifetime.is_over(signed_in.at, deadline, now) {
        sign_out(session).await?;
        return Ok(None);
    }
    if let Some(renewed) = lifetime.renewal(signed_in.at, deadline, now) {
        session
            .insert(DEADLINE_KEY, renewed)
            .await
            .map_err(session_failure)?;
    }
    Ok(Some((user_id, signed_in)))
}

/// How the session was signed in, and its current deadline (`None`s for anonymous ones).
async fn lifetime_data(
    session: &Session,
) -> Result<(Option<SignedIn>, Option<i64>), tower_sessions::session::Error> {
    Ok((
        session.get(SIGNED_IN_KEY).await?,
        session.get(DEADLINE_KEY).await?,
    ))
}

/// Sets the cookie's expiry from the session's own data before tower-sessions saves it:
/// a remembered session's cookie ends at its deadline, another signed-in one with the
/// browser; anonymous sessions keep the layer's default. Call after the handler, before
/// the session layer sees the response.
pub async fn restore_cookie_expiry(session: &Session) {
    if !session.is_modified() {
        return;
    }
    let Ok(lifetime) = lifetime_data(session).await else {
        return;
    };
    match lifetime {
        (Some(SignedIn { remember: true, .. }), Some(deadline)) => {
            if let Ok(at) = OffsetDateTime::from_unix_timestamp(deadline) {
                session.set_expiry(Some(Expiry::AtDateTime(at)));
            }
        }
        (Some(_), _) => session.set_expiry(Some(Expiry::OnSessionEnd)),
        (None, _) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const HOUR: i64 = 3_600;

    #[test]
    fn remembered_sessions_last_thirty_idle_days_renewed_daily_within_ninety() {
        let t0 = 1_000_000;
        let first = REMEMBERED.deadline(t0, t0);
        assert_eq!(first, t0 + 30 * DAY);
        // Used again within the day: no write.
        assert_eq!(REMEMBERED.renewal(t0, first, t0 + DAY - 1), None);
        // A day later: thirty days from now.
        assert_eq!(REMEMBERED.renewal(t0, first, t0 + DAY), Some(t0 + 31 * DAY));
        // Near the cap, the deadline stops at ninety days after sign-in.
        let late = t0 + 80 * DAY;
        assert_eq!(REMEMBERED.deadline(t0, late), t0 + 90 * DAY);
        assert_eq!(
            REMEMBERED.renewal(t0, t0 + 90 * DAY, late + DAY),
            None,
            "capped: nothing to extend"
        );
        assert!(REMEMBERED.is_over(t0, t0 + 120 * DAY, t0 + 90 * DAY));
        assert!(!REMEMBERED.is_over(t0, first, first - 1));
        assert!(REMEMBERED.is_over(t0, first, first));
    }

    #[test]
    fn browser_sessions_last_twelve_idle_hours_renewed_hourly_within_a_week() {
        let t0 = 5_000_000;
        let first = BROWSER_SESSION.deadline(t0, t0);
        assert_eq!(first, t0 + 12 * HOUR);
        assert_eq!(BROWSER_SESSION.renewal(t0, first, t0 + HOUR - 1), None);
        assert_eq!(
            BROWSER_SESSION.renewal(t0, first, t0 + HOUR),
            Some(t0 + 13 * HOUR)
        );
        assert!(BROWSER_SESSION.is_over(t0, i64::MAX, t0 + 7 * DAY));
        assert!(!BROWSER_SESSION.is_over(t0, first, t0 + 12 * HOUR - 1));
    }
}
