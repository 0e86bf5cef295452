//! Users and their provider identities: auto-registration on first sign-in, look-ups.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, SqlErr,
};
use time::OffsetDateTime;

use super::entities::{identities, prelude::*, users};
use crate::backend::oauth::profile::Profile;
use crate::backend::secret::Secret;
use crate::models::{CurrentUser, LinkedIdentity};

/// The provider's credentials for later API calls on the user's behalf.
pub struct ProviderTokens {
    pub access_token: Secret,
    /// OAuth 1.0a only.
    pub token_secret: Option<Secret>,
}

/// `facebook$10153...`: the provider-unique key of an identity.
pub fn social_id(provider: &str, provider_user_id: &str) -> String {
    format!("{provider}${provider_user_id}")
}

/// Finds the user behind this provider identity, registering them on first sign-in, and
/// stamps `last_login_at`. All writes happen in one transaction: a failure leaves no
/// half-created user.
///
/// Two first sign-ins of one identity at once end in one user either way:
/// - SQLite: the transaction takes the write lock before reading (`BEGIN IMMEDIATE`), so the
///   second waits for the first and then finds its identity;
/// - PostgreSQL: both may read "no identity"; the second insert hits the unique `social_id`
///   index, rolls back, and the retry finds the winner's user.
pub async fn sign_in_identity(
    db: &DatabaseConnection,
    provider: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
) -> Result<i32, DbErr> {
    sign_in_identity_pausing(db, provider, profile, tokens, || async {}).await
}

/// [`sign_in_identity`], awaiting `after_read` between looking the identity up and writing
/// (on the first attempt), so that tests can interleave two sign-ins deterministically.
#[doc(hidden)]
pub async fn sign_in_identity_pausing<F, Fut>(
    db: &DatabaseConnection,
    provider: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
    after_read: F,
) -> Result<i32, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let social_id = social_id(provider, &profile.provider_user_id);
    let mut pause = Some(after_read);
    let mut attempts_left = 2;
    loop {
        match try_sign_in_identity(db, provider, &social_id, profile, tokens, pause.take()).await {
            Err(err) if attempts_left > 0 && is_unique_violation(&err) => attempts_left -= 1,
            result => return result,
        }
    }
}

async fn try_sign_in_identity<F, Fut>(
    db: &DatabaseConnection,
    provider: &str,
    social_id: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
    after_read: Option<F>,
) -> Result<i32, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let access_token = Some(tokens.access_token.expose().to_owned());
    let token_secret = tokens.token_secret.as_ref().map(|s| s.expose().to_owned());
    let now = OffsetDateTime::now_utc();
    let txn = super::write_transaction(db).await?;

    let existing = Identities::find()
        .filter(identities::Column::SocialId.eq(social_id))
        .one(&txn)
        .await?;
    if let Some(after_read) = after_read {
        after_read().await;
    }
    let user_id = match existing {
        Some(identity) => {
            let mut user: users::ActiveModel = Users::find_by_id(identity.user_id)
                .one(&txn)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound(format!("user {}", identity.user_id)))?
                .into();
            user.last_login_at = Set(now);
            // The provider may have gained an email or a new picture since last time.
            if profile.email.is_some() {
                user.email = Set(profile.email.clone());
            }
            if profile.avatar_url.is_some() {
                user.avatar_url = Set(profile.avatar_url.clone());
            }
            let user_id = user.update(&txn).await?.id;
            let mut identity: identities::ActiveModel = identity.into();
            identity.access_token = Set(access_token);
            identity.access_token_secret = Set(token_secret);
            identity.update(&txn).await?;
            user_id
        }
        None => {
            let user = users::ActiveModel {
                nickname: Set(profile.nickname.clone()),
                email: Set(profile.email.clone()),
                avatar_url: Set(profile.avatar_url.clone()),
                created_at: Set(now),
                last_login_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            identities::ActiveModel {
                user_id: Set(user.id),
                provider: Set(provider.to_owned()),
                provider_user_id: Set(profile.provider_user_id.clone()),
                social_id: Set(social_id.to_owned()),
                access_token: Set(access_token),
                access_token_secret: Set(token_secret),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            user.id
        }
    };
    txn.commit().await?;
    Ok(user_id)
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The user with their identities, or `None` when the id no longer exists. One query (a
/// join): this runs on every signed-in page and `/api/me`.
pub async fn find_current_user(
    db: &DatabaseConnection,
    user_id: i32,
) -> Result<Option<CurrentUser>, DbErr> {
    let rows = Users::find_by_id(user_id)
        .find_with_related(Identities)
        .order_by_asc(identities::Column::Id)
        .all(db)
        .await?;
    let Some((user, identities)) = rows.into_iter().next() else {
        return Ok(None);
    };
    let identities = identities
        .into_iter()
        .map(|identity| LinkedIdentity {
            provider: identity.provider,
            social_id: identity.social_id,
        })
        .collect();
    Ok(Some(CurrentUser {
        id: user.id.into(),
        nickname: user.nickname,
        email: user.email,
        avatar_url: user.avatar_url,
        identities,
    }))
}
