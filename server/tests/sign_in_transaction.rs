//! A sign-in writes the user, the identity and the end of the session it replaces in one
//! transaction (one commit on SQLite's single writer instead of two): all of it or, when
//! something fails, none of it.

mod support;

use app::backend::provider_tokens::keys::{TokenKey, TokenKeys};

use app::backend::db::users::{self, ProviderTokens, SignInAttempt, SignInOutcome};
use app::backend::oauth::profile::{EmailStatus, Profile};
use support::TestApp;

const REPLACED: &str = "stored-key-of-the-replaced-session";
const UNRELATED: &str = "stored-key-of-someone-elses-session";

fn profile() -> Profile {
    Profile {
        provider_user_id: "777".into(),
        nickname: "Once".into(),
        email: None,
        email_status: EmailStatus::Unverified,
        avatar_url: None,
        name_unsaid: false,
    }
}

async fn with_two_sessions() -> TestApp {
    let app = TestApp::start(&[]).await;
    app.execute(&format!(
        "INSERT INTO sessions (id, data, expires_at) VALUES \
         ('{REPLACED}', '{{}}', 9999999999), ('{UNRELATED}', '{{}}', 9999999999)"
    ))
    .await;
    app
}

async fn session_exists(app: &TestApp, key: &str) -> bool {
    app.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE id = '{key}'"))
        .await
        == 1
}

async fn sign_in(app: &TestApp, replaced: Option<&str>) -> Result<i32, sea_orm::DbErr> {
    let attempt = SignInAttempt {
        provider: "facebook",
        issuer: "https://www.facebook.com",
        profile: &profile(),
        tokens: &ProviderTokens::NONE,
        token_keys: &TokenKeys::new(TokenKey::generate(), None),
        replaced_session: replaced,
        network: None,
        link_by_verified_email: false,
    };
    match users::sign_in_identity(&app.state_db, &attempt).await? {
        SignInOutcome::SignedIn { user_id } => Ok(user_id),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_and_returning_sign_ins_delete_exactly_the_replaced_session() {
    let app = with_two_sessions().await;
    let first = sign_in(&app, Some(REPLACED)).await.unwrap();
    assert!(!session_exists(&app, REPLACED).await);
    assert!(session_exists(&app, UNRELATED).await);

    // Returning: another replaced session, the same user.
    app.execute(&format!(
        "INSERT INTO sessions (id, data, expires_at) VALUES ('{REPLACED}', '{{}}', 9999999999)"
    ))
    .await;
    let again = sign_in(&app, Some(REPLACED)).await.unwrap();
    assert_eq!(again, first);
    assert!(!session_exists(&app, REPLACED).await);
    assert!(session_exists(&app, UNRELATED).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_first_sign_in_keeps_the_session_it_would_have_replaced() {
    let app = with_two_sessions().await;
    // The user row goes in, then the identity insert fails.
    app.fail_inserts_into("identities").await;
    assert!(sign_in(&app, Some(REPLACED)).await.is_err());
    assert_eq!(app.count("users").await, 0);
    assert!(
        session_exists(&app, REPLACED).await,
        "the delete was rolled back with the rest"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_returning_sign_in_keeps_the_session_it_would_have_replaced() {
    let app = with_two_sessions().await;
    sign_in(&app, None).await.unwrap();
    // The user's update goes through, then the identity's fails.
    app.fail_writes_to("identities", "UPDATE").await;
    app.execute("UPDATE users SET last_login_at = '2001-01-01 00:00:00+00:00'")
        .await;
    assert!(sign_in(&app, Some(REPLACED)).await.is_err());
    assert!(session_exists(&app, REPLACED).await);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE last_login_at < '2002-01-01'")
            .await,
        1,
        "the user's update was rolled back too"
    );
}
