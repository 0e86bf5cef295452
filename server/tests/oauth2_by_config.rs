//! Any OAuth 2 provider by configuration alone (`OAUTH_<NAME>_AUTHORIZE_URL` and friends),
//! against a local stand-in: the authorization request (state, PKCE S256, the configured
//! scopes), the code exchange with HTTP Basic, the profile read through the configured
//! JSON pointers, an address verified only when the named field says so.

mod support;

use serde_json::json;
use support::{
    fake_provider::{FakeProvider, UserinfoMode, ACCESS_TOKEN},
    location, query_param, TestApp,
};

/// "Acme", a Discord-shaped provider: its user under `/user`, `verified` beside the address.
fn acme_env(fake: &FakeProvider, more: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "OAUTH_ACME_AUTHORIZE_URL",
            format!("{}/oauth2/authorize", fake.base_url),
        ),
        (
            "OAUTH_ACME_TOKEN_URL",
            format!("{}/oauth/access_token", fake.base_url),
        ),
        ("OAUTH_ACME_USERINFO_URL", format!("{}/me", fake.base_url)),
        ("OAUTH_ACME_CLIENT_ID", "acme-client".into()),
        ("OAUTH_ACME_CLIENT_SECRET", "acme-s3cr3t".into()),
        ("OAUTH_ACME_SCOPES", "identify email".into()),
        ("OAUTH_ACME_SUBJECT_FIELD", "/user/id".into()),
        ("OAUTH_ACME_NAME_FIELD", "/user/global_name".into()),
        ("OAUTH_ACME_EMAIL_FIELD", "/user/email".into()),
        ("OAUTH_ACME_AVATAR_FIELD", "/user/avatar".into()),
        ("SIGN_IN_RATE_LIMIT_BURST", "0".into()),
    ];
    env.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

fn acme_user(verified: bool) -> serde_json::Value {
    json!({"user": {
        "id": "80351110224678912", "username": "nelly", "global_name": "Nelly",
        "email": "nelly@example.com", "verified": verified,
        "avatar": "https://cdn.acme.example/avatars/8035.png"
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oauth2_provider_configured_by_variables_alone_signs_people_in() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(acme_user(true)));
    let app = TestApp::start_owned(&acme_env(
        &fake,
        &[("OAUTH_ACME_EMAIL_VERIFIED_FIELD", "/user/verified")],
    ))
    .await;
    let mut browser = app.browser();
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains("Sign in with Acme"), "{home}");

    let start = browser.get(&app.url("/authorize/acme")).await;
    assert_eq!(start.status(), 302);
    let authorize = location(&start);
    assert!(
        authorize.starts_with(&format!("{}/oauth2/authorize?", fake.base_url)),
        "{authorize}"
    );
    let param = |name: &str| query_param(&authorize, name);
    assert_eq!(param("response_type").as_deref(), Some("code"));
    assert_eq!(param("client_id").as_deref(), Some("acme-client"));
    assert_eq!(param("scope").as_deref(), Some("identify email"));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert!(param("code_challenge").is_some_and(|c| c.len() == 43));
    let state = param("state").expect("state");

    let done = browser
        .get(&app.url(&format!("/callback/acme?code=acme-code&state={state}")))
        .await;
    assert_eq!(done.status(), 302);
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Nelly");
    let identity = &me["identities"][0];
    assert_eq!(identity["provider"], "acme");
    assert_eq!(identity["subject"], "80351110224678912");
    assert_eq!(identity["email"], "nelly@example.com");
    assert_eq!(identity["email_status"], "verified");
    assert_eq!(
        identity["issuer"],
        fake.base_url.as_str(),
        "the provider's site vouches for its identities"
    );

    // The code exchange: HTTP Basic with the client's credentials, the PKCE verifier; the
    // profile read with the token it gave.
    let seen = fake.seen.lock().unwrap();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "acme-client:acme-s3cr3t",
    );
    assert_eq!(
        seen.token_auth_headers.last().cloned().flatten(),
        Some(format!("Basic {basic}"))
    );
    let body = seen.token_bodies.last().unwrap();
    assert!(body.contains("code=acme-code"), "{body}");
    assert!(body.contains("code_verifier="), "{body}");
    assert!(
        !body.contains("acme-s3cr3t"),
        "not in the body as well: {body}"
    );
    assert_eq!(
        seen.userinfo_auth_headers.last().cloned().flatten(),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_is_unverified_unless_the_named_field_says_so() {
    let fake = FakeProvider::start().await;
    // The answer says verified, but no field was named to read it from.
    fake.set_userinfo(UserinfoMode::Profile(acme_user(true)));
    let app = TestApp::start_owned(&acme_env(&fake, &[])).await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "acme", "").await;
    let done = browser
        .get(&app.url(&format!("/callback/acme?code=c&state={state}")))
        .await;
    assert_eq!(done.status(), 302);
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["identities"][0]["email_status"], "unverified");

    // Named, and false.
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(acme_user(false)));
    let app = TestApp::start_owned(&acme_env(
        &fake,
        &[("OAUTH_ACME_EMAIL_VERIFIED_FIELD", "/user/verified")],
    ))
    .await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "acme", "").await;
    browser
        .get(&app.url(&format!("/callback/acme?code=c&state={state}")))
        .await;
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["identities"][0]["email_status"], "unverified");

    // A profile without the subject where the variables say: no account, a readable page.
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({"id": "top-level-only"})));
    let app = TestApp::start_owned(&acme_env(&fake, &[])).await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "acme", "").await;
    let failed = browser
        .get(&app.url(&format!("/callback/acme?code=c&state={state}")))
        .await;
    let page = failed.text().await.unwrap();
    assert!(page.contains("no user id"), "{page}");
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(app.count("users").await, 0);
}
