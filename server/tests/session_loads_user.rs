//! A signed-in session is read with its user and identities in one query (issue 22): the
//! copy serves that request only, never outlives it, and is never stored.

mod support;

use std::{str::FromStr, sync::Arc};

use app::backend::{
    auth_user,
    session_store::{SeaOrmSessionStore, LOADED_USER_KEY},
};
use tower_sessions::{session::Id, Session};

use support::TestApp;

fn session_of(app: &TestApp, cookie: &str) -> Session {
    let store = Arc::new(SeaOrmSessionStore::new(app.state_db.clone()));
    Session::new(Some(Id::from_str(cookie).unwrap()), store, None)
}

#[tokio::test(flavor = "multi_thread")]
async fn loading_a_signed_in_session_brings_its_user_which_is_never_stored() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Loaded", true).await;
    let session = session_of(&app, &browser.session_cookie().unwrap());

    let loaded = session.get_value(LOADED_USER_KEY).await.unwrap().unwrap();
    assert_eq!(loaded["nickname"], "Loaded");
    assert_eq!(loaded["identities"][0]["provider"], "demo");
    assert_eq!(loaded["identities"].as_array().unwrap().len(), 1);
    let user = auth_user::current_user(&app.state_db.read, &app.state.config, &session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.nickname, "Loaded");
    assert_eq!(
        user.identities[0].label, "Demo",
        "labelled as the configuration names the provider"
    );

    // A write to the session stores what it holds, not the copy of the user.
    session.insert("late.write", 1).await.unwrap();
    session.save().await.unwrap();
    let stored = app.rows("SELECT data FROM sessions").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].contains("late.write"), "{}", stored[0]);
    assert!(!stored[0].contains("loaded."), "{}", stored[0]);
    assert!(!stored[0].contains("Loaded"), "{}", stored[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_sees_the_user_as_stored_now() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Before", true).await;
    assert_eq!(app.me(&mut browser).await.unwrap()["nickname"], "Before");
    app.execute("UPDATE users SET nickname = 'After'").await;
    assert_eq!(app.me(&mut browser).await.unwrap()["nickname"], "After");
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("After"), "the page reads it again too");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_another_user_is_not_trusted() {
    let app = TestApp::start(&[]).await;
    let mut first = app.browser();
    app.sign_in_with_demo(&mut first, "First", true).await;
    let mut second = app.browser();
    app.sign_in_with_demo(&mut second, "Second", true).await;
    let second_id = app.me(&mut second).await.unwrap()["id"].clone();

    // The first browser's session, loaded, then handed to the second user in the same
    // request (as a sign-in does): the copy read with it names the first user.
    let session = session_of(&app, &first.session_cookie().unwrap());
    assert_eq!(
        session.get_value(LOADED_USER_KEY).await.unwrap().unwrap()["nickname"],
        "First"
    );
    session
        .insert("auth.user_id", second_id.as_i64().unwrap())
        .await
        .unwrap();
    let user = auth_user::current_user(&app.state_db.read, &app.state.config, &session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.nickname, "Second");
}

/// On a SQLite file the session is read on the request's own thread through sea-orm-sync
/// (`db::inline_reads`); elsewhere through the async pools. Both read the same record,
/// times included, whichever way they were written.
#[tokio::test(flavor = "multi_thread")]
async fn the_inline_read_and_the_pooled_read_load_the_same_record() {
    let app = TestApp::start(&[]).await;
    if app.state_db.inline_read.is_none() {
        return; // PostgreSQL: one way only, tested by everything else.
    }
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Twice", true).await;
    // A second identity, its times as sqlx writes them (RFC 3339) and as SQLite's own
    // functions do (space-separated).
    app.execute(
        "INSERT INTO identities (user_id, provider, provider_user_id, social_id, created_at, \
         issuer, name, email, email_status, avatar_url, last_used_at) \
         SELECT id, 'github', '42', 'https://github.com 42', '2026-01-02T03:04:05.123456789Z', \
         'https://github.com', 'Octo', 'o@example.com', 'verified', NULL, \
         '2026-02-03 04:05:06+00:00' FROM users",
    )
    .await;
    let cookie = browser.session_cookie().unwrap();
    let id = Id::from_str(&cookie).unwrap();

    let inline = SeaOrmSessionStore::new(app.state_db.clone());
    let mut pooled_db = app.state_db.clone();
    pooled_db.inline_read = None;
    let pooled = SeaOrmSessionStore::new(pooled_db);
    use tower_sessions::SessionStore as _;
    let from_inline = inline.load(&id).await.unwrap().unwrap();
    let from_pool = pooled.load(&id).await.unwrap().unwrap();
    assert_eq!(from_inline.data, from_pool.data);
    assert_eq!(from_inline.expiry_date, from_pool.expiry_date);

    let identities = from_inline.data[LOADED_USER_KEY]["identities"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(identities.len(), 2, "{identities:?}");
    assert_eq!(identities[1]["subject"], "42");
    assert_eq!(identities[1]["linked_at"], 1_767_323_045);
    assert_eq!(identities[1]["last_used_at"], 1_770_091_506);
    assert!(identities[0]["linked_at"].as_i64().unwrap() > 1_767_323_045);

    // An ended session is gone both ways.
    app.execute("DELETE FROM sessions").await;
    assert!(inline.load(&id).await.unwrap().is_none());
    assert!(pooled.load(&id).await.unwrap().is_none());
}
