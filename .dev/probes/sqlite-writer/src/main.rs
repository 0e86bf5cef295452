#[path = "../shared/entities.rs"]
mod ents;
mod flow {
    include!(concat!(env!("OUT_DIR"), "/flow.rs"));
}
use std::sync::Arc;
use std::time::Instant;

const SCHEMA: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, nickname TEXT NOT NULL, email TEXT, created_at INTEGER NOT NULL);
CREATE TABLE identities (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users(id), key TEXT NOT NULL UNIQUE, provider TEXT NOT NULL, nickname TEXT NOT NULL, last_used_at INTEGER NOT NULL);
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE claims (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL);";

fn cpu() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    (u.ru_utime.tv_sec + u.ru_stime.tv_sec) as f64
        + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].clone();
    let n: usize = args[2].parse().unwrap();
    let returning = args.get(3).map(|s| s == "returning").unwrap_or(false);
    let path = format!("/tmp/probe-{mode}.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{ext}"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let url = format!("sqlite://{path}?mode=rwc");
        type Job = Box<dyn FnOnce(&sqlite_writer_sync::sea_orm::DatabaseConnection) + Send>;
        enum Db {
            A(sea_orm::DatabaseConnection),
            S(std::sync::mpsc::Sender<Job>),
        }
        async fn on_writer<T: Send + 'static>(
            tx: &std::sync::mpsc::Sender<Job>,
            f: impl FnOnce(&sqlite_writer_sync::sea_orm::DatabaseConnection) -> T + Send + 'static,
        ) -> T {
            let (rtx, rrx) = tokio::sync::oneshot::channel();
            tx.send(Box::new(move |db| {
                let _ = rtx.send(f(db));
            }))
            .unwrap();
            rrx.await.unwrap()
        }
        let db = if mode == "async" {
            use sea_orm::{sqlx, ConnectOptions, ConnectionTrait, Database};
            let mut o = ConnectOptions::new(url);
            o.max_connections(1)
                .min_connections(1)
                .test_before_acquire(false)
                .sqlx_logging(false)
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                });
            let db = Database::connect(o).await.unwrap();
            for s in SCHEMA.split(';') {
                db.execute_unprepared(s).await.unwrap();
            }
            Db::A(db)
        } else {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            std::thread::spawn(move || {
                use sqlite_writer_sync::sea_orm::{ConnectionTrait, Database};
                let db = Database::connect(url.as_str()).unwrap();
                db.execute_unprepared("PRAGMA journal_mode=WAL").unwrap();
                db.execute_unprepared("PRAGMA synchronous=NORMAL").unwrap();
                for s in SCHEMA.split(';') {
                    db.execute_unprepared(s).unwrap();
                }
                while let Ok(job) = rx.recv() {
                    job(&db);
                }
            });
            Db::S(tx)
        };
        let db = Arc::new(db);
        if returning {
            for i in 0..n {
                let k = format!("k{i}");
                let s = format!("w{i}");
                match &*db {
                    Db::A(d) => {
                        flow::sign_in(d, &k, &s, 1).await.unwrap();
                    }
                    Db::S(d) => {
                        on_writer(d, move |db| {
                            sqlite_writer_sync::flow::sign_in(db, &k, &s, 1).unwrap()
                        })
                        .await;
                    }
                }
            }
        }
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (c0, t0) = (cpu(), Instant::now());
        let mut tasks = vec![];
        for _ in 0..16 {
            let db = db.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let k = format!("k{i}");
                    let s = format!("s{i}");
                    match &*db {
                        Db::A(d) => {
                            flow::sign_in(d, &k, &s, 2).await.unwrap();
                        }
                        Db::S(d) => {
                            let s2 = s.clone();
                            on_writer(d, move |db| {
                                sqlite_writer_sync::flow::claim(db, &s2, 2).unwrap()
                            })
                            .await;
                            let user_id = on_writer(d, move |db| {
                                sqlite_writer_sync::flow::txn(db, &k, 2).unwrap()
                            })
                            .await;
                            on_writer(d, move |db| {
                                sqlite_writer_sync::flow::session_insert(db, &s, user_id, 2)
                                    .unwrap()
                            })
                            .await;
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (c1, t1) = (cpu(), t0.elapsed().as_secs_f64());
        println!(
            "{mode} {}: {n} sign-ins in {t1:.2}s = {:.0}/s, CPU {:.1} us/sign-in",
            if returning { "returning" } else { "new" },
            n as f64 / t1,
            (c1 - c0) / n as f64 * 1e6
        );
    });
}
