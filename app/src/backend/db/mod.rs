//! Persistence: entities, migrations and the queries the sign-in flow needs.

pub mod connect;
pub mod entities;
pub mod migrations;
pub mod users;

pub use connect::{connect_and_migrate, is_unavailable, write_transaction, Db};
