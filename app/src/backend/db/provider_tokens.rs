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
use super::Db;
use crate::backend::provider_tokens::cipher::{self, Place};
use crate::backend::provider_tokens::keys::TokenKeys;
use crate::backend::secret::Secret;

const ACCESS_TOKEN: &str = "access_token";
const TOKEN_SECRET: &str = "token_secret";

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

/// Keeps `tokens` for the identity, sealed, replacing what it had. Writes nothing when the
/// sign-in brought none (a provider that keeps none), so other sign-ins cost nothing here.
pub(super) async fn keep(
    conn: &impl ConnectionTrait,
    keys: &TokenKeys,
    identity_id: i32,
    tokens: &ProviderTokens,
) -> Result<(), DbErr> {
    if tokens.access_token.is_none() && tokens.token_secret.is_none() {
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
        updated_at: Set(OffsetDateTime::now_utc().unix_timestamp()),
    };
    SealedTokens::insert(row)
        .on_conflict(
            OnConflict::column(provider_tokens::Column::IdentityId)
                .update_columns([
                    provider_tokens::Column::AccessToken,
                    provider_tokens::Column::TokenSecret,
                    provider_tokens::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The identity's kept tokens, opened; `None` when it has none or they no longer open
/// (sealed with a key that is gone, or altered), which is logged.
pub async fn read(
    conn: &impl ConnectionTrait,
    keys: &TokenKeys,
    identity_id: i32,
) -> Result<Option<ProviderTokens>, DbErr> {
    let rows = SealedTokens::find_by_id(identity_id).all(conn).await?;
    let Some(row) = super::at_most_one(rows) else {
        return Ok(None);
    };
    Ok(open_row(keys, &row).map(|(tokens, _)| tokens))
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
    Some((
        ProviderTokens {
            access_token,
            token_secret,
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
                keep(&txn, keys, row.identity_id, &tokens).await?;
                done.moved += 1;
            }
            Some((_, false)) => done.current_already += 1,
            None => done.unreadable += 1,
        }
    }
    txn.commit().await?;
    Ok(done)
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
