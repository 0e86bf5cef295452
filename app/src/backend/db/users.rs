//! Users and their provider identities: auto-registration on first sign-in, look-ups.

use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, SqlErr,
};
use time::OffsetDateTime;

use super::entities::{identities, prelude::*, users};
use super::Db;
use crate::backend::oauth::{profile::Profile, providers};
use crate::backend::secret::Secret;
use crate::models::{CurrentUser, LinkedIdentity};

/// The provider's credentials for later API calls on the user's behalf, when they are
/// kept at all: until tokens are encrypted at rest, only those something uses are stored.
pub struct ProviderTokens {
    pub access_token: Option<Secret>,
    /// OAuth 1.0a only.
    pub token_secret: Option<Secret>,
}

impl ProviderTokens {
    /// Nothing kept (any earlier token is cleared).
    pub const NONE: Self = Self {
        access_token: None,
        token_secret: None,
    };
}

/// `facebook$10153...`: the provider-unique key of an identity.
pub fn social_id(provider: &str, provider_user_id: &str) -> String {
    format!("{provider}${provider_user_id}")
}

/// Finds the user behind this provider identity, registering them on first sign-in, and
/// stamps `last_login_at`. `replaced_session` is the stored key of the session this
/// sign-in replaces (its id is cycled): its row is deleted in the same transaction, so a
/// sign-in costs one commit on the database, not one for the user and one for the session.
///
/// Everything is one write transaction: a failure leaves no half-created user and the old
/// session in place. Two first sign-ins of one identity at once still end in one user:
/// - SQLite: writes go through one connection per process, and the transaction takes the
///   write lock before reading (`BEGIN IMMEDIATE`, which also holds between processes), so the
///   second waits for the first and then finds its identity;
/// - PostgreSQL: both may read "no identity"; the second insert hits the unique `social_id`
///   index, rolls back, and the retry finds the winner's user.
pub async fn sign_in_identity(
    db: &Db,
    provider: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
    replaced_session: Option<&str>,
) -> Result<i32, DbErr> {
    sign_in_identity_pausing(db, provider, profile, tokens, replaced_session, || async {}).await
}

/// [`sign_in_identity`], awaiting `after_read` inside a first sign-in's transaction between
/// looking the identity up and writing (first attempt only), so that tests can interleave
/// two sign-ins deterministically.
#[doc(hidden)]
pub async fn sign_in_identity_pausing<F, Fut>(
    db: &Db,
    provider: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
    replaced_session: Option<&str>,
    after_read: F,
) -> Result<i32, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let social_id = social_id(provider, &profile.provider_user_id);
    if let Some(identity) = find_identity(&db.read, &social_id).await? {
        // The common case: looked up on the readers, so the writer's transaction holds
        // only the updates.
        let txn = super::write_transaction(&db.write).await?;
        record_returning_sign_in(&txn, &identity, profile, tokens).await?;
        delete_session(&txn, replaced_session).await?;
        txn.commit().await?;
        return Ok(identity.user_id);
    }
    let mut pause = Some(after_read);
    let mut attempts_left = 2;
    loop {
        let attempt = try_first_sign_in(
            &db.write,
            provider,
            &social_id,
            profile,
            tokens,
            replaced_session,
            pause.take(),
        );
        match attempt.await {
            Err(err) if attempts_left > 0 && is_unique_violation(&err) => attempts_left -= 1,
            result => return result,
        }
    }
}

async fn find_identity(
    conn: &impl ConnectionTrait,
    social_id: &str,
) -> Result<Option<identities::Model>, DbErr> {
    // `all`, not `one`: see `at_most_one`; `social_id` is unique.
    let rows = Identities::find()
        .filter(identities::Column::SocialId.eq(social_id))
        .all(conn)
        .await?;
    Ok(super::at_most_one(rows))
}

/// Fresh tokens on the identity; login time, and the email or picture the provider may
/// have gained since, on the user.
async fn record_returning_sign_in(
    conn: &impl ConnectionTrait,
    identity: &identities::Model,
    profile: &Profile,
    tokens: &ProviderTokens,
) -> Result<(), DbErr> {
    let mut user = Users::update_many()
        .col_expr(
            users::Column::LastLoginAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(users::Column::Id.eq(identity.user_id));
    if let Some(email) = &profile.email {
        user = user.col_expr(users::Column::Email, Expr::value(email.clone()));
    }
    if let Some(avatar_url) = &profile.avatar_url {
        user = user.col_expr(users::Column::AvatarUrl, Expr::value(avatar_url.clone()));
    }
    user.exec(conn).await?;
    Identities::update_many()
        .col_expr(
            identities::Column::AccessToken,
            Expr::value(tokens.access_token.as_ref().map(|t| t.expose().to_owned())),
        )
        .col_expr(
            identities::Column::AccessTokenSecret,
            Expr::value(tokens.token_secret.as_ref().map(|s| s.expose().to_owned())),
        )
        .filter(identities::Column::Id.eq(identity.id))
        .exec(conn)
        .await?;
    Ok(())
}

async fn try_first_sign_in<F, Fut>(
    write: &DatabaseConnection,
    provider: &str,
    social_id: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
    replaced_session: Option<&str>,
    after_read: Option<F>,
) -> Result<i32, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let now = OffsetDateTime::now_utc();
    let txn = super::write_transaction(write).await?;
    let existing = find_identity(&txn, social_id).await?;
    if let Some(after_read) = after_read {
        after_read().await;
    }
    if let Some(identity) = existing {
        // Someone else's first sign-in of this identity won meanwhile.
        record_returning_sign_in(&txn, &identity, profile, tokens).await?;
        delete_session(&txn, replaced_session).await?;
        txn.commit().await?;
        return Ok(identity.user_id);
    }
    let user_id = Users::insert(users::ActiveModel {
        nickname: Set(profile.nickname.clone()),
        email: Set(profile.email.clone()),
        avatar_url: Set(profile.avatar_url.clone()),
        created_at: Set(now),
        last_login_at: Set(now),
        ..Default::default()
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    Identities::insert(identities::ActiveModel {
        user_id: Set(user_id),
        provider: Set(provider.to_owned()),
        provider_user_id: Set(profile.provider_user_id.clone()),
        social_id: Set(social_id.to_owned()),
        access_token: Set(tokens.access_token.as_ref().map(|t| t.expose().to_owned())),
        access_token_secret: Set(tokens.token_secret.as_ref().map(|s| s.expose().to_owned())),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    delete_session(&txn, replaced_session).await?;
    txn.commit().await?;
    Ok(user_id)
}

async fn delete_session(
    conn: &impl ConnectionTrait,
    stored_key: Option<&str>,
) -> Result<(), DbErr> {
    if let Some(stored_key) = stored_key {
        Sessions::delete_by_id(stored_key).exec(conn).await?;
    }
    Ok(())
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
            self_asserted: providers::is_self_asserted(&identity.provider),
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
