//! Personal API tokens in the database: created under the per-person limits, listed,
//! revoked, and looked up by hash when one is presented.

use sea_orm::{
    sea_query::Expr, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use time::OffsetDateTime;

use super::account_events::{self, EventKind};
use super::entities::{account_events as events, api_tokens, prelude::*};
use super::Db;

/// Tokens a person may hold at once (expired ones count until revoked).
pub const MAX_PER_USER: u64 = 25;
/// Tokens a person may create in an hour, revoked ones included: a script gone wrong, or
/// someone with a moment at an unlocked browser, cannot mint tokens by the thousand.
pub const CREATIONS_PER_HOUR: u64 = 10;
/// `last_used_at` is written at most this often per token: a script calling every second
/// costs one write a minute, not one per call.
pub const LAST_USED_EVERY_SECS: i64 = 60;

/// What the account page needs to store a new token; the token itself never reaches here.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub token_hash: &'a str,
    pub hint: &'a str,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// [`MAX_PER_USER`] tokens already.
    TooManyTokens,
    /// [`CREATIONS_PER_HOUR`] reached.
    TooManyCreations,
}

/// Stores a new token for `user_id` unless a limit says no: one transaction, the limits
/// counted inside it (on PostgreSQL with the user's row locked, so two requests at once
/// cannot both take the last place; SQLite's write transactions run one at a time).
pub async fn create(
    db: &Db,
    user_id: i32,
    token: &NewToken<'_>,
    network: Option<&str>,
) -> Result<CreateOutcome, DbErr> {
    let now = OffsetDateTime::now_utc();
    let txn = super::write_transaction(&db.write).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        Users::find_by_id(user_id)
            .lock_exclusive()
            .all(&txn)
            .await?;
    }
    let held = ApiTokens::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .count(&txn)
        .await?;
    if held >= MAX_PER_USER {
        return Ok(CreateOutcome::TooManyTokens);
    }
    let created_lately = AccountEvents::find()
        .filter(events::Column::UserId.eq(user_id))
        .filter(events::Column::Kind.eq(EventKind::ApiTokenCreated.as_str()))
        .filter(events::Column::At.gt(now - time::Duration::hours(1)))
        .count(&txn)
        .await?;
    if created_lately >= CREATIONS_PER_HOUR {
        return Ok(CreateOutcome::TooManyCreations);
    }
    ApiTokens::insert(api_tokens::ActiveModel {
        user_id: Set(user_id),
        name: Set(token.name.to_owned()),
        token_hash: Set(token.token_hash.to_owned()),
        hint: Set(token.hint.to_owned()),
        created_at: Set(now.unix_timestamp()),
        last_used_at: Set(None),
        expires_at: Set(token.expires_at),
        ..Default::default()
    })
    .exec_without_returning(&txn)
    .await?;
    account_events::record(
        &txn,
        user_id,
        EventKind::ApiTokenCreated,
        Some(token.name),
        network,
    )
    .await?;
    txn.commit().await?;
    Ok(CreateOutcome::Created)
}

/// The user's tokens, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<api_tokens::Model>, DbErr> {
    ApiTokens::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .order_by_desc(api_tokens::Column::Id)
        .all(conn)
        .await
}

/// Revokes (deletes) one of the user's tokens; `false` when it is not theirs or gone.
pub async fn revoke(
    db: &Db,
    user_id: i32,
    token_id: i32,
    network: Option<&str>,
) -> Result<bool, DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    let rows = ApiTokens::find_by_id(token_id)
        .filter(api_tokens::Column::UserId.eq(user_id))
        .all(&txn)
        .await?;
    let Some(token) = super::at_most_one(rows) else {
        return Ok(false);
    };
    ApiTokens::delete_by_id(token.id).exec(&txn).await?;
    account_events::record(
        &txn,
        user_id,
        EventKind::ApiTokenRevoked,
        Some(&token.name),
        network,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// The user a presented token belongs to, if it exists and has not expired; its last use
/// is recorded (at most once a minute).
pub async fn user_of(db: &Db, token_hash: &str) -> Result<Option<i32>, DbErr> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let rows = ApiTokens::find()
        .filter(api_tokens::Column::TokenHash.eq(token_hash))
        .all(&db.read)
        .await?;
    let Some(token) = super::at_most_one(rows) else {
        return Ok(None);
    };
    if token.expires_at.is_some_and(|expires_at| expires_at <= now) {
        return Ok(None);
    }
    if token
        .last_used_at
        .is_none_or(|used| used <= now - LAST_USED_EVERY_SECS)
    {
        note_use(&db.write, token.id, now).await?;
    }
    Ok(Some(token.user_id))
}

/// Records a use, unless another request did within the minute (several instances, or
/// requests at once, race here: the condition makes the write happen once).
async fn note_use(write: &DatabaseConnection, token_id: i32, now: i64) -> Result<(), DbErr> {
    let not_lately = Condition::any()
        .add(api_tokens::Column::LastUsedAt.is_null())
        .add(api_tokens::Column::LastUsedAt.lte(now - LAST_USED_EVERY_SECS));
    ApiTokens::update_many()
        .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
        .filter(api_tokens::Column::Id.eq(token_id))
        .filter(not_lately)
        .exec(write)
        .await?;
    Ok(())
}
