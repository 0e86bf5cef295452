//! Persistence: entities, migrations and the queries the sign-in flow needs.

pub mod entities;
pub mod migrations;
pub mod users;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connects to `database_url` and brings the schema up to date.
pub async fn connect_and_migrate(database_url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(database_url.to_owned());
    // Statement logging would print session ids and tokens bound as parameters.
    options.sqlx_logging(false);
    let db = Database::connect(options).await?;
    migrations::Migrator::up(&db, None).await?;
    Ok(db)
}
