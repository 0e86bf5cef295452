//! How long sessions live, when they are written, and that ended sessions stay ended.
//! The numbers are the README's: remembered 30 idle days (renewed at most daily, 90 days at
//! most), otherwise a browser-session cookie and 12 idle hours on the server (renewed at
//! most hourly, 7 days at most).

mod support;

use std::{str::FromStr, sync::Arc};

use app::backend::session_store::{storage_key, SeaOrmSessionStore};
use support::{max_age, now, Browser, TestApp};
use tower_sessions::{session::Id, Session};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

async fn stored_expiry(app: &TestApp) -> i64 {
    app.scalar("SELECT expires_at FROM sessions").await
}

fn session_set_cookies(browser: &Browser) -> Vec<&String> {
    browser
        .set_cookie_log
        .iter()
        .filter(|c| c.starts_with("session="))
        .collect()
}

fn assert_near(actual: i64, expected: i64, what: &str) {
    assert!(
        (actual - expected).abs() <= 5,
        "{what}: {actual} is not about {expected}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_stored_under_a_hash_of_their_id() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Hashed", true).await;
    let cookie = browser.session_cookie().unwrap();
    let id = Id::from_str(&cookie).unwrap();

    let plain = format!("SELECT COUNT(*) FROM sessions WHERE id = '{cookie}'");
    assert_eq!(
        app.scalar(&plain).await,
        0,
        "the cookie value is not stored"
    );
    let hashed = format!(
        "SELECT COUNT(*) FROM sessions WHERE id = '{}'",
        storage_key(&id)
    );
    assert_eq!(app.scalar(&hashed).await, 1);

    // Someone who read the table and presents the stored key as a cookie gets nothing.
    let stored = app.text("SELECT id FROM sessions").await.unwrap();
    let mut thief = app.browser();
    thief.cookies.insert("session".into(), stored);
    assert!(app.me(&mut thief).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn using_a_session_writes_nothing_until_renewal_is_due() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Reader", true).await;
    // A minute has passed since the sign-in: a renewal now would move the deadline, so
    // only the once-a-day rule keeps these requests from writing.
    let deadline = stored_expiry(&app).await - 60;
    app.edit_sessions(|data| data["session.deadline"] = deadline.into())
        .await;
    app.execute(&format!("UPDATE sessions SET expires_at = {deadline}"))
        .await;
    let expiry = stored_expiry(&app).await;
    let data = app.text("SELECT data FROM sessions").await;
    let cookies_before = session_set_cookies(&browser).len();

    for _ in 0..3 {
        assert!(app.me(&mut browser).await.is_some());
        assert_eq!(browser.get(&app.url("/")).await.status(), 200);
    }
    assert_eq!(stored_expiry(&app).await, expiry, "no write");
    assert_eq!(app.text("SELECT data FROM sessions").await, data);
    assert_eq!(
        session_set_cookies(&browser).len(),
        cookies_before,
        "no Set-Cookie on plain use"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_session_lasts_thirty_idle_days_and_is_renewed_daily() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Daily", true).await;
    assert_near(stored_expiry(&app).await, now() + 30 * DAY, "at sign-in");

    // A day and a bit pass: the deadline is 29 days away, and using the session renews it.
    let deadline = now() + 29 * DAY - HOUR;
    app.edit_sessions(|data| data["session.deadline"] = deadline.into())
        .await;
    app.execute(&format!("UPDATE sessions SET expires_at = {deadline}"))
        .await;
    assert!(app.me(&mut browser).await.is_some());
    assert_near(stored_expiry(&app).await, now() + 30 * DAY, "renewed");
    let cookie = session_set_cookies(&browser).last().unwrap().to_string();
    assert_near(max_age(&cookie).unwrap(), 30 * DAY, "the cookie follows");

    // Unused for longer than the deadline: gone.
    app.execute("UPDATE sessions SET expires_at = 1").await;
    assert!(app.me(&mut browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_session_ends_ninety_days_after_sign_in_however_active() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Capped", true).await;
    let signed_in_long_ago = now() - 90 * DAY;
    app.edit_sessions(|data| data["auth.signed_in"]["at"] = signed_in_long_ago.into())
        .await;
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(app.count("sessions").await, 0, "the record is deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_remember_me_the_cookie_ends_with_the_browser_and_the_server_after_twelve_idle_hours(
) {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Brief", false).await;
    let cookie = session_set_cookies(&browser).last().unwrap().to_string();
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    assert_near(
        stored_expiry(&app).await,
        now() + 12 * HOUR,
        "server idle limit",
    );

    // Used after more than an hour: renewed to twelve hours from now, cookie still a
    // browser-session one.
    let deadline = now() + 11 * HOUR - 60;
    app.edit_sessions(|data| data["session.deadline"] = deadline.into())
        .await;
    assert!(app.me(&mut browser).await.is_some());
    assert_near(stored_expiry(&app).await, now() + 12 * HOUR, "renewed");
    let cookie = session_set_cookies(&browser).last().unwrap().to_string();
    assert!(!cookie.contains("Max-Age"), "{cookie}");

    // Seven days after sign-in it ends, however active.
    let signed_in_long_ago = now() - 7 * DAY;
    app.edit_sessions(|data| data["auth.signed_in"]["at"] = signed_in_long_ago.into())
        .await;
    assert!(app.me(&mut browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_another_sign_in_neither_shortens_nor_extends_the_signed_in_session() {
    for remember in [true, false] {
        let app = TestApp::start(&[]).await;
        let mut browser = app.browser();
        app.sign_in_with_demo(&mut browser, "Again", remember).await;
        // Some time has passed since the sign-in, not enough to renew on use.
        let deadline = stored_expiry(&app).await - if remember { 12 * HOUR } else { 30 * 60 };
        app.edit_sessions(|data| data["session.deadline"] = deadline.into())
            .await;
        app.execute(&format!("UPDATE sessions SET expires_at = {deadline}"))
            .await;

        // The sign-in in progress lives in a cookie of its own: the session is not touched.
        let session_cookies_before = session_set_cookies(&browser).len();
        let start = browser.get(&app.url("/authorize/demo")).await;
        assert_eq!(start.status(), 302);
        assert_eq!(stored_expiry(&app).await, deadline, "remember={remember}");
        assert_eq!(
            session_set_cookies(&browser).len(),
            session_cookies_before,
            "the session cookie is not set again"
        );
        assert!(app.me(&mut browser).await.is_some(), "still signed in");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_races_logout_does_not_bring_the_session_back() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Racer", true).await;
    let id = Id::from_str(&browser.session_cookie().unwrap()).unwrap();
    let store = Arc::new(SeaOrmSessionStore::new(app.state_db.clone()));

    // A slow request loads the session...
    let slow_request = Session::new(Some(id), store.clone(), None);
    assert!(slow_request
        .get_value("auth.user_id")
        .await
        .unwrap()
        .is_some());
    // ...meanwhile the person logs out...
    let logout = browser.post_form(&app.url("/logout"), &[]).await;
    assert!(logout.status().is_redirection() || logout.status().is_success());
    assert_eq!(app.count("sessions").await, 0);
    // ...and then the slow request writes and saves.
    slow_request.insert("late.write", 1).await.unwrap();
    slow_request.save().await.unwrap();

    assert_eq!(app.count("sessions").await, 0, "not re-created");
    let mut old_cookie = app.browser();
    old_cookie.cookies.insert("session".into(), id.to_string());
    assert!(app.me(&mut old_cookie).await.is_none());
}
