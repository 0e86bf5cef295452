//! The hot paths' SQLite writes on a thread of their own, through SeaORM's synchronous
//! flavour (`sea-orm-sync` on rusqlite), a whole unit of writes per hand-off (issue 22).
//!
//! Through sqlx, each statement on SQLite is handed to the thread that owns the writing
//! connection and its answer handed back: a new sign-in's transaction was a dozen such
//! round trips, whose cross-thread wake-ups cost more CPU than SQLite's own work. Here a
//! unit (a sign-in's transaction, a session's insert, a claim) crosses once: its code,
//! the same async code that runs on PostgreSQL (`statements`), runs on this thread against
//! a synchronous connection, where every await is already complete, and only the outcome
//! comes back.
//!
//! The other writes (account changes, sweeps, migrations) stay on sqlx's one writing
//! connection. Two writing connections of one process lock each other out as two
//! processes do (`BEGIN IMMEDIATE`; the later one waits in SQLite's busy handler), so
//! mixing them is as safe as two instances on one file, and they rarely meet: everything
//! a sign-in and a page write is here.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, StatementBuilder};
use sea_orm_sync::{SqliteTransactionMode, TransactionOptions, TransactionTrait as _};

use super::inline_reads::{connect_synchronously, from_sync, sqlite_url};
use super::statements::{Statements, Synchronous};

/// Writes that belong together, written once for both kinds of connection (see
/// `statements`): run by [`super::Db::write_unit`] on this thread for a SQLite file, on
/// the async writing connection otherwise.
pub trait WriteUnit: Send + 'static {
    type Output: Send + 'static;
    /// Whether the unit runs in a write transaction of its own (several statements, or a
    /// read that decides a write); a single statement commits by itself.
    const TRANSACTION: bool;

    #[allow(async_fn_in_trait)] // callers are concrete: see `statements`
    async fn run(self, on: &impl Statements) -> Result<Self::Output, DbErr>;
}

/// One statement as a unit of writes: how many rows it changed.
pub struct Execute<S>(pub S);

impl<S: StatementBuilder + Send + 'static> WriteUnit for Execute<S> {
    type Output = u64;
    const TRANSACTION: bool = false;

    async fn run(self, on: &impl Statements) -> Result<u64, DbErr> {
        on.execute(on.build(&self.0)).await
    }
}

/// How the writer's connection is set up: as sqlx's writing connection is (`connect`).
pub struct WriterSetup {
    /// How long a unit may wait for its turn (the pools' acquire timeout).
    pub wait_to_start: Duration,
    pub synchronous: &'static str,
    pub busy_timeout_ms: u128,
    pub mmap_bytes: u64,
    pub autocheckpoint_pages: u32,
}

type Job = Box<dyn FnOnce(&sea_orm_sync::DatabaseConnection) + Send>;

/// The writer thread's queue. The thread ends once every clone is dropped and the queue
/// has run dry.
#[derive(Clone)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    wait_to_start: Duration,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriter")
    }
}

impl SqliteWriter {
    /// Starts the writer of the SQLite file at `path` (the schema already migrated), and
    /// waits until its connection is open, so that a file it cannot write fails start-up.
    pub fn start(path: &Path, setup: &WriterSetup) -> Result<Self, DbErr> {
        let url = sqlite_url(path)?;
        let pragmas = [
            format!("PRAGMA synchronous = {}", setup.synchronous),
            format!("PRAGMA busy_timeout = {}", setup.busy_timeout_ms),
            format!("PRAGMA mmap_size = {}", setup.mmap_bytes),
            format!("PRAGMA wal_autocheckpoint = {}", setup.autocheckpoint_pages),
            "PRAGMA foreign_keys = ON".to_owned(),
        ];
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, open_result) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                // sea-orm-sync logs every statement with its values (session keys among
                // them) at debug level: nothing on this thread is logged.
                let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
                let connection = match connect_synchronously(&url, &pragmas) {
                    Ok(connection) => connection,
                    Err(err) => {
                        let _ = opened.send(Err(err));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                for job in queue {
                    job(&connection);
                }
            })
            .map_err(|err| DbErr::Custom(format!("cannot start the SQLite writer: {err}")))?;
        open_result.recv().map_err(|_| gone())??;
        Ok(Self {
            jobs,
            wait_to_start: setup.wait_to_start,
        })
    }

    /// Runs `unit` on the writer's thread, in a transaction if it needs one, and waits for
    /// its outcome. A unit that fails is rolled back; a unit that panics is too, and
    /// fails without taking the thread with it. A unit the writer has not started within
    /// `wait_to_start` is given up, and never runs: the caller gets the pools' "timed
    /// out" (a 503), as it would waiting for a pooled connection.
    pub async fn run<U: WriteUnit>(&self, unit: U) -> Result<U::Output, DbErr> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let turn = Arc::new(AtomicU8::new(WAITING));
        let writers_turn = turn.clone();
        let job: Job = Box::new(move |connection| {
            if writers_turn
                .compare_exchange(WAITING, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return; // given up by its caller
            }
            let result = catch_unwind(AssertUnwindSafe(|| run_here(connection, unit)))
                .unwrap_or_else(|_| Err(DbErr::Custom("a SQLite write panicked".to_owned())));
            // The caller may have stopped waiting (its request was dropped).
            let _ = done.send(result);
        });
        self.jobs.send(job).map_err(|_| gone())?;
        let mut outcome = std::pin::pin!(outcome);
        tokio::select! {
            result = &mut outcome => return result.map_err(|_| gone())?,
            () = tokio::time::sleep(self.wait_to_start) => {}
        }
        if turn
            .compare_exchange(WAITING, GIVEN_UP, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        }
        // Started in time: it finishes (its statements are bounded by the busy timeout).
        outcome.await.map_err(|_| gone())?
    }
}

/// Where a unit stands: waiting in the queue, started by the writer, or given up by its
/// caller (whichever of the last two comes first wins).
const WAITING: u8 = 0;
const STARTED: u8 = 1;
const GIVEN_UP: u8 = 2;

fn run_here<U: WriteUnit>(
    connection: &sea_orm_sync::DatabaseConnection,
    unit: U,
) -> Result<U::Output, DbErr> {
    if !U::TRANSACTION {
        return completed_at_once(unit.run(&Synchronous(connection)));
    }
    let transaction = connection
        .begin_with_options(TransactionOptions {
            // The write lock up front, as `connect::write_transaction` takes it.
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .map_err(from_sync("begin"))?;
    // An error drops the transaction, which rolls it back.
    let output = completed_at_once(unit.run(&Synchronous(&transaction)))?;
    transaction.commit().map_err(from_sync("commit"))?;
    Ok(output)
}

/// The outcome of a unit whose every await was a synchronous statement: it is complete
/// after one poll. Anything else it awaited would never be woken here, so it fails.
fn completed_at_once<T>(unit: impl Future<Output = Result<T, DbErr>>) -> Result<T, DbErr> {
    match pin!(unit).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(DbErr::Custom(
            "a unit of SQLite writes waited for something other than its statements".to_owned(),
        )),
    }
}

/// The writer thread has ended (it only does when the app shuts down or it could not
/// open the file): the database is unavailable.
fn gone() -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(
        "the SQLite writer has stopped".to_owned(),
    ))
}
