//! Changes a person makes to their account: linking and unlinking sign-in methods, the
//! nickname, ending sessions, deleting the account. Each is one transaction.

use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use time::OffsetDateTime;

use super::account_events::{self, EventKind};
use super::entities::{identities, prelude::*, sessions, users};
use super::identities::ProviderTokens;
use super::identities::{find_by_key, identity_key, insert_identity, update_read_identity};
use super::Db;
use crate::backend::oauth::profile::Profile;
use crate::backend::provider_tokens::keys::TokenKeys;
use crate::models::EmailStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// It was this user's already (its profile is refreshed).
    AlreadyLinked,
    /// Another user signs in with it: nothing changed.
    BelongsToAnother,
}

/// Adds the identity to `user_id`'s sign-in methods, unless it is someone else's.
#[allow(clippy::too_many_arguments)]
pub async fn link_identity(
    db: &Db,
    user_id: i32,
    provider: &str,
    issuer: &str,
    profile: &Profile,
    tokens: &ProviderTokens,
    token_keys: &TokenKeys,
    network: Option<&str>,
) -> Result<LinkOutcome, DbErr> {
    let key = &identity_key(issuer, &profile.provider_user_id);
    // PostgreSQL: a sign-in of the same identity may insert it meanwhile; look again.
    super::retrying_unique_violations(1, || async move {
        let now = OffsetDateTime::now_utc();
        let txn = super::write_transaction(&db.write).await?;
        let outcome = match find_by_key(&txn, key).await? {
            Some(identity) if identity.user_id == user_id => {
                update_read_identity(&txn, &identity, provider, profile, now).await?;
                super::provider_tokens::keep(&txn, token_keys, identity.id, tokens).await?;
                LinkOutcome::AlreadyLinked
            }
            Some(_) => return Ok(LinkOutcome::BelongsToAnother),
            None => {
                let identity_id =
                    insert_identity(&txn, user_id, key, issuer, provider, profile, now).await?;
                super::provider_tokens::keep(&txn, token_keys, identity_id, tokens).await?;
                account_events::record(&txn, user_id, EventKind::Linked, Some(provider), network)
                    .await?;
                LinkOutcome::Linked
            }
        };
        txn.commit().await?;
        Ok(outcome)
    })
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlinkOutcome {
    /// Gone; the configured provider it signed in with.
    Unlinked { provider: String },
    /// The user's only way in: kept.
    LastMethod,
    /// Not one of this user's identities.
    NotFound,
}

/// Removes one of the user's sign-in methods, never the last. Two unlinks of the last two
/// at once end with one method left: the user's row is locked first (an update: a row lock
/// on PostgreSQL, the write lock on SQLite), so the second counts after the first commits.
pub async fn unlink_identity(
    db: &Db,
    user_id: i32,
    identity_id: i32,
    network: Option<&str>,
) -> Result<UnlinkOutcome, DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    let locked = Users::update_many()
        .col_expr(users::Column::Id, Expr::col(users::Column::Id))
        .filter(users::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    if locked.rows_affected == 0 {
        return Ok(UnlinkOutcome::NotFound);
    }
    let identities = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .all(&txn)
        .await?;
    let Some(identity) = identities
        .iter()
        .find(|identity| identity.id == identity_id)
    else {
        return Ok(UnlinkOutcome::NotFound);
    };
    if identities.len() <= 1 {
        return Ok(UnlinkOutcome::LastMethod);
    }
    // Named rather than left to the foreign key's cascade (see `delete_user`).
    SealedTokens::delete_by_id(identity.id).exec(&txn).await?;
    Identities::delete_by_id(identity.id).exec(&txn).await?;
    account_events::record(
        &txn,
        user_id,
        EventKind::Unlinked,
        Some(&identity.provider),
        network,
    )
    .await?;
    txn.commit().await?;
    Ok(UnlinkOutcome::Unlinked {
        provider: identity.provider.clone(),
    })
}

/// Sets the nickname (already checked by `accounts::nickname`).
pub async fn set_nickname(
    db: &Db,
    user_id: i32,
    nickname: &str,
    network: Option<&str>,
) -> Result<(), DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    Users::update_many()
        .col_expr(users::Column::Nickname, Expr::value(nickname))
        .filter(users::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    account_events::record(&txn, user_id, EventKind::NicknameChanged, None, network).await?;
    txn.commit().await
}

/// Makes `email` the user's primary address, if one of their identities has it verified;
/// whether it was.
pub async fn set_primary_email(
    db: &Db,
    user_id: i32,
    email: &str,
    network: Option<&str>,
) -> Result<bool, DbErr> {
    let email = super::identities::normalized_email(email);
    let txn = super::write_transaction(&db.write).await?;
    let verified = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .filter(identities::Column::Email.eq(email.as_str()))
        .filter(identities::Column::EmailStatus.eq(EmailStatus::Verified.as_str()))
        .all(&txn)
        .await?;
    if verified.is_empty() {
        return Ok(false);
    }
    Users::update_many()
        .col_expr(users::Column::Email, Expr::value(email))
        .filter(users::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    account_events::record(&txn, user_id, EventKind::PrimaryEmailChanged, None, network).await?;
    txn.commit().await?;
    Ok(true)
}

/// A signed-in session of a user, as its row has it.
pub struct SessionRow {
    /// The stored key (a hash of the session id, which signs nobody in).
    pub key: String,
    pub signed_in_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub user_agent: Option<String>,
    pub network: Option<String>,
}

/// The user's sessions that have not ended, latest sign-in first.
pub async fn sessions_of(
    conn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<SessionRow>, DbErr> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let rows = Sessions::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::ExpiresAt.gt(now))
        .order_by_desc(sessions::Column::SignedInAt)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionRow {
            key: row.id,
            signed_in_at: row.signed_in_at,
            last_seen_at: row.last_seen_at,
            user_agent: row.user_agent,
            network: row.network,
        })
        .collect())
}

/// Ends the user's session stored under `key`; whether there was one.
pub async fn end_session(
    db: &Db,
    user_id: i32,
    key: &str,
    network: Option<&str>,
) -> Result<bool, DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    let deleted = Sessions::delete_many()
        .filter(sessions::Column::Id.eq(key))
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Ok(false);
    }
    account_events::record(&txn, user_id, EventKind::SessionSignedOut, None, network).await?;
    txn.commit().await?;
    Ok(true)
}

/// Ends every session of the user but the one stored under `keep`; how many ended.
pub async fn end_other_sessions(
    db: &Db,
    user_id: i32,
    keep: &str,
    network: Option<&str>,
) -> Result<u64, DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    let deleted = Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::Id.ne(keep))
        .exec(&txn)
        .await?;
    account_events::record(
        &txn,
        user_id,
        EventKind::OtherSessionsSignedOut,
        None,
        network,
    )
    .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected)
}

/// Ends every session of the user (operators: `server sessions revoke`).
pub async fn end_all_sessions(db: &Db, user_id: i32) -> Result<u64, DbErr> {
    let deleted = Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&db.write)
        .await?;
    Ok(deleted.rows_affected)
}

/// Removes the user, their identities (with any provider tokens), their events and every
/// session on every device; whether the user existed.
pub async fn delete_user(db: &Db, user_id: i32) -> Result<bool, DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    // Named rather than left to the foreign keys' cascade, so that nothing depends on
    // SQLite's `foreign_keys` pragma being on for this connection.
    AccountEvents::delete_many()
        .filter(super::entities::account_events::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    ApiTokens::delete_many()
        .filter(super::entities::api_tokens::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let identities_of_user = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .select_only()
        .column(identities::Column::Id)
        .into_query();
    SealedTokens::delete_many()
        .filter(
            super::entities::provider_tokens::Column::IdentityId.in_subquery(identities_of_user),
        )
        .exec(&txn)
        .await?;
    Identities::delete_many()
        .filter(identities::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let deleted = Users::delete_by_id(user_id).exec(&txn).await?;
    txn.commit().await?;
    Ok(deleted.rows_affected == 1)
}
