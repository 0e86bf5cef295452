//! SQLite reads run on the calling thread, through SeaORM's synchronous flavour
//! (`sea-orm-sync` on rusqlite), for the queries every request makes (issue 22).
//!
//! Through sqlx, each statement on SQLite is handed to the thread that owns a connection,
//! and its rows handed back, and the connection is pinged on its way back to the pool:
//! three cross-thread wake-ups for a read that SQLite answers in a few microseconds from
//! memory (WAL, memory-mapped). Here the request's own thread runs it. That blocks the
//! async worker for as long as the read takes, which is fine for reads by key of a small
//! row set: readers never wait for the writer in WAL mode, and the pages are in memory.
//! Anything that could take long (listings, scans, writes) stays on the async pools.
//!
//! The statements are built with the app's own (async) entities (sea-query is one crate
//! for both flavours), and the rows decoded into those entities' models
//! (`FromInlineRow`, struct literals: a column added to a model fails to compile here), so
//! there is one schema. The writer's thread (`sqlite_writer`) opens its connection, maps
//! its errors and decodes its rows with the same pieces.

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::{sea_query::SelectStatement, DbErr, IdenStatic, RuntimeErr};
use sea_orm_sync::{ConnectionTrait as _, QueryResult};

use super::entities::{identities, sessions, users};

/// A reader that meets a locked database (only while one recovers the WAL after a crash)
/// waits this long at most: it holds an async worker meanwhile.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// The file, and how its readers are set up.
struct Target {
    url: String,
    mmap_bytes: u64,
}

thread_local! {
    /// Each thread's own connection to each open database: a synchronous connection is
    /// neither `Send` nor `Sync`, and a thread never needs two at once. Entries whose
    /// `InlineReaders` are gone are dropped as others are looked up.
    static CONNECTIONS: RefCell<Vec<(Weak<Target>, sea_orm_sync::DatabaseConnection)>> =
        const { RefCell::new(Vec::new()) };
}

/// Read-only connections to one SQLite file, one per thread that reads.
#[derive(Clone)]
pub struct InlineReaders {
    target: Arc<Target>,
}

impl std::fmt::Debug for InlineReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InlineReaders")
    }
}

impl InlineReaders {
    /// Readers of the SQLite file at `path`, which must exist (the writer created it).
    /// Opens this thread's connection at once, so that a file that cannot be read fails
    /// at start-up.
    pub fn open(path: &std::path::Path, mmap_bytes: u64) -> Result<Self, DbErr> {
        let readers = Self {
            target: Arc::new(Target {
                url: sqlite_url(path)?,
                mmap_bytes,
            }),
        };
        unlogged(|| readers.this_threads_connection())?;
        Ok(readers)
    }

    /// Whether a thread's entry is this file's.
    fn is_mine(&self, target: &Weak<Target>) -> bool {
        std::ptr::eq(target.as_ptr(), Arc::as_ptr(&self.target))
    }

    fn this_threads_connection(&self) -> Result<sea_orm_sync::DatabaseConnection, DbErr> {
        let found = CONNECTIONS.with_borrow_mut(|connections| {
            connections.retain(|(target, _)| target.strong_count() > 0);
            connections
                .iter()
                .find(|(target, _)| self.is_mine(target))
                .map(|(_, connection)| connection.clone())
        });
        if let Some(connection) = found {
            return Ok(connection);
        }
        let connection = self.target.connect()?;
        let mine = Arc::downgrade(&self.target);
        CONNECTIONS.with_borrow_mut(|connections| connections.push((mine, connection.clone())));
        Ok(connection)
    }

    /// Forgets this thread's connection (after an error that may be the connection's).
    fn drop_this_threads_connection(&self) {
        CONNECTIONS
            .with_borrow_mut(|connections| connections.retain(|(target, _)| !self.is_mine(target)));
    }

    /// Runs `select` here and now, and decodes its rows.
    pub fn query_all<T>(
        &self,
        select: &SelectStatement,
        decode: impl Fn(&QueryResult) -> Result<T, DbErr>,
    ) -> Result<Vec<T>, DbErr> {
        let rows = unlogged(|| {
            let connection = self.this_threads_connection()?;
            connection.query_all(select).map_err(|err| {
                self.drop_this_threads_connection();
                from_sync("query")(err)
            })
        })?;
        rows.iter().map(decode).collect()
    }
}

impl Target {
    fn connect(&self) -> Result<sea_orm_sync::DatabaseConnection, DbErr> {
        connect_synchronously(
            &self.url,
            &[
                // A reader that tried to write would fail loudly, not take the lock.
                "PRAGMA query_only = true".to_owned(),
                format!("PRAGMA mmap_size = {}", self.mmap_bytes),
                format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()),
            ],
        )
    }
}

/// The URL `sea-orm-sync` opens an existing SQLite file by.
pub(super) fn sqlite_url(path: &std::path::Path) -> Result<String, DbErr> {
    let path = path.to_str().ok_or_else(|| {
        DbErr::Custom(format!("the SQLite path is not UTF-8: {}", path.display()))
    })?;
    Ok(format!("sqlite://{path}?mode=rw"))
}

/// A synchronous connection to `url`, set up by `pragmas`.
pub(super) fn connect_synchronously(
    url: &str,
    pragmas: &[String],
) -> Result<sea_orm_sync::DatabaseConnection, DbErr> {
    let connection = sea_orm_sync::Database::connect(url).map_err(from_sync("open"))?;
    for pragma in pragmas {
        connection
            .execute_unprepared(pragma)
            .map_err(from_sync("set up"))?;
    }
    Ok(connection)
}

/// Runs `work` with logging off on this thread. sea-orm-sync's rusqlite driver logs every
/// statement with its values (stored session keys among them) at debug level, and has no
/// switch for it like sqlx's `sqlx_logging(false)`; what fails is returned, not logged.
pub(super) fn unlogged<T>(work: impl FnOnce() -> T) -> T {
    tracing::dispatcher::with_default(&tracing::Dispatch::none(), work)
}

/// The async crate's error for one of the synchronous crate's (two crates, two types),
/// for the inline reads and the writer's thread (`sqlite_writer`).
/// Failing to open or reach the file counts as the database being unavailable (a 503,
/// see `is_unavailable`), like the async pools' connection errors.
pub(super) fn from_sync(what: &'static str) -> impl Fn(sea_orm_sync::DbErr) -> DbErr {
    move |err| {
        let text = format!("SQLite, synchronously ({what}): {err}");
        match err {
            sea_orm_sync::DbErr::ConnectionAcquire(_) | sea_orm_sync::DbErr::Conn(_) => {
                DbErr::Conn(RuntimeErr::Internal(text))
            }
            _ => DbErr::Query(RuntimeErr::Internal(text)),
        }
    }
}

/// A model decoded from a row of an inline read, its columns named `{prefix}{column}`
/// (SeaORM's `A_`, `B_`, `C_` for the entities of a joined select).
pub trait FromInlineRow: Sized {
    fn from_inline_row(row: &QueryResult, prefix: &str) -> Result<Self, DbErr>;
}

/// `None` when the joined entity is absent (its primary key is NULL), as SeaORM decodes
/// a left join's missing side.
pub fn optional<T: FromInlineRow>(
    row: &QueryResult,
    prefix: &str,
    primary_key: impl IdenStatic,
) -> Result<Option<T>, DbErr> {
    let key: Option<i64> = get(row, prefix, primary_key)?;
    key.map(|_| T::from_inline_row(row, prefix)).transpose()
}

/// A column's value, the column named as its entity names it.
fn get<T: sea_orm_sync::TryGetable>(
    row: &QueryResult,
    prefix: &str,
    column: impl IdenStatic,
) -> Result<T, DbErr> {
    row.try_get(prefix, column.as_str())
        .map_err(from_sync("decode"))
}

impl FromInlineRow for sessions::Model {
    fn from_inline_row(row: &QueryResult, p: &str) -> Result<Self, DbErr> {
        Ok(Self {
            id: get(row, p, sessions::Column::Id)?,
            data: get(row, p, sessions::Column::Data)?,
            expires_at: get(row, p, sessions::Column::ExpiresAt)?,
            user_id: get(row, p, sessions::Column::UserId)?,
            signed_in_at: get(row, p, sessions::Column::SignedInAt)?,
            last_seen_at: get(row, p, sessions::Column::LastSeenAt)?,
            user_agent: get(row, p, sessions::Column::UserAgent)?,
            network: get(row, p, sessions::Column::Network)?,
        })
    }
}

impl FromInlineRow for users::Model {
    fn from_inline_row(row: &QueryResult, p: &str) -> Result<Self, DbErr> {
        Ok(Self {
            id: get(row, p, users::Column::Id)?,
            nickname: get(row, p, users::Column::Nickname)?,
            email: get(row, p, users::Column::Email)?,
            avatar_url: get(row, p, users::Column::AvatarUrl)?,
            created_at: get(row, p, users::Column::CreatedAt)?,
            last_login_at: get(row, p, users::Column::LastLoginAt)?,
        })
    }
}

impl FromInlineRow for identities::Model {
    fn from_inline_row(row: &QueryResult, p: &str) -> Result<Self, DbErr> {
        Ok(Self {
            id: get(row, p, identities::Column::Id)?,
            user_id: get(row, p, identities::Column::UserId)?,
            provider: get(row, p, identities::Column::Provider)?,
            provider_user_id: get(row, p, identities::Column::ProviderUserId)?,
            social_id: get(row, p, identities::Column::SocialId)?,
            access_token: get(row, p, identities::Column::AccessToken)?,
            access_token_secret: get(row, p, identities::Column::AccessTokenSecret)?,
            created_at: get(row, p, identities::Column::CreatedAt)?,
            issuer: get(row, p, identities::Column::Issuer)?,
            name: get(row, p, identities::Column::Name)?,
            email: get(row, p, identities::Column::Email)?,
            email_status: get(row, p, identities::Column::EmailStatus)?,
            avatar_url: get(row, p, identities::Column::AvatarUrl)?,
            last_used_at: get(row, p, identities::Column::LastUsedAt)?,
        })
    }
}
