//! Instances started at the same moment on an empty database (a deployment's first start,
//! or a fleet restarted at once): the migrations run once, under a lock, and every
//! instance comes up on the complete schema.

mod support;

use app::backend::config::DatabaseTuning;
use support::TestDatabase;

const INSTANCES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_an_empty_database_all_come_up() {
    let database = TestDatabase::new().await;
    let url = database.url().to_owned();
    let starts = (0..INSTANCES).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            app::backend::db::connect_and_migrate(&url, DatabaseTuning::default()).await
        })
    });
    for started in futures::future::join_all(starts).await {
        started
            .unwrap()
            .unwrap_or_else(|err| panic!("an instance failed to start: {err}"));
    }
    // Each migration applied exactly once.
    let app = support::TestApp::start_on(&database, None, &[]).await;
    let applied = app.scalar("SELECT COUNT(*) FROM seaql_migrations").await;
    let distinct = app
        .scalar("SELECT COUNT(DISTINCT version) FROM seaql_migrations")
        .await;
    assert_eq!(applied, distinct);
    assert!(applied >= 8, "{applied}");
}
