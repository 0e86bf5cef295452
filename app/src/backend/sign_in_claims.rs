//! Exactly one callback completes a pending sign-in.
//!
//! The pending sign-in lives in a cookie (`pending_sign_in`), and every request that
//! carries it (a double click, a replay racing the real callback, two instances) sees it;
//! removing the cookie does not take back a copy. Before a callback calls the provider it
//! claims the sign-in here: an insert keyed by a hash of the sign-in's binding value, which
//! the database lets succeed once. The claim outlives the pending sign-in's own deadline,
//! so a copy of the cookie can never be completed again.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait, Set};
use time::OffsetDateTime;

use super::db::entities::{prelude::SignInClaims, sign_in_claims};
use super::db::sqlite_writer::Execute;
use super::db::Db;
use super::secret::stored_hash;

/// Whether this request won the pending sign-in.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    Won,
    AlreadyTaken,
}

/// Claims the pending sign-in bound to `binding` (its state or request token), which is
/// refused anyway after `expires_at` (unix seconds).
pub async fn claim(db: &Db, binding: &str, expires_at: i64) -> Result<Claim, sea_orm::DbErr> {
    let row = sign_in_claims::ActiveModel {
        id: Set(claim_key(binding)),
        expires_at: Set(expires_at),
    };
    let insert = SignInClaims::insert(row)
        .on_conflict_do_nothing_on([sign_in_claims::Column::Id])
        .into_query();
    let inserted = db.write_unit(Execute(insert)).await?;
    Ok(if inserted == 1 {
        Claim::Won
    } else {
        Claim::AlreadyTaken
    })
}

/// Forgets claims whose sign-in could no longer be completed anyway.
pub async fn delete_expired(db: &Db) -> Result<u64, sea_orm::DbErr> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let delete = SignInClaims::delete_many()
        .filter(sign_in_claims::Column::ExpiresAt.lte(now))
        .into_query();
    db.write_unit(Execute(delete)).await
}

/// The stored key: a leak of the table gives away no state or request token.
fn claim_key(binding: &str) -> String {
    stored_hash(binding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_sha256_of_the_binding_value() {
        // FIPS 180-2's "abc" vector, ba7816bf...15ad, in unpadded base64url.
        assert_eq!(
            claim_key("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
