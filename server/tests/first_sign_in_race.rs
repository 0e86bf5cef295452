//! Two first sign-ins of one identity, interleaved deterministically: the first has looked
//! the identity up (and found none) when the second runs. One user must come out, without
//! an error, whether the second runs on the same instance or on another instance sharing
//! the database.
//!
//! On SQLite the second waits for the first, which holds the write lock from its start
//! (`BEGIN IMMEDIATE`; its first statement, the identity's update, is a write too). The
//! paused first runs on sqlx's writing connection (pausing needs an async connection), the
//! second on the SQLite writer's thread, as every real sign-in does: two connections,
//! which SQLite locks against each other exactly as two processes, on one instance as
//! between two instances on one file. On PostgreSQL the unique index stops the first's
//! insert and the retry finds the second's user (checked: without the retry the first
//! fails with a unique violation).

mod support;

use app::backend::provider_tokens::keys::{TokenKey, TokenKeys};

use std::time::Duration;

use app::backend::db::users::{self, ProviderTokens, SignInAttempt, SignInOutcome};
use app::backend::db::Db;
use app::backend::oauth::profile::{EmailStatus, Profile};
use app::backend::secret::Secret;
use support::{TestApp, TestDatabase};

fn profile() -> Profile {
    Profile {
        provider_user_id: "10153000000000077".into(),
        nickname: "Twice".into(),
        email: None,
        email_status: EmailStatus::Unverified,
        avatar_url: None,
        name_unsaid: false,
    }
}

fn tokens() -> ProviderTokens {
    ProviderTokens {
        access_token: Some(Secret::new("token")),
        ..ProviderTokens::NONE
    }
}

static PROFILE: std::sync::LazyLock<Profile> = std::sync::LazyLock::new(profile);
static TOKENS: std::sync::LazyLock<ProviderTokens> = std::sync::LazyLock::new(tokens);
static KEYS: std::sync::LazyLock<TokenKeys> =
    std::sync::LazyLock::new(|| TokenKeys::new(TokenKey::generate(), None));

fn attempt() -> SignInAttempt<'static> {
    SignInAttempt {
        provider: "facebook",
        issuer: "https://www.facebook.com",
        profile: &PROFILE,
        tokens: &TOKENS,
        token_keys: &KEYS,
        replaced_session: None,
        network: None,
        link_by_verified_email: false,
    }
}

fn user_of(outcome: SignInOutcome) -> i32 {
    match outcome {
        SignInOutcome::SignedIn { user_id } => user_id,
        other => panic!("{other:?}"),
    }
}

/// The first sign-in runs on `first` and pauses after its read; the second runs on `second`
/// meanwhile. `app` counts the rows.
async fn overtaken_first_sign_in(app: &TestApp, first: Db, second: Db) {
    let (reached_tx, reached_rx) = tokio::sync::oneshot::channel();
    let (resume_tx, resume_rx) = tokio::sync::oneshot::channel::<()>();

    let first = tokio::spawn(async move {
        users::sign_in_identity_pausing(&first, &attempt(), || async {
            reached_tx.send(()).unwrap();
            resume_rx.await.unwrap();
        })
        .await
    });
    reached_rx.await.unwrap();

    // The first has read "no such identity" inside its transaction. Now the second runs.
    let second = tokio::spawn(async move { users::sign_in_identity(&second, &attempt()).await });
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
    let first = user_of(first.await.unwrap().expect("the first sign-in succeeds"));
    let second = user_of(second.await.unwrap().expect("the second sign-in succeeds"));
    assert_eq!(first, second, "both are the same user");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sign_in_overtaken_between_read_and_write_still_makes_one_user() {
    let app = TestApp::start(&[]).await;
    overtaken_first_sign_in(&app, app.state_db.clone(), app.state_db.clone()).await;
}

/// Two instances on one database, as behind a load balancer: each has its own connections,
/// so on SQLite only the write lock taken at `BEGIN` orders the two sign-ins.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_sign_in_overtaken_by_another_instance_still_makes_one_user() {
    let database = TestDatabase::new().await;
    let a = TestApp::start_on(&database, None, &[]).await;
    let b = TestApp::start_on(&database, None, &[]).await;
    overtaken_first_sign_in(&a, a.state_db.clone(), b.state_db.clone()).await;
}
