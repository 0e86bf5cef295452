//! Personal API tokens: a person makes one on the account page for a script, which then
//! reads the API as them with `Authorization: Bearer <token>`. A token only reads: every
//! change to the account, tokens included, needs a browser session.

pub mod format;

use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

use super::accounts::times::format_unix;
use super::auth_user::AuthUser;
use super::db::api_tokens::{self, CreateOutcome, NewToken};
use super::db::entities::api_tokens::Model as StoredToken;
use super::db::Db;
use super::sealed_cookie::SealedCookie;
use super::secret::{stored_hash, Secret};
use crate::backend::accounts::nickname;
use crate::error::AppError;
use crate::models::{ApiTokenView, NewApiToken, Notice, TokenLifetime};

/// A new token goes from the form's POST to the account page it redirects to in a sealed
/// cookie, never in a URL (history, logs, Referer) or in the database: shown once, then
/// removed by that page. Strict: only our own pages send it.
pub fn shown_once_cookie(secret_key: &Secret, https: bool) -> SealedCookie {
    SealedCookie::new(secret_key, https, "new-api-token", cookie::SameSite::Strict)
}
/// Long enough for the redirect to be followed on a slow connection.
const SHOWN_ONCE_SECS: i64 = 300;

/// Makes a token for `user` named `name`: where to send the browser next, and the cookie
/// that carries the token there.
pub async fn create(
    db: &Db,
    shown_once: &SealedCookie,
    user: &AuthUser,
    name: &str,
    lifetime: &str,
    network: Option<&str>,
) -> Result<(String, Option<HeaderValue>), AppError> {
    // A token's name follows the nickname's rules: short text that shows as typed.
    let (Some(name), Some(lifetime)) =
        (nickname::checked(name), TokenLifetime::from_form(lifetime))
    else {
        return Ok((Notice::ApiTokenInvalid.url(None), None));
    };
    let expires_at = match lifetime {
        TokenLifetime::Days(days) => {
            Some((OffsetDateTime::now_utc() + time::Duration::days(days.into())).unix_timestamp())
        }
        TokenLifetime::Forever => None,
    };
    let token = format::generate();
    let stored = NewToken {
        name: &name,
        token_hash: &stored_hash(&token),
        hint: &format::hint(&token),
        expires_at,
    };
    let outcome = api_tokens::create(db, user.id, &stored, network)
        .await
        .map_err(AppError::db_failure("could not create an API token"))?;
    Ok(match outcome {
        CreateOutcome::Created => {
            tracing::info!(user_id = user.id, "API token created");
            let shown = NewApiToken { name, token };
            let cookie = shown_once.seal(
                serde_json::to_string(&shown).expect("a new token always serializes"),
                SHOWN_ONCE_SECS,
            );
            (
                format!("{}#api-tokens", Notice::ApiTokenCreated.url(None)),
                Some(cookie),
            )
        }
        CreateOutcome::TooManyTokens => (Notice::ApiTokenLimit.url(None), None),
        CreateOutcome::TooManyCreations => (Notice::ApiTokenRate.url(None), None),
    })
}

/// The token a request's shown-once cookie carries, if any.
pub fn just_created(shown_once: &SealedCookie, headers: &HeaderMap) -> Option<NewApiToken> {
    serde_json::from_str(&shown_once.open(headers)?).ok()
}

pub async fn revoke(
    db: &Db,
    user: &AuthUser,
    token_id: i64,
    network: Option<&str>,
) -> Result<String, AppError> {
    let Ok(token_id) = i32::try_from(token_id) else {
        return Ok(Notice::NotFound.url(None));
    };
    let revoked = api_tokens::revoke(db, user.id, token_id, network)
        .await
        .map_err(AppError::db_failure("could not revoke an API token"))?;
    Ok(if revoked {
        tracing::info!(user_id = user.id, "API token revoked");
        format!("{}#api-tokens", Notice::ApiTokenRevoked.url(None))
    } else {
        Notice::NotFound.url(None)
    })
}

/// The user's tokens as the account page lists them.
pub async fn list(db: &Db, user_id: i32) -> Result<Vec<ApiTokenView>, AppError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let tokens = api_tokens::list(&db.read, user_id)
        .await
        .map_err(AppError::db_failure("could not list the API tokens"))?;
    Ok(tokens.into_iter().map(|token| view(token, now)).collect())
}

fn view(token: StoredToken, now: i64) -> ApiTokenView {
    let at = |unix: i64| format_unix(Some(unix));
    ApiTokenView {
        id: token.id.into(),
        name: token.name,
        hint: token.hint,
        created: at(token.created_at),
        last_used: token.last_used_at.map(at).unwrap_or_else(|| "never".into()),
        expires: token.expires_at.map(at).unwrap_or_else(|| "never".into()),
        expired: token.expires_at.is_some_and(|expires_at| expires_at <= now),
    }
}

/// What a request's `Authorization` header says about who is calling.
#[derive(Debug, PartialEq, Eq)]
pub enum Bearer {
    /// No `Authorization` header: the session decides.
    Absent,
    /// A live token of this user.
    User(i32),
    /// A header that names no live token: unknown, revoked, expired, mistyped, or not a
    /// bearer token at all. The request is refused, even with a session cookie beside it.
    Invalid,
}

/// Reads an `Authorization: Bearer <token>` header's value (RFC 6750 §2.1; the scheme in
/// any case).
pub async fn bearer(db: &Db, authorization: Option<&HeaderValue>) -> Result<Bearer, AppError> {
    let Some(value) = authorization else {
        return Ok(Bearer::Absent);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    // The checksum turns away made-up and mistyped tokens without a database look-up.
    let Some(token) = token.filter(|token| format::is_well_formed(token)) else {
        return Ok(Bearer::Invalid);
    };
    let user = api_tokens::user_of(db, &stored_hash(token))
        .await
        .map_err(AppError::db_failure("could not check an API token"))?;
    Ok(user.map_or(Bearer::Invalid, Bearer::User))
}
