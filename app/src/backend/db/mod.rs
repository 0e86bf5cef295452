//! Persistence: entities, migrations and the queries the sign-in flow needs.

pub mod account_events;
pub mod accounts;
pub mod api_tokens;
pub mod connect;
pub mod entities;
pub mod identities;
pub mod inline_reads;
pub mod migrations;
pub mod provider_tokens;
pub mod sqlite_writer;
pub mod statements;
pub mod users;
pub mod wal_checkpoint;

pub use connect::{connect_and_migrate, is_unavailable, write_transaction, Db};
use sea_orm::DbErr;

/// Runs `attempt` again, at most `retries` more times, when it fails on a unique key. On
/// PostgreSQL two transactions can both read "not there" and both insert: the second
/// insert fails on the unique index, and its retry finds the first one's row. (SQLite's
/// write transactions are serialized from their start, so they never meet this.)
pub async fn retrying_unique_violations<T, F, Fut>(retries: u32, mut attempt: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut retries_left = retries;
    loop {
        match attempt().await {
            Err(err) if retries_left > 0 && is_unique_violation(&err) => retries_left -= 1,
            result => return result,
        }
    }
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// The row of a look-up by a unique key, fetched with `all` rather than SeaORM's `one`.
///
/// `one` adds `LIMIT ?` with the 1 as a bound parameter, and SQLite re-compiles a
/// statement whose LIMIT is a parameter every time it is bound (it may plan differently
/// for another value), so the statement cache never helps: ~6% of the app's CPU in a
/// sign-in benchmark went to re-parsing two such queries. A unique key needs no LIMIT.
pub fn at_most_one<T>(rows: Vec<T>) -> Option<T> {
    debug_assert!(rows.len() <= 1, "looked up by a unique key");
    rows.into_iter().next()
}

/// The id of the row an insert with `RETURNING "id"` added.
pub fn returned_id(rows: Vec<statements::ReturnedId>) -> Result<i32, DbErr> {
    rows.first()
        .map(|row| row.id)
        .ok_or_else(|| DbErr::RecordNotInserted)
}
