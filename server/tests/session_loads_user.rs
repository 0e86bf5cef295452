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
