//! Opening the database: pool sizes, SQLite's journal and durability settings, fast
//! failure when the database is away, and write transactions that cannot dead-end.

use std::time::Duration;

use sea_orm::sqlx;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use super::inline_reads::InlineReaders;
use super::migrations::Migrator;
use super::sqlite_writer::{SqliteWriter, WriteUnit, WriterSetup};
use crate::backend::config::DatabaseTuning;

/// SQLite readers (WAL: they run beside the writer and never wait for it).
const SQLITE_READERS: u32 = 4;
/// A writer that finds the database locked waits this long at most. With one writing
/// connection per process this only happens when another process writes too.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Address space, not memory: pages are shared with the OS page cache.
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;
const POSTGRES_POOL_SIZE: u32 = 16;
/// A pooled PostgreSQL connection unused this long is checked before it is handed out.
const POSTGRES_PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// How long a request waits for a pooled connection before it is answered 503. Short:
/// while the database is away, people should see that at once rather than a spinner.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Start-up tries to reach a database server before giving up, one second apart.
const START_UP_TRIES: u32 = 5;

/// The database as the app uses it: `read` for queries, `write` for anything that writes.
///
/// On SQLite they are two pools on one file: several readers, and one writer, so that
/// writes queue in the app (an async wait for the connection) instead of colliding in
/// SQLite, whose busy handler sleeps in steps of milliseconds while the CPU idles. On
/// PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: DatabaseConnection,
    pub write: DatabaseConnection,
    /// SQLite files only: the connection that copies the write-ahead log into the database
    /// file in the background (see `wal_checkpoint`).
    pub wal_checkpointer: Option<DatabaseConnection>,
    /// SQLite files only: the reads every request makes, run on the request's own thread
    /// (see `inline_reads`).
    pub inline_read: Option<InlineReaders>,
    /// SQLite files only: the thread that runs the hot paths' writes (see `sqlite_writer`
    /// and [`Db::write_unit`]).
    pub sqlite_writer: Option<SqliteWriter>,
}

impl Db {
    /// Runs a unit of writes: on the SQLite writer's thread for a SQLite file, otherwise
    /// on the async writing connection (in a write transaction if the unit needs one).
    pub async fn write_unit<U: WriteUnit>(&self, unit: U) -> Result<U::Output, DbErr> {
        if let Some(writer) = &self.sqlite_writer {
            return writer.run(unit).await;
        }
        if !U::TRANSACTION {
            return unit.run(&self.write).await;
        }
        let transaction = write_transaction(&self.write).await?;
        let output = unit.run(&transaction).await?;
        transaction.commit().await?;
        Ok(output)
    }
}

/// Connects to `database_url` and brings the schema up to date.
pub async fn connect_and_migrate(database_url: &str, tuning: DatabaseTuning) -> Result<Db, DbErr> {
    let db = if database_url.starts_with("sqlite") {
        // Each in-memory connection would be a database of its own: one for everything.
        let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        let write =
            connect_sqlite(sqlite_options(database_url, tuning, SqliteRole::Writer)).await?;
        // Before anything else opens the file: the synchronous connections need the schema.
        migrate_under_lock(&write).await?;
        if in_memory {
            Db {
                read: write.clone(),
                write,
                wal_checkpointer: None,
                inline_read: None,
                sqlite_writer: None,
            }
        } else {
            let readers = tuning.pool_size.unwrap_or(SQLITE_READERS);
            let read = connect_sqlite(sqlite_options(
                database_url,
                tuning,
                SqliteRole::Readers(readers),
            ))
            .await?;
            let checkpointer = connect_sqlite(sqlite_options(
                database_url,
                tuning,
                SqliteRole::Checkpointer,
            ))
            .await?;
            let path = sqlite_path(database_url)?;
            Db {
                read,
                write,
                wal_checkpointer: Some(checkpointer),
                inline_read: Some(InlineReaders::open(&path, SQLITE_MMAP_BYTES)?),
                sqlite_writer: Some(SqliteWriter::start(&path, &writer_setup(tuning))?),
            }
        }
    } else {
        if database_url.starts_with("postgres") {
            wait_for_postgres(database_url).await?;
        }
        let mut options = common_options(database_url);
        options
            .max_connections(tuning.pool_size.unwrap_or(POSTGRES_POOL_SIZE))
            .min_connections(1)
            // sqlx pings every connection it hands out, a network round trip per query.
            // A busy connection was pinged when last returned (sqlx always does that);
            // one idle for a while may have been dropped by the server, so ping those.
            .test_before_acquire_if_idle_for(POSTGRES_PING_IF_IDLE_FOR);
        let pool = Database::connect(options).await?;
        migrate_under_lock(&pool).await?;
        Db {
            read: pool.clone(),
            write: pool,
            wal_checkpointer: None,
            inline_read: None,
            sqlite_writer: None,
        }
    };
    Ok(db)
}

/// Opens a SQLite pool, trying again for a while if the file is locked. Instances starting
/// together on a new file all switch it to WAL as they connect; until one has, the file is
/// in rollback-journal mode, where SQLite refuses one of two connections that would
/// deadlock at once ("database is locked") instead of calling its busy handler.
async fn connect_sqlite(options: ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    const PAUSE: Duration = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    loop {
        match Database::connect(options.clone()).await {
            Err(err) if is_sqlite_busy(&err) && waited < SQLITE_BUSY_TIMEOUT => {
                tokio::time::sleep(PAUSE).await;
                waited += PAUSE;
            }
            result => return result,
        }
    }
}

/// `SQLITE_BUSY` or one of its extended codes.
fn is_sqlite_busy(err: &DbErr) -> bool {
    let DbErr::Conn(RuntimeErr::SqlxError(err)) = err else {
        return false;
    };
    err.as_database_error()
        .and_then(|db| db.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// The file a SQLite URL names, as sqlx reads it.
fn sqlite_path(database_url: &str) -> Result<std::path::PathBuf, DbErr> {
    let options: sqlx::sqlite::SqliteConnectOptions = database_url
        .parse()
        .map_err(|err| DbErr::Custom(format!("DATABASE_URL is not a SQLite URL: {err}")))?;
    Ok(options.get_filename().to_owned())
}

/// Any number: the key of the advisory lock that migrations take on PostgreSQL.
const MIGRATIONS_LOCK_KEY: i64 = 0x736f_6369_616c; // "social"

/// Brings the schema up to date, one process at a time: instances started together on an
/// empty database would otherwise both create the same tables, and one of them fail. The
/// others wait, then find nothing left to do. PostgreSQL: an advisory lock held until the
/// transaction ends; SQLite: the file's write lock (`BEGIN IMMEDIATE`).
async fn migrate_under_lock(db: &DatabaseConnection) -> Result<(), DbErr> {
    let transaction = write_transaction(db).await?;
    if transaction.get_database_backend() == DbBackend::Postgres {
        transaction
            .execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATIONS_LOCK_KEY})"
            ))
            .await?;
    }
    Migrator::up(&transaction, None).await?;
    transaction.commit().await
}

fn common_options(database_url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(database_url.to_owned());
    // Statement logging would print session ids and tokens bound as parameters.
    options
        .sqlx_logging(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT);
    options
}

/// What a SQLite pool is for.
#[derive(Clone, Copy, PartialEq)]
enum SqliteRole {
    /// The one connection that writes.
    Writer,
    /// This many connections that only read.
    Readers(u32),
    /// One connection for `wal_checkpoint`.
    Checkpointer,
}

fn sqlite_options(database_url: &str, tuning: DatabaseTuning, role: SqliteRole) -> ConnectOptions {
    // With WAL, NORMAL syncs at checkpoints, not at every commit: a power cut can lose the
    // commits since the last checkpoint (the background task runs one every 200 ms:
    // sign-ins and session writes of that moment; people sign in again) but never corrupts
    // the file, and an application crash loses nothing. FULL on request.
    let synchronous = if tuning.sqlite_full_sync {
        sqlx::sqlite::SqliteSynchronous::Full
    } else {
        sqlx::sqlite::SqliteSynchronous::Normal
    };
    let connections = match role {
        SqliteRole::Readers(readers) => readers,
        SqliteRole::Writer | SqliteRole::Checkpointer => 1,
    };
    // The writer leaves checkpoints to the background task; its own automatic checkpoint
    // only stays as a backstop, should that task fall far behind.
    let autocheckpoint_pages = match role {
        SqliteRole::Writer => super::wal_checkpoint::WRITER_BACKSTOP_PAGES,
        _ => super::wal_checkpoint::SQLITE_DEFAULT_PAGES,
    };
    let query_only = matches!(role, SqliteRole::Readers(_));
    let mut options = common_options(database_url);
    options
        .max_connections(connections)
        .min_connections(1)
        // A file has no server to lose; sqlx's ping before every checkout would only add a
        // round trip to the connection's worker thread per query.
        .test_before_acquire(false)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                // Reads through a memory map instead of a read() call per page.
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                // A reader that tried to write would fail loudly, not take the lock.
                .pragma("query_only", if query_only { "true" } else { "false" })
                .pragma("wal_autocheckpoint", autocheckpoint_pages.to_string())
                .foreign_keys(true)
        });
    options
}

/// The SQLite writer's thread sets its connection up as sqlx's writing connection is
/// (`sqlite_options`, `SqliteRole::Writer`).
fn writer_setup(tuning: DatabaseTuning) -> WriterSetup {
    WriterSetup {
        wait_to_start: ACQUIRE_TIMEOUT,
        synchronous: if tuning.sqlite_full_sync {
            "FULL"
        } else {
            "NORMAL"
        },
        busy_timeout_ms: SQLITE_BUSY_TIMEOUT.as_millis(),
        mmap_bytes: SQLITE_MMAP_BYTES,
        autocheckpoint_pages: super::wal_checkpoint::WRITER_BACKSTOP_PAGES,
    }
}

/// Reaches the server with one plain connection first: the pool would only say "timed out",
/// hiding "connection refused" or a bad password. Each failed try is logged.
async fn wait_for_postgres(database_url: &str) -> Result<(), DbErr> {
    use sqlx::{postgres::PgConnectOptions, ConnectOptions as _, Connection as _};
    let options: PgConnectOptions = database_url
        .parse()
        .map_err(|err| DbErr::Custom(format!("DATABASE_URL is not a PostgreSQL URL: {err}")))?;
    let target = format!(
        "PostgreSQL at {}:{} (database {})",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("-")
    );
    let mut last_error = String::new();
    for attempt in 1..=START_UP_TRIES {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, options.connect()).await {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                return Ok(());
            }
            Ok(Err(err)) => last_error = err.to_string(),
            Err(_) => last_error = format!("no answer within {ACQUIRE_TIMEOUT:?}"),
        }
        tracing::warn!(attempt, of = START_UP_TRIES, error = %last_error, "cannot reach {target}");
        if attempt < START_UP_TRIES {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Err(DbErr::Custom(format!(
        "cannot reach {target}: {last_error}"
    )))
}

/// Begins a transaction that will write (pass `Db::write`). On SQLite it takes the write
/// lock up front (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes
/// later fails with `SQLITE_BUSY` when another process wrote in between, instead of waiting.
pub async fn write_transaction(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The database could not be reached (down, restarting, refusing connections, pool
/// exhausted), as opposed to a query that failed: worth a 503 and a retry, not a 500.
pub fn is_unavailable(err: &DbErr) -> bool {
    let runtime = match err {
        // Failing to get a connection at all, whatever the server said.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(err) => {
            matches!(
                err.as_ref(),
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            ) || is_connection_lost(err)
        }
        _ => false,
    }
}

/// PostgreSQL ending the connection under a running query: SQLSTATE class 08 (connection
/// exception) or 57P (operator intervention: shutdown, `pg_terminate_backend`).
fn is_connection_lost(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
}
