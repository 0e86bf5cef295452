//! A PostgreSQL server that cannot be reached at start-up: the error says what failed and
//! where, within seconds (it used to wait 30 s and report only "pool timed out").

use std::time::{Duration, Instant};

use app::backend::db;

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_at_start_up_is_named_with_its_cause_within_seconds() {
    // Nothing listens on port 1.
    let started = Instant::now();
    let err = db::connect_and_migrate("postgres://postgres@127.0.0.1:1/test", Default::default())
        .await
        .expect_err("nothing to connect to");
    let elapsed = started.elapsed();
    let message = err.to_string();
    assert!(message.contains("127.0.0.1:1"), "names where: {message}");
    assert!(
        message.to_lowercase().contains("refused"),
        "names why: {message}"
    );
    assert!(!message.contains("pool timed out"), "{message}");
    assert!(
        elapsed < Duration::from_secs(10),
        "gave up after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(3),
        "tried more than once ({elapsed:?})"
    );
}
