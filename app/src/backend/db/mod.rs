//! Persistence: entities, migrations and the queries the sign-in flow needs.

pub mod account_events;
pub mod accounts;
pub mod connect;
pub mod entities;
pub mod identities;
pub mod migrations;
pub mod users;
pub mod wal_checkpoint;

pub use connect::{connect_and_migrate, is_unavailable, write_transaction, Db};

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
