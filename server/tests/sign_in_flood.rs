//! Sign-in floods cost nothing that others need: starts from 10,000 addresses in one IPv6
//! /48 (each in a /64 of its own, as a trusted proxy reports them) write no row, are bounded
//! by the /48's bucket, and a person signing in meanwhile from elsewhere is not held up.
//! Prints its figures (`--no-capture`); BENCHMARKS.md has them.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
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
