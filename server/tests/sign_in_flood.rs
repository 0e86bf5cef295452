//! Sign-in floods cost nothing that others need: starts from 10,000 addresses in one IPv6
//! /48 (each in a /64 of its own, as a trusted proxy reports them) write no row, are bounded
//! by the /48's bucket, and a person signing in meanwhile from elsewhere is not held up.
//! Starts that spend a provider's quota (Twitter's request tokens) are bounded for the whole
//! instance, wherever they come from. Prints its figures (`--no-capture`); BENCHMARKS.md has
//! them.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use support::fake_provider::{FakeProvider, RequestTokenMode};
use support::TestApp;

const FLOOD_ADDRESSES: usize = 10_000;

async fn rows_written(app: &TestApp) -> i64 {
    let mut rows = 0;
    for table in ["sessions", "sign_in_claims", "users", "identities"] {
        rows += app.count(table).await;
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_starts_from_one_slash_48_writes_nothing_and_leaves_others_signing_in() {
    // The default limits: 30 at once and one a second per client, 8 times that per /48.
    let app = TestApp::start(&[("TRUSTED_PROXIES", "127.0.0.1, ::1")]).await;
    let rows_before = rows_written(&app).await;
    let (accepted, limited) = (AtomicUsize::new(0), AtomicUsize::new(0));

    let began = Instant::now();
    let flood = futures::stream::iter(0..FLOOD_ADDRESSES).for_each_concurrent(16, |n| {
        let (app, accepted, limited) = (&app, &accepted, &limited);
        async move {
            let mut browser = app.browser();
            let request = browser
                .request(reqwest::Method::GET, &app.url("/authorize/demo"))
                .header("x-forwarded-for", format!("2001:db8:bad:{n:x}::1"));
            match browser.send(request).await.status().as_u16() {
                302 => accepted.fetch_add(1, Ordering::Relaxed),
                429 => limited.fetch_add(1, Ordering::Relaxed),
                other => panic!("start {n}: {other}"),
            };
        }
    });
    let person = async {
        // Someone elsewhere, in the middle of it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut browser = app.browser();
        let started = Instant::now();
        let done = app
            .sign_in_with_demo(&mut browser, "Real Person", true)
            .await;
        assert_eq!(done.status(), 302, "the person's sign-in works");
        assert_eq!(
            app.me(&mut browser).await.unwrap()["nickname"],
            "Real Person"
        );
        started.elapsed()
    };
    let ((), person_took) = tokio::join!(flood, person);
    let flood_took = began.elapsed();

    let accepted = accepted.into_inner();
    let limited = limited.into_inner();
    assert_eq!(accepted + limited, FLOOD_ADDRESSES);
    // The /48's bucket: 240 at once, then 8 a second.
    let bound = 240 + 8 * (flood_took.as_secs() as usize + 1);
    assert!(
        accepted <= bound,
        "{accepted} starts accepted, bound {bound}"
    );
    // The person's sign-in wrote its user, identity, claim and session: 4 rows. The flood's
    // accepted starts wrote none.
    let flood_rows = rows_written(&app).await - rows_before - 4;
    assert_eq!(flood_rows, 0, "rows written by the flood");
    eprintln!(
        "flood: {FLOOD_ADDRESSES} starts from one /48 in {flood_took:.2?}: {accepted} accepted, \
         {limited} refused (429), {flood_rows} rows written ({:.3} per accepted start); a \
         person's sign-in meanwhile took {person_took:.2?}",
        flood_rows as f64 / accepted.max(1) as f64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twitter_starts_from_everywhere_spend_at_most_the_instances_budget_of_request_tokens() {
    let twitter = FakeProvider::start().await;
    twitter.set_request_token(RequestTokenMode::Granted);
    let mut vars = twitter.twitter_env();
    vars.extend([
        ("TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ("SIGN_IN_REQUEST_TOKENS_PER_MINUTE", "5".to_owned()),
    ]);
    let app = TestApp::start_owned(&vars).await;
    let start_from = |provider: &'static str, client: String| {
        let app = &app;
        async move {
            let mut browser = app.browser();
            let request = browser
                .request(
                    reqwest::Method::GET,
                    &app.url(&format!("/authorize/{provider}")),
                )
                .header("x-forwarded-for", client);
            let response = browser.send(request).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let mut statuses = Vec::new();
    // Twenty clients, each well within its own limits.
    for n in 1..=20 {
        statuses.push(start_from("twitter", format!("198.51.100.{n}")).await);
    }
    let sent = statuses.iter().filter(|(status, _)| *status == 302).count();
    assert_eq!(sent, 5, "the budget's worth were sent to Twitter");
    assert_eq!(
        twitter.seen.lock().unwrap().request_tokens,
        5,
        "tokens asked for"
    );
    let (status, page) = statuses.last().unwrap();
    assert_eq!(*status, 503);
    assert!(page.contains("temporarily unavailable"), "{page}");
    // Starts that call no provider are not held back by it.
    assert_eq!(start_from("demo", "198.51.100.99".into()).await.0, 302);
}
