//! What a returning sign-in changes: fresh tokens (kept sealed), the login time, and the
//! identity's email or picture the provider has gained; nothing the provider no longer
//! sends is wiped. Tokens earlier versions kept in plain text are sealed at start-up.

mod support;

use app::backend::db::provider_tokens;

use app::backend::db::users::{self, ProviderTokens, SignInAttempt, SignInOutcome};
use app::backend::oauth::profile::{EmailStatus, Profile};
use app::backend::secret::Secret;
use support::{database::TestDatabase, TestApp};

fn profile(email: Option<&str>, avatar: Option<&str>) -> Profile {
    Profile {
        provider_user_id: "4242".into(),
        nickname: "Back Again".into(),
        email: email.map(Into::into),
        email_status: EmailStatus::Unverified,
        avatar_url: avatar.map(Into::into),
        name_unsaid: false,
    }
}

async fn sign_in_twitter(app: &TestApp, profile: &Profile, tokens: &ProviderTokens) -> i32 {
    let attempt = SignInAttempt {
        provider: "twitter",
        issuer: "https://api.twitter.com",
        profile,
        tokens,
        token_keys: &app.state.token_keys,
        replaced_session: None,
        network: None,
        link_by_verified_email: false,
    };
    match users::sign_in_identity(&app.state_db, &attempt)
        .await
        .unwrap()
    {
        SignInOutcome::SignedIn { user_id } => user_id,
        other => panic!("{other:?}"),
    }
}

/// The tokens kept for the one identity, opened with the app's keys, as (token, secret).
async fn kept(app: &TestApp) -> Option<(String, Option<String>)> {
    let id = app
        .scalar("SELECT CAST(MIN(id) AS BIGINT) FROM identities")
        .await as i32;
    let tokens = provider_tokens::read(&app.db, &app.state.token_keys, id)
        .await
        .unwrap()?
        .tokens;
    Some((
        tokens.access_token?.expose().to_owned(),
        tokens.token_secret.map(|secret| secret.expose().to_owned()),
    ))
}

fn tokens(token: &str, secret: Option<&str>) -> ProviderTokens {
    ProviderTokens {
        access_token: Some(Secret::new(token)),
        token_secret: secret.map(Secret::new),
        ..ProviderTokens::NONE
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_returning_sign_in_refreshes_tokens_and_keeps_what_the_provider_left_out() {
    let app = TestApp::start(&[]).await;
    let first = sign_in_twitter(
        &app,
        &profile(None, None),
        &tokens("tw-token-first", Some("tw-secret-first")),
    )
    .await;
    app.execute("UPDATE identities SET last_used_at = '2001-01-01 00:00:00+00:00'")
        .await;

    let again = sign_in_twitter(
        &app,
        &profile(Some("Back@Example.com"), Some("https://img.example/a.png")),
        &tokens("tw-token-second", Some("tw-secret-second")),
    )
    .await;
    assert_eq!(again, first, "the same user");
    assert_eq!(
        app.text("SELECT email FROM identities").await.as_deref(),
        Some("back@example.com"),
        "kept on the identity, in lower case"
    );
    assert_eq!(
        app.text("SELECT email FROM users").await,
        None,
        "an unverified address is never the account's primary one"
    );
    assert_eq!(
        kept(&app).await,
        Some(("tw-token-second".into(), Some("tw-secret-second".into())))
    );
    for column in ["access_token", "access_token_secret"] {
        let plain = format!("SELECT {column} FROM identities");
        assert_eq!(app.text(&plain).await, None, "never in plain text");
    }
    let sealed = app
        .text("SELECT access_token FROM provider_tokens")
        .await
        .unwrap();
    assert!(
        sealed.starts_with("v1.") && !sealed.contains("tw-token-second"),
        "{sealed}"
    );
    let year = if app.is_postgres() {
        "SELECT CAST(EXTRACT(YEAR FROM last_used_at) AS BIGINT) FROM identities"
    } else {
        "SELECT CAST(substr(last_used_at, 1, 4) AS INTEGER) FROM identities"
    };
    assert!(app.scalar(year).await >= 2026, "the time of use stamped");

    // Signing in once more without email or picture keeps the ones we have.
    sign_in_twitter(&app, &profile(None, None), &tokens("tw-token-third", None)).await;
    assert_eq!(
        app.text("SELECT email FROM identities").await.as_deref(),
        Some("back@example.com")
    );
    assert_eq!(
        app.text("SELECT avatar_url FROM identities")
            .await
            .as_deref(),
        Some("https://img.example/a.png")
    );
    assert_eq!(
        app.text("SELECT avatar_url FROM users").await.as_deref(),
        Some("https://img.example/a.png")
    );
    assert_eq!(kept(&app).await, Some(("tw-token-third".into(), None)));
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_forgets_stored_oauth2_tokens_and_keeps_twitters() {
    use app::backend::db::migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database};

    // A database as the previous version left it (five migrations), with one OAuth 2
    // identity holding a token and one OAuth 1.0a identity holding token and secret.
    let database = TestDatabase::new().await;
    let db = Database::connect(database.url()).await.unwrap();
    Migrator::up(&db, Some(5)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO users (nickname, created_at, last_login_at) \
         VALUES ('a', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO identities (user_id, provider, provider_user_id, social_id, access_token, \
         access_token_secret, created_at) VALUES \
         (1, 'facebook', '1', 'facebook$1', 'fb-token', NULL, '2026-01-01 00:00:00'), \
         (1, 'twitter', '2', 'twitter$2', 'tw-token', 'tw-secret', '2026-01-01 00:00:00')",
    )
    .await
    .unwrap();

    Migrator::up(&db, None).await.unwrap();
    let app = TestApp::start_on(&database, None, &TWITTER).await;
    // Facebook's token, which nothing used, was forgotten by a migration; Twitter's moved
    // to its own table, sealed, and no longer sits in the identities table.
    assert_eq!(app.count("provider_tokens").await, 1);
    for column in ["access_token", "access_token_secret"] {
        let plain = format!("SELECT COUNT(*) FROM identities WHERE {column} IS NOT NULL");
        assert_eq!(app.scalar(&plain).await, 0, "{column}");
    }
    let twitter = app
        .scalar("SELECT CAST(id AS BIGINT) FROM identities WHERE provider = 'twitter'")
        .await as i32;
    let opened = provider_tokens::read(&app.db, &app.state.token_keys, twitter)
        .await
        .unwrap()
        .expect("sealed and readable")
        .tokens;
    assert_eq!(opened.access_token.unwrap().expose(), "tw-token");
    assert_eq!(opened.token_secret.unwrap().expose(), "tw-secret");
    let sealed = app
        .text("SELECT token_secret FROM provider_tokens")
        .await
        .unwrap();
    assert!(!sealed.contains("tw-secret"));
}

/// Twitter configured, so that its tokens are kept.
const TWITTER: [(&str, &str); 2] = [
    ("OAUTH_TWITTER_CLIENT_ID", "tw-key"),
    ("OAUTH_TWITTER_CLIENT_SECRET", "tw-secret"),
];
