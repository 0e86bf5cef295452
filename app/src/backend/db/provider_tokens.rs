//! Kept provider tokens in the database, sealed per identity and column: written at
//! sign-in and linking, moved off an older key, and moved out of the identities table
//! where earlier versions kept them in plain text.

use sea_orm::{
    sea_query::{Expr, ExprTrait, OnConflict},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set,
};
use time::OffsetDateTime;

use super::entities::{identities, prelude::*, provider_tokens};
use super::identities::ProviderTokens;
use super::statements::Statements;
use super::Db;
use crate::backend::provider_tokens::cipher::{self, Place};
use crate::backend::provider_tokens::keys::TokenKeys;
use crate::backend::secret::Secret;

const ACCESS_TOKEN: &str = "access_token";
const TOKEN_SECRET: &str = "token_secret";
const REFRESH_TOKEN: &str = "refresh_token";

fn sealed(
    keys: &TokenKeys,
    identity_id: i32,
    column: &str,
    value: &Option<Secret>,
) -> Option<String> {
    let place = Place {
        identity_id,
        column,
    };
    value
        .as_ref()
        .map(|value| cipher::seal(keys, place, value.expose()))
}

/// Keeps `tokens` for the identity, sealed, replacing what it had, except a refresh token
/// the provider did not send again (the old one still works); usable again if it needed
/// reconnection. Writes nothing when the sign-in brought none (a provider that keeps
/// none), so other sign-ins cost nothing here.
pub(super) async fn keep(
    on: &impl Statements,
    keys: &TokenKeys,
    identity_id: i32,
    tokens: &ProviderTokens,
) -> Result<(), DbErr> {
    if tokens.is_empty() {
        return Ok(());
    }
    let row = provider_tokens::ActiveModel {
        identity_id: Set(identity_id),
        access_token: Set(sealed(
            keys,
            identity_id,
            ACCESS_TOKEN,
            &tokens.access_token,
        )),
        token_secret: Set(sealed(
            keys,
            identity_id,
            TOKEN_SECRET,
            &tokens.token_secret,
        )),
        refresh_token: Set(sealed(
            keys,
            identity_id,
            REFRESH_TOKEN,
            &tokens.refresh_token,
        )),
        expires_at: Set(tokens.expires_at),
        scopes: Set(tokens.scopes.clone()),
        updated_at: Set(OffsetDateTime::now_utc().unix_timestamp()),
        version: Set(0),
        refreshing_until: Set(None),
        needs_reconnection: Set(false),
    };
    let upsert = SealedTokens::insert(row)
        .on_conflict(
            OnConflict::column(provider_tokens::Column::IdentityId)
                .update_columns([
                    provider_tokens::Column::AccessToken,
                    provider_tokens::Column::TokenSecret,
                    provider_tokens::Column::ExpiresAt,
                    provider_tokens::Column::Scopes,
                    provider_tokens::Column::UpdatedAt,
                    provider_tokens::Column::RefreshingUntil,
                    provider_tokens::Column::NeedsReconnection,
                ])
                .value(
                    provider_tokens::Column::RefreshToken,
                    Expr::cust("COALESCE(excluded.refresh_token, provider_tokens.refresh_token)"),
                )
                // A refresh claimed meanwhile must not overwrite these newer tokens.
                .value(
                    provider_tokens::Column::Version,
                    Expr::cust("provider_tokens.version + 1"),
                )
                .to_owned(),
        )
        .into_query();
    on.execute(on.build(&upsert)).await?;
    Ok(())
}

/// An identity's kept tokens, opened, with what coordinates their refresh.
pub struct Kept {
    pub identity_id: i32,
    pub tokens: ProviderTokens,
    pub version: i64,
    pub refreshing_until: Option<i64>,
    pub needs_reconnection: bool,
    /// Some value was sealed with the previous key: worth sealing again (`reseal_if_unchanged`).
    pub stale_key: bool,
}

/// The identity's kept tokens, opened; `None` when it has none or they no longer open
/// (sealed with a key that is gone, or altered), which is logged.
pub async fn read(
    conn: &impl ConnectionTrait,
    keys: &TokenKeys,
    identity_id: i32,
) -> Result<Option<Kept>, DbErr> {
    let rows = SealedTokens::find_by_id(identity_id).all(conn).await?;
    let Some(row) = super::at_most_one(rows) else {
        return Ok(None);
    };
    Ok(open_row(keys, &row).map(|(tokens, stale_key)| Kept {
        identity_id,
        tokens,
        version: row.version,
        refreshing_until: row.refreshing_until,
        needs_reconnection: row.needs_reconnection,
        stale_key,
    }))
}

/// Of the user's identities, those with kept tokens, and whether each needs reconnection
/// (for the account page: nothing is opened).
pub async fn kept_for_user(
    conn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<(i32, bool)>, DbErr> {
    let identities_of_user = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .select_only()
        .column(identities::Column::Id)
        .into_query();
    let rows = SealedTokens::find()
        .filter(provider_tokens::Column::IdentityId.in_subquery(identities_of_user))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.identity_id, row.needs_reconnection))
        .collect())
}

/// Claims the right to refresh the tokens read at `version`, until `until` (unix
/// seconds): true for exactly one of the callers that read that version, wherever they
/// run, since each moves the version only if it is still the one it read.
pub async fn claim_refresh(
    conn: &impl ConnectionTrait,
    identity_id: i32,
    version: i64,
    until: i64,
) -> Result<bool, DbErr> {
    let claimed = SealedTokens::update_many()
        .col_expr(
            provider_tokens::Column::Version,
            Expr::col(provider_tokens::Column::Version).add(1),
        )
        .col_expr(provider_tokens::Column::RefreshingUntil, Expr::value(until))
        .filter(provider_tokens::Column::IdentityId.eq(identity_id))
        .filter(provider_tokens::Column::Version.eq(version))
        .exec(conn)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// How a claimed refresh ended.
pub enum RefreshEnd<'a> {
    /// New tokens: a refresh token or scopes the provider did not send again stay.
    Refreshed(&'a ProviderTokens),
    /// The provider refused: the person must reconnect.
    Refused,
    /// The provider could not be asked: the next caller tries again.
    GaveUp,
}

/// Ends the refresh claimed as `claimed_version` (the version after the claim). False when
/// the claim was lost meanwhile (a sign-in kept newer tokens, or the claim timed out and
/// another caller took over): nothing is written then.
pub async fn end_refresh(
    conn: &impl ConnectionTrait,
    keys: &TokenKeys,
    identity_id: i32,
    claimed_version: i64,
    end: RefreshEnd<'_>,
) -> Result<bool, DbErr> {
    let mut update = SealedTokens::update_many()
        .col_expr(
            provider_tokens::Column::Version,
            Expr::col(provider_tokens::Column::Version).add(1),
        )
        .col_expr(
            provider_tokens::Column::RefreshingUntil,
            Expr::value(Option::<i64>::None),
        );
    match end {
        RefreshEnd::Refreshed(tokens) => {
            update = update
                .col_expr(
                    provider_tokens::Column::AccessToken,
                    Expr::value(sealed(
                        keys,
                        identity_id,
                        ACCESS_TOKEN,
                        &tokens.access_token,
                    )),
                )
                .col_expr(
                    provider_tokens::Column::ExpiresAt,
                    Expr::value(tokens.expires_at),
                )
                .col_expr(
                    provider_tokens::Column::UpdatedAt,
                    Expr::value(OffsetDateTime::now_utc().unix_timestamp()),
                );
            if tokens.refresh_token.is_some() {
                update = update.col_expr(
                    provider_tokens::Column::RefreshToken,
                    Expr::value(sealed(
                        keys,
                        identity_id,
                        REFRESH_TOKEN,
                        &tokens.refresh_token,
                    )),
                );
            }
            if let Some(scopes) = &tokens.scopes {
                update =
                    update.col_expr(provider_tokens::Column::Scopes, Expr::value(scopes.clone()));
            }
        }
        RefreshEnd::Refused => {
            update = update.col_expr(
                provider_tokens::Column::NeedsReconnection,
                Expr::value(true),
            );
        }
        RefreshEnd::GaveUp => {}
    }
    let ended = update
        .filter(provider_tokens::Column::IdentityId.eq(identity_id))
        .filter(provider_tokens::Column::Version.eq(claimed_version))
        .exec(conn)
        .await?;
    Ok(ended.rows_affected == 1)
}

/// Marks the tokens read at `version` as refused by the provider (its API answered 401 to
/// a token it had not said was expired); a newer version is left alone.
pub async fn mark_refused(
    conn: &impl ConnectionTrait,
    identity_id: i32,
    version: i64,
) -> Result<(), DbErr> {
    SealedTokens::update_many()
        .col_expr(
            provider_tokens::Column::Version,
            Expr::col(provider_tokens::Column::Version).add(1),
        )
        .col_expr(
            provider_tokens::Column::NeedsReconnection,
            Expr::value(true),
        )
        .filter(provider_tokens::Column::IdentityId.eq(identity_id))
        .filter(provider_tokens::Column::Version.eq(version))
        .exec(conn)
        .await?;
    Ok(())
}

/// Opens a row; also says whether any value was sealed with the previous key.
fn open_row(keys: &TokenKeys, row: &provider_tokens::Model) -> Option<(ProviderTokens, bool)> {
    let mut stale = false;
    let mut open = |column: &str, value: &Option<String>| -> Option<Option<_>> {
        let Some(value) = value else {
            return Some(None);
        };
        let place = Place {
            identity_id: row.identity_id,
            column,
        };
        match cipher::open(keys, place, value) {
            Ok(opened) => {
                stale |= opened.stale_key;
                Some(Some(opened.value))
            }
            Err(err) => {
                tracing::warn!(
                    identity_id = row.identity_id,
                    column,
                    ?err,
                    "a kept provider token does not open"
                );
                None
            }
        }
    };
    let access_token = open(ACCESS_TOKEN, &row.access_token)?;
    let token_secret = open(TOKEN_SECRET, &row.token_secret)?;
    let refresh_token = open(REFRESH_TOKEN, &row.refresh_token)?;
    Some((
        ProviderTokens {
            access_token,
            token_secret,
            refresh_token,
            expires_at: row.expires_at,
            scopes: row.scopes.clone(),
        },
        stale,
    ))
}

/// What `reencrypt` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reencrypted {
    pub moved: u64,
    pub current_already: u64,
    /// Rows that open with neither key: left as they are (and logged).
    pub unreadable: u64,
}

/// Seals every kept token again with the current key (`server tokens reencrypt`), so that
/// `TOKEN_ENCRYPTION_KEY_PREVIOUS` can be dropped. One transaction.
pub async fn reencrypt(db: &Db, keys: &TokenKeys) -> Result<Reencrypted, DbErr> {
    let txn = super::write_transaction(&db.write).await?;
    let mut done = Reencrypted::default();
    for row in SealedTokens::find().all(&txn).await? {
        match open_row(keys, &row) {
            Some((tokens, true)) => {
                reseal(&txn, keys, row.identity_id, &tokens).await?;
                done.moved += 1;
            }
            Some((_, false)) => done.current_already += 1,
            None => done.unreadable += 1,
        }
    }
    txn.commit().await?;
    Ok(done)
}

/// Seals the identity's tokens again with the current key, nothing else changed.
async fn reseal(
    conn: &impl ConnectionTrait,
    keys: &TokenKeys,
    identity_id: i32,
    tokens: &ProviderTokens,
) -> Result<(), DbErr> {
    resealing(keys, identity_id, tokens)
        .filter(provider_tokens::Column::IdentityId.eq(identity_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Seals tokens read with the previous key again with the current one, as they are used,
/// if the row is still as they were read (`version`): otherwise newer tokens are there, and
/// nothing is written (false).
pub async fn reseal_if_unchanged(
    conn: &impl ConnectionTrait,
    keys: &TokenKeys,
    identity_id: i32,
    version: i64,
    tokens: &ProviderTokens,
) -> Result<bool, DbErr> {
    let resealed = resealing(keys, identity_id, tokens)
        .col_expr(
            provider_tokens::Column::Version,
            Expr::col(provider_tokens::Column::Version).add(1),
        )
        .filter(provider_tokens::Column::IdentityId.eq(identity_id))
        .filter(provider_tokens::Column::Version.eq(version))
        .exec(conn)
        .await?;
    Ok(resealed.rows_affected == 1)
}

fn resealing(
    keys: &TokenKeys,
    identity_id: i32,
    tokens: &ProviderTokens,
) -> sea_orm::UpdateMany<SealedTokens> {
    let seal = |column, value| Expr::value(sealed(keys, identity_id, column, value));
    SealedTokens::update_many()
        .col_expr(
            provider_tokens::Column::AccessToken,
            seal(ACCESS_TOKEN, &tokens.access_token),
        )
        .col_expr(
            provider_tokens::Column::TokenSecret,
            seal(TOKEN_SECRET, &tokens.token_secret),
        )
        .col_expr(
            provider_tokens::Column::RefreshToken,
            seal(REFRESH_TOKEN, &tokens.refresh_token),
        )
}

/// Moves tokens that earlier versions kept in plain text in `identities` into this table,
/// sealed, and clears them there: one transaction, at start-up (a migration has no key).
pub async fn seal_plain_tokens(db: &Db, keys: &TokenKeys) -> Result<u64, DbErr> {
    let plain = identities::Column::AccessToken
        .is_not_null()
        .or(identities::Column::AccessTokenSecret.is_not_null());
    let waiting = Identities::find()
        .filter(plain.clone())
        .all(&db.write)
        .await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let txn = super::write_transaction(&db.write).await?;
    for identity in &waiting {
        let tokens = ProviderTokens {
            access_token: identity.access_token.clone().map(Secret::new),
            token_secret: identity.access_token_secret.clone().map(Secret::new),
            ..ProviderTokens::NONE
        };
        keep(&txn, keys, identity.id, &tokens).await?;
    }
    Identities::update_many()
        .col_expr(
            identities::Column::AccessToken,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            identities::Column::AccessTokenSecret,
            Expr::value(Option::<String>::None),
        )
        .filter(plain)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::info!(
        identities = waiting.len(),
        "provider tokens kept in plain text are now sealed"
    );
    Ok(waiting.len() as u64)
}

/// Forgets the tokens of identities whose provider no longer keeps any (the configuration
/// changed): kept tokens are only those something may use.
pub async fn forget_unkept(db: &Db, keeping: &[String]) -> Result<u64, DbErr> {
    let identities_of_others = Identities::find()
        .filter(identities::Column::Provider.is_not_in(keeping.iter().cloned()))
        .select_only()
        .column(identities::Column::Id)
        .into_query();
    let deleted = SealedTokens::delete_many()
        .filter(provider_tokens::Column::IdentityId.in_subquery(identities_of_others))
        .exec(&db.write)
        .await?;
    Ok(deleted.rows_affected)
}
