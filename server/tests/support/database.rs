//! One fresh database per test: a SQLite file in a temp dir, or, with
//! `TEST_DATABASE=postgres`, a database of its own on the local PostgreSQL server (so tests
//! can run in parallel without seeing each other's rows).

use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use super::TempDir;

/// The server and database that test databases are created from.
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn testing_postgres() -> bool {
    std::env::var("TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

pub enum TestDatabase {
    Sqlite { _dir: TempDir, url: String },
    Postgres { name: String, url: String },
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        if testing_postgres() {
            Self::new_postgres().await
        } else {
            let dir = TempDir::new();
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
            TestDatabase::Sqlite { _dir: dir, url }
        }
    }

    async fn new_postgres() -> TestDatabase {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "signin_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = admin_connection().await;
        execute(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
        execute(&admin, &format!("CREATE DATABASE {name}")).await;
        let admin_url = postgres_admin_url();
        let server = admin_url
            .rsplit_once('/')
            .map(|(server, _)| server)
            .expect("TEST_POSTGRES_URL ends in /database");
        let url = format!("{server}/{name}");
        TestDatabase::Postgres { name, url }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url, .. } | TestDatabase::Postgres { url, .. } => url,
        }
    }

    /// The PostgreSQL database's name.
    pub fn postgres_name(&self) -> Option<&str> {
        match self {
            TestDatabase::Postgres { name, .. } => Some(name),
            TestDatabase::Sqlite { .. } => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let TestDatabase::Postgres { name, .. } = self else {
            return;
        };
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // Drop cannot await; a runtime of its own on another thread can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let admin = admin_connection().await;
                execute(&admin, &statement).await;
            });
        })
        .join();
    }
}

/// Runs `sql` as the administrator of the test PostgreSQL server.
pub async fn postgres_admin(sql: &str) {
    execute(&admin_connection().await, sql).await;
}

async fn admin_connection() -> DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(postgres_admin_url());
    options.sqlx_logging(false).max_connections(1);
    Database::connect(options)
        .await
        .expect("the test PostgreSQL server (TEST_POSTGRES_URL) is reachable")
}

async fn execute(db: &DatabaseConnection, sql: &str) {
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|err| panic!("{sql}: {err}"));
}
