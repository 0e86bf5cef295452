//! PostgreSQL going away and coming back while the app runs. Only meaningful on
//! PostgreSQL: `.dev/test-all` runs `postgres_*` tests in the PostgreSQL pass only.

mod support;

use std::time::{Duration, Instant};

use support::{database::postgres_admin, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn postgres_away_means_a_quick_readable_503_and_the_app_recovers_by_itself() {
    assert!(
        support::database::testing_postgres(),
        "run with TEST_DATABASE=postgres"
    );
    // The metrics this process records (one test per process under nextest).
    let metrics = server::metrics::recorder();
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    assert_eq!(browser.get(&app.url("/healthz")).await.status(), 200);
    app.sign_in_with_demo(&mut browser, "Steady", true).await;
    assert!(app.me(&mut browser).await.is_some());
    let name = app.database().postgres_name().unwrap().to_owned();

    // The database goes away: open connections are killed, new ones refused.
    postgres_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    postgres_admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    assert_eq!(browser.get(&app.url("/healthz")).await.status(), 503);
    for path in ["/api/me", "/"] {
        let started = Instant::now();
        let response = browser.get(&app.url(path)).await;
        assert_eq!(response.status(), 503, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: fails fast"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains("temporarily unavailable"), "{path}: {body}");
    }
    let unavailable = metrics
        .render()
        .lines()
        .find_map(|line| line.strip_prefix("db_unavailable_total "))
        .map(|value| value.parse::<f64>().unwrap());
    assert!(unavailable >= Some(2.0), "{}", metrics.render());

    // It comes back; the app reconnects without a restart and the session is still there.
    postgres_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = browser.get(&app.url("/api/me")).await;
        if response.status() == 200 {
            let me: serde_json::Value = response.json().await.unwrap();
            assert_eq!(me["nickname"], "Steady");
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(Instant::now() < deadline, "recovered within 10 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(browser.get(&app.url("/")).await.status(), 200);
    assert_eq!(browser.get(&app.url("/healthz")).await.status(), 200);
}
