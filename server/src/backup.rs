//! `server backup <file>`: a consistent copy of the SQLite database, safe while the server
//! runs. `VACUUM INTO` writes the database as one read transaction sees it (the write-ahead
//! log folded in, no half-finished sign-in), without stopping writers for long. The copy
//! is checked before the command says it is done. PostgreSQL has its own tool: `pg_dump`.
//!
//! Exit codes: 0 done, 2 a mistake in the command or the configuration, 3 the copy failed.

use std::{path::Path, process::ExitCode};

use app::backend::config::Config;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, DbErr, Statement};

const POSTGRES_ADVICE: &str = "DATABASE_URL is not a SQLite file. Back up PostgreSQL with \
its own tool, e.g. pg_dump --format=custom --file=social-signin.dump \"$DATABASE_URL\" \
(README, \"Backups\")";

pub async fn run(target: &str, config: &Config) -> ExitCode {
    let url = config.database_url.expose();
    if !url.starts_with("sqlite") {
        eprintln!("{POSTGRES_ADVICE}");
        return ExitCode::from(2);
    }
    if url.contains(":memory:") || url.contains("mode=memory") {
        eprintln!("DATABASE_URL is an in-memory database: there is no file to back up");
        return ExitCode::from(2);
    }
    let target = Path::new(target);
    if target.exists() {
        eprintln!(
            "{} already exists: a backup never overwrites a file; name a new one",
            target.display()
        );
        return ExitCode::from(2);
    }
    match copy(url, target).await {
        Ok(summary) => {
            println!("Backed up the database to {}: {summary}", target.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            // A partial file is no backup.
            let _ = std::fs::remove_file(target);
            eprintln!("backup failed: {err}");
            ExitCode::from(3)
        }
    }
}

/// Copies the database at `url` into the new file `target`; what the copy holds.
async fn copy(url: &str, target: &Path) -> Result<String, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .max_connections(1)
        // `mode=rwc` in the URL must not turn a mistyped path into a new, empty database.
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(false)
                .busy_timeout(std::time::Duration::from_secs(10))
        });
    let live = Database::connect(options).await?;
    let target_text = target
        .to_str()
        .ok_or_else(|| DbErr::Custom("the backup's file name is not UTF-8".into()))?;
    live.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [target_text.into()],
    ))
    .await?;
    live.close().await?;

    let mut check = ConnectOptions::new(format!("sqlite://{target_text}?mode=ro"));
    check.sqlx_logging(false).max_connections(1);
    let copy = Database::connect(check).await?;
    let integrity = scalar_text(&copy, "PRAGMA integrity_check").await?;
    if integrity != "ok" {
        return Err(DbErr::Custom(format!(
            "the copy fails SQLite's integrity check: {integrity}"
        )));
    }
    let users = scalar_text(&copy, "SELECT CAST(COUNT(*) AS TEXT) FROM users").await?;
    copy.close().await?;
    let bytes = std::fs::metadata(target)
        .map(|meta| meta.len())
        .unwrap_or_default();
    Ok(format!(
        "{users} user(s), {bytes} bytes, integrity check ok"
    ))
}

async fn scalar_text(db: &sea_orm::DatabaseConnection, sql: &str) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("{sql} returned nothing")))?;
    row.try_get_by_index::<String>(0)
}
