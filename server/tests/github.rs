//! GitHub sign-in against a local stand-in: the profile from `/user`; its public email is
//! unverified, and `/user/emails`' verified primary address, when there is one, is the
//! identity's verified address.

mod support;

use serde_json::json;
use support::{
    fake_provider::{FakeProvider, UserinfoMode, ACCESS_TOKEN},
    location, query_param, Browser, TestApp,
};

/// Shape of GitHub's `GET /user`, trimmed; no public email.
fn octocat(email: Option<&str>) -> serde_json::Value {
    json!({
        "login": "octocat", "id": 583231, "name": "The Octocat", "email": email,
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4", "type": "User"
    })
}

async fn app_with(fake: &FakeProvider) -> TestApp {
    TestApp::start_owned(&fake.github_env()).await
}

async fn sign_in(app: &TestApp, browser: &mut Browser) -> serde_json::Value {
    let start = browser.get(&app.url("/authorize/github")).await;
    let authorize = location(&start);
    let state = query_param(&authorize, "state").unwrap();
    let done = browser
        .get(&app.url(&format!("/callback/github?code=gh-code&state={state}")))
        .await;
    assert_eq!(done.status(), 302);
    app.me(browser).await.expect("signed in")
}

#[tokio::test(flavor = "multi_thread")]
async fn github_sign_in_takes_the_verified_primary_email_when_the_profile_has_none() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(octocat(None)));
    fake.set_emails(Some(json!([
        {"email": "old@example.com", "primary": false, "verified": true, "visibility": null},
        {"email": "octocat@example.com", "primary": true, "verified": true, "visibility": "private"}
    ])));
    let app = app_with(&fake).await;
    let mut browser = app.browser();

    let start = browser.get(&app.url("/authorize/github")).await;
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{}/login/oauth/authorize?", fake.base_url)));
    assert_eq!(
        query_param(&authorize, "scope").as_deref(),
        Some("read:user user:email")
    );
    let state = query_param(&authorize, "state").unwrap();
    let done = browser
        .get(&app.url(&format!("/callback/github?code=gh-code&state={state}")))
        .await;
    assert_eq!(done.status(), 302);

    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "The Octocat");
    assert_eq!(me["email"], "octocat@example.com");
    assert_eq!(me["identities"][0]["subject"], "583231");
    let seen = fake.seen.lock().unwrap();
    assert!(seen.token_bodies[0].contains("client_secret=gh-client-secret-s3cr3t"));
    assert_eq!(
        seen.emails_auth_headers,
        vec![Some(format!("Bearer {ACCESS_TOKEN}"))],
        "asked once, with the access token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn github_without_a_verified_primary_email_signs_in_without_one() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(octocat(None)));
    fake.set_emails(Some(json!([
        {"email": "claimed@example.com", "primary": true, "verified": false},
        {"email": "other@example.com", "primary": false, "verified": true}
    ])));
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let me = sign_in(&app, &mut browser).await;
    assert_eq!(me["email"], serde_json::Value::Null);
    assert_eq!(me["nickname"], "The Octocat");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_emails_endpoint_does_not_stop_the_sign_in() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(octocat(None)));
    fake.set_emails(None);
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let me = sign_in(&app, &mut browser).await;
    assert_eq!(me["email"], serde_json::Value::Null);
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_profile_email_is_kept_unverified_unless_it_is_the_verified_primary() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(octocat(Some("public@example.com"))));
    fake.set_emails(Some(json!([
        {"email": "public@example.com", "primary": true, "verified": false}
    ])));
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let me = sign_in(&app, &mut browser).await;
    assert_eq!(
        me["email"],
        serde_json::Value::Null,
        "not verified: not primary"
    );
    assert_eq!(me["identities"][0]["email"], "public@example.com");
    assert_eq!(me["identities"][0]["email_status"], "unverified");
    assert_eq!(fake.seen.lock().unwrap().emails_auth_headers.len(), 1);

    // Verified at GitHub since: the same address, now verified and primary.
    fake.set_emails(Some(json!([
        {"email": "public@example.com", "primary": true, "verified": true}
    ])));
    let mut again = app.browser();
    let me = sign_in(&app, &mut again).await;
    assert_eq!(me["email"], "public@example.com");
    assert_eq!(me["identities"][0]["email_status"], "verified");
}

/// With `OAUTH_GITHUB_KEEP_TOKENS=on`: the token (GitHub's do not expire) reads the profile
/// again from the account page, and deleting the account deletes the person's grant at
/// GitHub with the app's credentials.
#[tokio::test(flavor = "multi_thread")]
async fn kept_github_tokens_refresh_the_profile_and_deleting_the_account_deletes_the_grant() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(octocat(None)));
    let mut env = fake.github_env();
    env.push(("OAUTH_GITHUB_KEEP_TOKENS", "on".into()));
    let app = TestApp::start_owned(&env).await;
    let mut browser = app.browser();
    let me = sign_in(&app, &mut browser).await;
    let identity = me["identities"][0]["id"].as_i64().unwrap();
    assert_eq!(app.count("provider_tokens").await, 1);

    fake.set_userinfo(UserinfoMode::Profile(json!({
        "login": "octocat", "id": 583231, "name": "Mona Lisa Octocat", "type": "User"
    })));
    let refreshed = browser
        .post_form(
            &app.url("/account/refresh-profile"),
            &[("identity".into(), identity.to_string())],
        )
        .await;
    assert_eq!(
        location(&refreshed),
        "/account?notice=profile-refreshed&provider=github"
    );
    let me = app.me(&mut browser).await.unwrap();
    assert_eq!(me["identities"][0]["name"], "Mona Lisa Octocat");
    assert_eq!(
        fake.seen
            .lock()
            .unwrap()
            .userinfo_auth_headers
            .last()
            .cloned()
            .flatten(),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );

    let deleted = browser
        .post_form(&app.url("/account/delete-account"), &[])
        .await;
    assert_eq!(location(&deleted), "/account/deleted");
    assert_eq!(app.count("provider_tokens").await, 0);
    for _ in 0..100 {
        if !fake.seen.lock().unwrap().grant_deletions.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let deletions = fake.seen.lock().unwrap().grant_deletions.clone();
    assert_eq!(deletions.len(), 1, "the grant deleted at GitHub");
    let (authorization, body) = &deletions[0];
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "gh-client-id:gh-client-secret-s3cr3t",
    );
    assert_eq!(
        authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(body, &json!({ "access_token": ACCESS_TOKEN }));
}
