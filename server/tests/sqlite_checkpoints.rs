//! SQLite's write-ahead log reaches the database file through the background checkpoint
//! task, not inside commits (see `app::backend::db::wal_checkpoint`).

mod support;

use app::backend::config::DatabaseTuning;
use app::backend::db::{connect_and_migrate, wal_checkpoint, Db};
use sea_orm::ConnectionTrait;
use support::TempDir;

const ROWS: u64 = 100;
const ROW_BYTES: u64 = 4000;

async fn file_db(dir: &TempDir) -> (Db, std::path::PathBuf) {
    let path = dir.path().join("app.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = connect_and_migrate(&url, DatabaseTuning::default())
        .await
        .expect("database");
    (db, path)
}

/// ~100 commits of a page each: far below any automatic checkpoint.
async fn write_rows(db: &Db) {
    db.write
        .execute_unprepared("CREATE TABLE filler (bytes BLOB)")
        .await
        .unwrap();
    for _ in 0..ROWS {
        db.write
            .execute_unprepared(&format!(
                "INSERT INTO filler VALUES (randomblob({ROW_BYTES}))"
            ))
            .await
            .unwrap();
    }
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[tokio::test]
async fn the_log_reaches_the_database_file_without_a_commit_checkpointing() {
    let dir = TempDir::new();
    let (db, path) = file_db(&dir).await;
    let before = file_size(&path);
    write_rows(&db).await;
    assert_eq!(
        file_size(&path),
        before,
        "the commits left their pages in the log"
    );

    let task = wal_checkpoint::spawn(&db).expect("a file database has a checkpointer");
    let deadline = tokio::time::Instant::now() + 25 * wal_checkpoint::CHECKPOINT_EVERY;
    while file_size(&path) < before + ROWS * ROW_BYTES {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log was not copied into the database file"
        );
        tokio::time::sleep(wal_checkpoint::CHECKPOINT_EVERY / 4).await;
    }
    task.abort();
}

#[tokio::test]
async fn the_writer_leaves_checkpoints_to_the_task() {
    let dir = TempDir::new();
    let (db, _) = file_db(&dir).await;
    let pages = db
        .write
        .query_one_raw(sea_orm::Statement::from_string(
            db.write.get_database_backend(),
            "PRAGMA wal_autocheckpoint",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(pages, i64::from(wal_checkpoint::WRITER_BACKSTOP_PAGES));
}

#[tokio::test]
async fn in_memory_databases_have_no_checkpoints() {
    let db = connect_and_migrate("sqlite::memory:", DatabaseTuning::default())
        .await
        .unwrap();
    assert!(wal_checkpoint::spawn(&db).is_none());
}
