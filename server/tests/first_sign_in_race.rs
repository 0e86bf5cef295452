//! Two first sign-ins of one identity, interleaved deterministically: the first has looked
//! the identity up (and found none) when the second runs. One user must come out, without
//! an error. On SQLite the second waits for the first, held back twice over: by the one
//! writing connection per process, and by `BEGIN IMMEDIATE`, which takes the write lock at
//! the start (the guard between processes). With both removed (checked: a writer pool of
//! two and deferred transactions) the second no longer waits and this fails. On PostgreSQL
//! the unique index stops the first's insert and the retry finds the second's user (checked:
//! without the retry the first fails with a unique violation).

mod support;

use std::time::Duration;

use app::backend::db::users::{self, ProviderTokens};
use app::backend::oauth::profile::Profile;
use app::backend::secret::Secret;
use support::TestApp;

fn profile() -> Profile {
    Profile {
        provider_user_id: "10153000000000077".into(),
        nickname: "Twice".into(),
        email: None,
        avatar_url: None,
    }
}

fn tokens() -> ProviderTokens {
    ProviderTokens {
        access_token: Some(Secret::new("token")),
        token_secret: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sign_in_overtaken_between_read_and_write_still_makes_one_user() {
    let app = TestApp::start(&[]).await;
    let (reached_tx, reached_rx) = tokio::sync::oneshot::channel();
    let (resume_tx, resume_rx) = tokio::sync::oneshot::channel::<()>();

    let db = app.state_db.clone();
    let first = tokio::spawn(async move {
        users::sign_in_identity_pausing(&db, "facebook", &profile(), &tokens(), None, || async {
            reached_tx.send(()).unwrap();
            resume_rx.await.unwrap();
        })
        .await
    });
    reached_rx.await.unwrap();

    // The first has read "no such identity" inside its transaction. Now the second runs.
    let db = app.state_db.clone();
    let second = tokio::spawn(async move {
        users::sign_in_identity(&db, "facebook", &profile(), &tokens(), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    if app.is_postgres() {
        assert!(
            second.is_finished(),
            "PostgreSQL lets the second commit meanwhile"
        );
    } else {
        assert!(
            !second.is_finished(),
            "SQLite: the second waits for the first's write lock"
        );
    }

    resume_tx.send(()).unwrap();
    let first = first.await.unwrap().expect("the first sign-in succeeds");
    let second = second.await.unwrap().expect("the second sign-in succeeds");
    assert_eq!(first, second, "both are the same user");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
}
