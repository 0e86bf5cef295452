//! `server doctor` against local stand-ins: the callback URL to register, and each problem
//! in one sentence naming the setting to change.

mod support;

use std::collections::HashMap;

use app::backend::{config::Config, doctor, oauth::protocol};
use support::fake_issuer::FakeIssuer;
use support::fake_provider::{FakeProvider, RequestTokenMode, TokenMode};

fn config(vars: &[(&str, String)]) -> Config {
    let mut vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    vars.entry("SECRET_KEY".into())
        .or_insert_with(|| "the doctor tests' secret key, 32+ bytes".into());
    Config::from_vars(vars).expect("valid configuration")
}

async fn report_for(vars: &[(&str, String)]) -> doctor::Report {
    let config = config(vars);
    doctor::examine(&config, &protocol::provider_client(&config)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_binary_names_callbacks_and_refused_credentials() {
    let facebook = FakeProvider::start().await;
    // A provider that knows the client refuses only the made-up code.
    facebook.set_token(TokenMode::InvalidGrant);
    let github = FakeProvider::start().await;
    github.set_token(TokenMode::OAuthError {
        status: 200,
        error: "incorrect_client_credentials",
    });
    let mut vars = facebook.facebook_env();
    vars.extend(github.github_env());
    vars.push(("PUBLIC_URL", "http://127.0.0.1:3999".into()));

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("doctor")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "off")
        .output()
        .expect("runs");
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{text}");
    for expected in [
        "Facebook: register this callback URL with the provider: http://127.0.0.1:3999/callback/facebook",
        "ok: Facebook accepts the client id and secret (OAUTH_FACEBOOK_CLIENT_ID)",
        "GitHub: register this callback URL with the provider: http://127.0.0.1:3999/callback/github",
        "PROBLEM: GitHub refuses the client credentials: check OAUTH_GITHUB_CLIENT_ID and OAUTH_GITHUB_CLIENT_SECRET",
        "ok: the built-in demo provider is on",
        "Problems found",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("gh-client-secret-s3cr3t") && !text.contains("fb-client-secret-s3cr3t"));
    // The check offered a made-up code with the client's credentials.
    let seen = facebook.seen.lock().unwrap();
    assert!(seen.token_bodies[0].contains("client_id=fb-client-id"));
    assert!(seen.token_bodies[0].contains("code=social-signin-doctor-made-up-code"));
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_where_https_is_required_is_a_problem_with_its_setting() {
    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::InvalidGrant);
    let mut vars = fake.facebook_env();
    vars.push(("PUBLIC_URL", "http://signin.example.com".into()));
    let report = report_for(&vars).await;
    let text = report.to_text();
    assert!(report.has_problems());
    assert!(
        text.contains("PROBLEM: PUBLIC_URL is http://signin.example.com/: cookies and sign-in codes would cross the network unencrypted"),
        "{text}"
    );
    assert!(
        text.contains("PROBLEM: Facebook accepts only https:// callback URLs: set PUBLIC_URL"),
        "{text}"
    );
    // The stand-in's own http:// endpoints are on this machine: no complaint about them.
    assert!(!text.contains("OAUTH_FACEBOOK_TOKEN_URL is"), "{text}");

    let mut vars = fake.facebook_env();
    vars.push(("PUBLIC_URL", "https://signin.example.com".into()));
    vars.push((
        "OAUTH_FACEBOOK_TOKEN_URL",
        "http://graph.example.com/oauth/access_token".into(),
    ));
    vars.push(("OAUTH_HTTP_TIMEOUT_MS", "200".into()));
    let text = report_for(&vars).await.to_text();
    assert!(
        text.contains("PROBLEM: OAUTH_FACEBOOK_TOKEN_URL is http://graph.example.com/oauth/access_token: credentials would cross the network unencrypted"),
        "{text}"
    );
    assert!(
        text.contains("PROBLEM: cannot reach Facebook at OAUTH_FACEBOOK_TOKEN_URL"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_oauth1_callback_and_a_clean_set_up() {
    let fake = FakeProvider::start().await;
    fake.set_request_token(RequestTokenMode::Unconfirmed);
    let mut vars = fake.twitter_env();
    vars.push(("PUBLIC_URL", "http://127.0.0.1:3998".into()));
    let text = report_for(&vars).await.to_text();
    assert!(
        text.contains("PROBLEM: Twitter does not accept the callback URL http://127.0.0.1:3998/callback/twitter: register it there"),
        "{text}"
    );

    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::InvalidGrant);
    let mut vars = fake.facebook_env();
    vars.push(("PUBLIC_URL", "http://127.0.0.1:3998".into()));
    let report = report_for(&vars).await;
    assert!(!report.has_problems(), "{}", report.to_text());
    assert!(report.to_text().ends_with("No problems found.\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_openid_connect_issuer_is_checked_through_its_discovery() {
    let issuer = FakeIssuer::start().await;
    let text = report_for(&issuer.env()).await.to_text();
    for expected in [
        "Corp: register this callback URL with the provider: http://127.0.0.1:3000/callback/corp",
        "ok: Corp accepts the client id and secret (OAUTH_CORP_CLIENT_ID)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    // A wrong secret, checked at the token endpoint the issuer's metadata names.
    let mut vars = issuer.env();
    vars.retain(|(name, _)| *name != "OAUTH_CORP_CLIENT_SECRET");
    vars.push(("OAUTH_CORP_CLIENT_SECRET", "wrong".into()));
    let text = report_for(&vars).await.to_text();
    assert!(
        text.contains("PROBLEM: Corp refuses the client credentials: check OAUTH_CORP_CLIENT_ID"),
        "{text}"
    );

    // An issuer address that differs from the one the issuer names (a trailing slash).
    let mut vars = issuer.env();
    vars.retain(|(name, _)| *name != "OAUTH_CORP_ISSUER");
    vars.push(("OAUTH_CORP_ISSUER", format!("{}/", issuer.base_url)));
    let text = report_for(&vars).await.to_text();
    assert!(
        text.contains("PROBLEM: the discovery of Corp at OAUTH_CORP_ISSUER failed:"),
        "{text}"
    );

    // An issuer that cannot be discovered at all.
    issuer.set_metadata_status(Some(500));
    let text = report_for(&issuer.env()).await.to_text();
    assert!(
        text.contains("PROBLEM: the discovery of Corp at OAUTH_CORP_ISSUER failed: HTTP 500"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_names_the_key_that_seals_kept_tokens() {
    const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let twitter = [
        ("OAUTH_TWITTER_CLIENT_ID", "tw-key".to_owned()),
        ("OAUTH_TWITTER_CLIENT_SECRET", "tw-secret".to_owned()),
        ("OAUTH_HTTP_TIMEOUT_MS", "200".to_owned()),
        (
            "OAUTH_TWITTER_REQUEST_TOKEN_URL",
            "http://127.0.0.1:9/rt".to_owned(),
        ),
    ];
    let key_id = app::backend::provider_tokens::keys::TokenKey::parse(KEY)
        .unwrap()
        .id()
        .to_owned();
    let mut given = twitter.to_vec();
    given.push(("TOKEN_ENCRYPTION_KEY", KEY.to_owned()));
    given.push(("TOKEN_ENCRYPTION_KEY_PREVIOUS", KEY.to_owned()));
    let text = report_for(&given).await.to_text();
    assert!(
        text.contains(&format!(
            "ok: kept provider tokens are sealed with TOKEN_ENCRYPTION_KEY (key {key_id})"
        )),
        "{text}"
    );
    assert!(
        text.contains("run `server tokens reencrypt`, then remove it"),
        "{text}"
    );
    assert!(!text.contains(KEY), "the key itself is never printed");

    // A loopback set-up: the key file to come, then the one made.
    let folder = support::TempDir::new();
    let mut loopback = twitter.to_vec();
    let database = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("app.db").display()
    );
    loopback.push(("DATABASE_URL", database));
    let file = folder.path().join("token-encryption.key");
    let text = report_for(&loopback).await.to_text();
    assert!(
        text.contains(&format!("will be made in {}", file.display())),
        "{text}"
    );
    std::fs::write(&file, format!("{KEY}\n")).unwrap();
    let text = report_for(&loopback).await.to_text();
    assert!(
        text.contains(&format!(
            "sealed with the key in {} (key {key_id})",
            file.display()
        )),
        "{text}"
    );
    std::fs::write(&file, "garbage").unwrap();
    assert!(report_for(&loopback)
        .await
        .to_text()
        .contains("PROBLEM: the key file"));
}

#[tokio::test(flavor = "multi_thread")]
async fn apple_is_checked_with_the_client_secret_it_signs_and_its_return_url_rules() {
    const KEY: &str = include_str!("../../app/src/backend/oauth/testdata/apple-test-key.p8");
    let issuer = FakeIssuer::start().await;
    issuer.set_token_auth_methods(Some(&["client_secret_post"]));
    // Apple's check: a JWT under our key id (the signature is proven in tests/apple.rs).
    issuer.set_client_secret_check(|secret| {
        jsonwebtoken::decode_header(secret).is_ok_and(|h| h.kid.as_deref() == Some("KEY1234567"))
    });
    let apple = |key_id: &str, public_url: &str| {
        vec![
            ("OAUTH_APPLE_ISSUER", issuer.base_url.clone()),
            (
                "OAUTH_APPLE_CLIENT_ID",
                support::fake_issuer::CLIENT_ID.to_owned(),
            ),
            ("OAUTH_APPLE_TEAM_ID", "TEAM123456".to_owned()),
            ("OAUTH_APPLE_KEY_ID", key_id.to_owned()),
            ("OAUTH_APPLE_PRIVATE_KEY", KEY.to_owned()),
            ("PUBLIC_URL", public_url.to_owned()),
        ]
    };
    let text = report_for(&apple("KEY1234567", "http://127.0.0.1:3000"))
        .await
        .to_text();
    for expected in [
        "Apple: register this callback URL with the provider: http://127.0.0.1:3000/callback/apple",
        "PROBLEM: Apple accepts only https:// return URLs on a domain name (not localhost, not an IP address)",
        "ok: OAUTH_APPLE_PRIVATE_KEY signs Apple's client secrets (ES256, team TEAM123456, key KEY1234567)",
        "ok: Apple accepts the client id and secret (OAUTH_APPLE_CLIENT_ID)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("PRIVATE KEY-----"), "{text}");

    // Another key id than Apple knows for this key; an https site on a domain.
    let vars = apple("KEY7654321", "https://signin.example.com");
    let text = report_for(&vars).await.to_text();
    assert!(
        text.contains(
            "PROBLEM: Apple refuses the client credentials: check OAUTH_APPLE_CLIENT_ID, \
             OAUTH_APPLE_TEAM_ID, OAUTH_APPLE_KEY_ID and the key (OAUTH_APPLE_PRIVATE_KEY)"
        ),
        "{text}"
    );
    assert!(!text.contains("return URLs on a domain name"), "{text}");
}
