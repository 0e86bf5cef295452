//! Kept provider tokens (Twitter's OAuth 1.0a token and secret) are sealed at rest: absent
//! from the database in any encoding, opening only in their own row and column, readable
//! across a key rotation and moved to the new key by `server tokens reencrypt`; a loopback
//! set-up keeps its made-up key in a private file beside the database.

mod support;

use app::backend::db::provider_tokens;
use app::backend::db::users::{self, ProviderTokens, SignInAttempt, SignInOutcome};
use app::backend::oauth::profile::{EmailStatus, Profile};
use app::backend::secret::Secret;
use support::at_rest::{contains, encodings, everything_stored};
use support::{database::TestDatabase, TestApp};

const KEY_A: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
const KEY_B: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const TWITTER: [(&str, &str); 2] = [
    ("OAUTH_TWITTER_CLIENT_ID", "tw-key"),
    ("OAUTH_TWITTER_CLIENT_SECRET", "tw-secret"),
];

fn twitter_with(more: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    TWITTER.iter().chain(more).copied().collect()
}

/// Signs `subject` in with Twitter, keeping `token` and `secret`; the identity's id.
async fn sign_in(app: &TestApp, subject: &str, token: &str, secret: &str) -> i32 {
    let profile = Profile {
        provider_user_id: subject.into(),
        nickname: format!("User {subject}"),
        email: None,
        email_status: EmailStatus::Unverified,
        avatar_url: None,
        name_unsaid: false,
    };
    let tokens = ProviderTokens {
        access_token: Some(Secret::new(token)),
        token_secret: Some(Secret::new(secret)),
        ..ProviderTokens::NONE
    };
    let attempt = SignInAttempt {
        provider: "twitter",
        issuer: "https://api.twitter.com",
        profile: &profile,
        tokens: &tokens,
        token_keys: &app.state.token_keys,
        replaced_session: None,
        network: None,
        link_by_verified_email: false,
    };
    let outcome = users::sign_in_identity(&app.state_db, &attempt)
        .await
        .unwrap();
    assert!(matches!(outcome, SignInOutcome::SignedIn { .. }));
    app.scalar(&format!(
        "SELECT CAST(id AS BIGINT) FROM identities WHERE provider_user_id = '{subject}'"
    ))
    .await as i32
}

/// The identity's kept tokens as the app opens them: (token, secret).
async fn opened(app: &TestApp, identity_id: i32) -> Option<(String, String)> {
    let tokens = provider_tokens::read(&app.db, &app.state.token_keys, identity_id)
        .await
        .unwrap()?
        .tokens;
    Some((
        tokens.access_token?.expose().to_owned(),
        tokens.token_secret?.expose().to_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_tokens_are_sealed_at_rest_and_open_only_where_they_belong() {
    let app = TestApp::start(&twitter_with(&[("TOKEN_ENCRYPTION_KEY", KEY_A)])).await;
    let ann = sign_in(&app, "ann", "tw-token-ann-5c1f0d", "tw-secret-ann-93ab7e").await;
    let bob = sign_in(&app, "bob", "tw-token-bob-2e8a41", "tw-secret-bob-7d04c9").await;
    assert_eq!(
        opened(&app, ann).await,
        Some(("tw-token-ann-5c1f0d".into(), "tw-secret-ann-93ab7e".into()))
    );

    let stored = everything_stored(&app).await;
    for value in [
        "tw-token-ann-5c1f0d",
        "tw-secret-ann-93ab7e",
        "tw-token-bob-2e8a41",
    ] {
        for encoded in encodings(value) {
            assert!(
                !contains(&stored, &encoded),
                "{value} is stored as {}",
                String::from_utf8_lossy(&encoded)
            );
        }
    }

    // Ann's sealed token copied into Bob's row, or into her own secret's column, opens as
    // nothing: Bob's tokens read as none, not as Ann's.
    app.execute(&format!(
        "UPDATE provider_tokens SET access_token = \
         (SELECT access_token FROM provider_tokens WHERE identity_id = {ann}) \
         WHERE identity_id = {bob}"
    ))
    .await;
    assert_eq!(opened(&app, bob).await, None);
    app.execute(&format!(
        "UPDATE provider_tokens SET token_secret = access_token WHERE identity_id = {ann}"
    ))
    .await;
    assert_eq!(opened(&app, ann).await, None);

    // Signing in again writes fresh, sealed tokens over the broken ones.
    sign_in(&app, "bob", "tw-token-bob-new", "tw-secret-bob-new").await;
    assert_eq!(
        opened(&app, bob).await,
        Some(("tw-token-bob-new".into(), "tw-secret-bob-new".into()))
    );

    // Deleting the account deletes the tokens with the identity.
    let ann_user = app
        .scalar(&format!(
            "SELECT CAST(user_id AS BIGINT) FROM identities WHERE id = {ann}"
        ))
        .await as i32;
    app::backend::db::accounts::delete_user(&app.state_db, ann_user)
        .await
        .unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM provider_tokens WHERE identity_id = {ann}"
        ))
        .await,
        0
    );
}

/// The id of the key the stored access token was sealed with.
async fn sealed_with(app: &TestApp) -> String {
    let sealed = app
        .text("SELECT access_token FROM provider_tokens")
        .await
        .unwrap();
    sealed.split('.').nth(1).unwrap().to_owned()
}

/// `server tokens reencrypt` on `database`, with these keys.
fn reencrypt(database: &TestDatabase, keys: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["tokens", "reencrypt"])
        .env_clear()
        .envs(TWITTER)
        .envs(keys.iter().copied())
        .env("DATABASE_URL", database.url())
        .env("RUST_LOG", "off")
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_still_opens_and_reencrypt_moves_every_token_to_the_new_one() {
    let database = TestDatabase::new().await;
    let first = TestApp::start_on(
        &database,
        None,
        &twitter_with(&[("TOKEN_ENCRYPTION_KEY", KEY_A)]),
    )
    .await;
    let ann = sign_in(&first, "ann", "tw-token-ann", "tw-secret-ann").await;
    let key_a = first.state.token_keys.current().id().to_owned();
    drop(first);

    let rotated = twitter_with(&[
        ("TOKEN_ENCRYPTION_KEY", KEY_B),
        ("TOKEN_ENCRYPTION_KEY_PREVIOUS", KEY_A),
    ]);
    let second = TestApp::start_on(&database, None, &rotated).await;
    let key_b = second.state.token_keys.current().id().to_owned();
    assert_ne!(key_a, key_b);
    assert_eq!(
        opened(&second, ann).await,
        Some(("tw-token-ann".into(), "tw-secret-ann".into())),
        "the previous key opens what it sealed"
    );
    assert_eq!(sealed_with(&second).await, key_a);

    let (code, said) = reencrypt(&database, &rotated);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!("Sealed 1 identities' tokens with key {key_b}")),
        "{said}"
    );
    assert_eq!(sealed_with(&second).await, key_b);
    let (_, again) = reencrypt(&database, &rotated);
    assert!(
        again.contains("Sealed 0 identities' tokens") && again.contains("(1 had it already)"),
        "{again}"
    );
    drop(second);

    // The previous key can go now; with only the old one, nothing opens.
    let third = TestApp::start_on(
        &database,
        None,
        &twitter_with(&[("TOKEN_ENCRYPTION_KEY", KEY_B)]),
    )
    .await;
    assert_eq!(
        opened(&third, ann).await,
        Some(("tw-token-ann".into(), "tw-secret-ann".into()))
    );
    drop(third);
    let old_only = TestApp::start_on(
        &database,
        None,
        &twitter_with(&[("TOKEN_ENCRYPTION_KEY", KEY_A)]),
    )
    .await;
    assert_eq!(opened(&old_only, ann).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_set_up_keeps_a_made_up_key_in_a_private_file_beside_the_database() {
    if support::database::testing_postgres() {
        return; // a file beside a SQLite database
    }
    let database = TestDatabase::new().await;
    let first = TestApp::start_on(&database, None, &TWITTER).await;
    let ann = sign_in(&first, "ann", "tw-token-ann", "tw-secret-ann").await;
    drop(first);

    let path = database
        .url()
        .strip_prefix("sqlite://")
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let file = std::path::Path::new(path).with_file_name("token-encryption.key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "readable by the server's user only");

    // The next start reads the same key: the tokens still open.
    let second = TestApp::start_on(&database, None, &TWITTER).await;
    assert_eq!(
        opened(&second, ann).await,
        Some(("tw-token-ann".into(), "tw-secret-ann".into()))
    );
}
