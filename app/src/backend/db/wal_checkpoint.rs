//! SQLite write-ahead-log checkpoints in the background, off the writer's path.
//!
//! By default SQLite copies the log into the database file, and flushes both to disk,
//! inside whichever commit takes the log past 1,000 pages. Under sign-in load that was a
//! commit every ~0.1 s stalling the one writing connection, and every write queued behind
//! it, for a disk flush: the same benchmark ran ~850 sign-ins/s on ext4 and ~1,100 on
//! tmpfs. Here a separate connection checkpoints every [`CHECKPOINT_EVERY`] instead
//! (`PASSIVE`: it never waits for, or blocks, the writer or the readers).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::task::JoinHandle;

use super::Db;

/// Also bounds what a power cut can lose with `synchronous=NORMAL` (see `connect`).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// The writer's own automatic checkpoint, kept as a backstop should the background task
/// fall far behind (40 MB of log at SQLite's 4 KiB pages).
pub const WRITER_BACKSTOP_PAGES: u32 = 10_000;
/// SQLite's default, for connections that never write.
pub const SQLITE_DEFAULT_PAGES: u32 = 1_000;

/// Starts the background checkpoints of a SQLite file database; `None` for others.
pub fn spawn(db: &Db) -> Option<JoinHandle<()>> {
    let connection = db.wal_checkpointer.clone()?;
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(err) = checkpoint(&connection).await {
                tracing::warn!(error = %err, "SQLite checkpoint failed; will retry");
            }
        }
    }))
}

async fn checkpoint(connection: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    connection
        .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
        .await
        .map(|_| ())
}
