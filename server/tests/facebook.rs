//! The Facebook code path against a local stand-in, including every way a provider fails.
//! Whatever fails: a readable page with 4xx/502, no rows, no session, never a 500.

mod support;

use std::{sync::atomic::Ordering, time::Duration};

use serde_json::json;
use support::{
    fake_provider::{FakeProvider, TokenMode, UserinfoMode, ACCESS_TOKEN},
    location, query_param, Browser, TestApp,
};

async fn app_with(fake: &FakeProvider) -> TestApp {
    TestApp::start_owned(&fake.facebook_env()).await
}

/// Starts a Facebook sign-in and plays the provider's redirect back with a code.
async fn callback_with_code(app: &TestApp, browser: &mut Browser) -> reqwest::Response {
    let state = app.start_sign_in(browser, "facebook", "?remember=on").await;
    browser
        .get(&app.url(&format!(
            "/callback/facebook?code=AQD-the-code&state={state}"
        )))
        .await
}

async fn assert_failed_cleanly(
    app: &TestApp,
    browser: &mut Browser,
    response: reqwest::Response,
    status: u16,
    reason: &str,
) {
    assert_eq!(response.status(), status);
    let page = response.text().await.unwrap();
    assert!(page.contains("Authentication failed."), "{page}");
    assert!(page.contains(reason), "expected {reason:?} in the page");
    assert!(!page.contains("fb-client-secret-s3cr3t") && !page.contains(ACCESS_TOKEN));
    assert!(!page.contains("AQD-the-code"), "the code is not reflected");
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("identities").await, 0);
    assert_eq!(app.count("sessions").await, 0);
    assert!(app.me(browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn facebook_sign_in_speaks_the_protocol_facebook_expects() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake).await;
    let mut browser = app.browser();

    let start = browser.get(&app.url("/authorize/facebook")).await;
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{}/dialog/oauth?", fake.base_url)));
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some("fb-client-id")
    );
    assert_eq!(
        query_param(&authorize, "scope").as_deref(),
        Some("email,public_profile")
    );
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorize, "redirect_uri"),
        Some(app.url("/callback/facebook"))
    );
    let state = query_param(&authorize, "state").unwrap();

    let done = browser
        .get(&app.url(&format!(
            "/callback/facebook?code=AQD-the-code&state={state}"
        )))
        .await;
    assert_eq!(done.status(), 302);
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Fay Book");
    // Facebook does not say it verified the address: the identity keeps it, unverified,
    // and it is not the account's primary address.
    assert_eq!(me["email"], serde_json::Value::Null);
    assert_eq!(me["identities"][0]["email"], "fay@example.com");
    assert_eq!(me["identities"][0]["subject"], "10153000000000001");
    assert_eq!(me["identities"][0]["email_status"], "unverified");
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Hi, Fay Book!"));
    assert!(
        !page.contains("Nobody has checked"),
        "a real provider's identity"
    );

    let seen = fake.seen.lock().unwrap();
    let body = &seen.token_bodies[0];
    for expected in [
        "grant_type=authorization_code",
        "code=AQD-the-code",
        "client_id=fb-client-id",
        "client_secret=fb-client-secret-s3cr3t",
        "code_verifier=",
    ] {
        assert!(
            body.contains(expected),
            "token request lacks {expected}: {body}"
        );
    }
    assert!(body.contains(&format!(
        "redirect_uri={}",
        url::form_urlencoded::byte_serialize(app.url("/callback/facebook").as_bytes())
            .collect::<String>()
    )));
    assert!(seen.userinfo_uris[0].contains("fields=id%2Cname%2Cemail%2Cpicture"));
    assert_eq!(
        seen.userinfo_auth_headers[0].as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn facebook_without_email_signs_in_with_a_null_email() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({
        "id": "777", "name": "Quiet Person",
        "picture": {"data": {"url": "https://cdn.example/p.jpg", "is_silhouette": false}}
    })));
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    assert_eq!(callback_with_code(&app, &mut browser).await.status(), 302);
    let me = app.me(&mut browser).await.unwrap();
    assert_eq!(me["email"], serde_json::Value::Null);
    assert_eq!(me["nickname"], "Quiet Person");
    assert_eq!(me["avatar_url"], "https://cdn.example/p.jpg");
    assert_eq!(app.text("SELECT email FROM users").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_endpoint_failures_are_502_and_write_nothing() {
    for (mode, reason) in [
        (TokenMode::Status500, "token endpoint failed"),
        (TokenMode::BadJson, "token endpoint failed"),
        (TokenMode::Html, "token endpoint failed"),
        // Was a 400 "did not accept the sign-in": an OAuth error body is not a refused code.
        (TokenMode::ServerErrorJson, "token endpoint failed"),
    ] {
        let fake = FakeProvider::start().await;
        fake.set_token(mode.clone());
        let app = app_with(&fake).await;
        let mut browser = app.browser();
        let response = callback_with_code(&app, &mut browser).await;
        assert_failed_cleanly(&app, &mut browser, response, 502, reason).await;
        assert!(
            fake.seen.lock().unwrap().userinfo_uris.is_empty(),
            "{mode:?}: no profile call"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::Redirect);
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let response = callback_with_code(&app, &mut browser).await;
    assert_failed_cleanly(&app, &mut browser, response, 502, "Authentication failed.").await;
    assert_eq!(fake.elsewhere_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_token_endpoint_gives_up_with_the_unreachable_page() {
    let logs = support::log_capture::capture();
    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::Slow(Duration::from_secs(3)));
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let started = std::time::Instant::now();
    let response = callback_with_code(&app, &mut browser).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up before the provider answered"
    );
    // The page a refused or failed connection shows too (see `address_policy.rs`): no
    // difference tells whoever named the address whether it answered.
    assert_failed_cleanly(
        &app,
        &mut browser,
        response,
        502,
        "Could not reach the provider.",
    )
    .await;
    assert!(
        logs.text().contains("provider timed out"),
        "the log says which"
    );
    // The server keeps serving.
    assert_eq!(browser.get(&app.url("/")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_code_is_a_400() {
    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::InvalidGrant);
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let response = callback_with_code(&app, &mut browser).await;
    assert_failed_cleanly(
        &app,
        &mut browser,
        response,
        400,
        "did not accept the sign-in",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_profiles_never_create_an_account() {
    for (mode, reason) in [
        (
            UserinfoMode::Profile(json!({"name": "No Id"})),
            "has no user id",
        ),
        (
            UserinfoMode::Profile(json!({"id": "", "name": "Empty"})),
            "has no user id",
        ),
        (
            UserinfoMode::Profile(json!({"id": "x".repeat(500)})),
            "invalid user id",
        ),
        (UserinfoMode::Status500, "would not share your profile"),
        (UserinfoMode::NotJson, "profile response was not understood"),
    ] {
        let fake = FakeProvider::start().await;
        fake.set_userinfo(mode);
        let app = app_with(&fake).await;
        let mut browser = app.browser();
        let response = callback_with_code(&app, &mut browser).await;
        assert_failed_cleanly(&app, &mut browser, response, 502, reason).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn facebook_denial_is_a_cancellation_without_a_token_call() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "facebook", "").await;
    let response = browser
        .get(&app.url(&format!(
            "/callback/facebook?error_reason=user_denied&error=access_denied&error_description=Permissions+error.&state={state}"
        )))
        .await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Sign-in cancelled."));
    assert!(fake.seen.lock().unwrap().token_bodies.is_empty());
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_from_another_provider_is_refused() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "demo", "").await;
    let response = browser
        .get(&app.url(&format!(
            "/callback/facebook?code=AQD-the-code&state={state}"
        )))
        .await;
    assert_eq!(response.status(), 400);
    assert!(fake.seen.lock().unwrap().token_bodies.is_empty());
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_provider_stands_in_for_facebook() {
    // What the browser tests do: Facebook's endpoints pointed at the built-in provider.
    let app = TestApp::start_with_env(|base| {
        vec![
            (
                "DEMO_PROVIDER_CLIENTS".into(),
                "fb-local:fb-local-secret".into(),
            ),
            ("OAUTH_FACEBOOK_CLIENT_ID".into(), "fb-local".into()),
            (
                "OAUTH_FACEBOOK_CLIENT_SECRET".into(),
                "fb-local-secret".into(),
            ),
            (
                "OAUTH_FACEBOOK_AUTHORIZE_URL".into(),
                format!("{base}/demo-provider/authorize"),
            ),
            (
                "OAUTH_FACEBOOK_TOKEN_URL".into(),
                format!("{base}/demo-provider/token"),
            ),
            (
                "OAUTH_FACEBOOK_USERINFO_URL".into(),
                format!("{base}/demo-provider/graph/me"),
            ),
        ]
    })
    .await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "facebook", "", "Lee Graph", "", "allow")
        .await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let me = app.me(&mut browser).await.unwrap();
    assert_eq!(me["nickname"], "Lee Graph");
    assert_eq!(me["email"], serde_json::Value::Null);
    let subject = me["identities"][0]["subject"].as_str().unwrap().to_owned();
    assert!(subject.starts_with('1'), "{subject}");
    assert!(subject.chars().all(|c| c.is_ascii_digit()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_forms_may_lead_to_this_site_and_facebooks_sign_in_page_only() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake).await;
    let authorize = fake
        .facebook_env()
        .into_iter()
        .find(|(k, _)| *k == "OAUTH_FACEBOOK_AUTHORIZE_URL")
        .map(|(_, v)| url::Url::parse(&v).unwrap())
        .expect("the fake's authorize URL");
    let facebook = authorize.origin().ascii_serialization();
    let mut browser = app.browser();
    let page = browser.get(&app.url("/")).await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    // The sign-in form's GET is redirected to the provider: browsers check that redirect
    // against form-action, so Facebook's origin must be there, and nothing more.
    assert!(
        csp.ends_with(&format!("form-action 'self' {facebook}")),
        "{csp}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_http_avatar_is_neither_kept_nor_rendered() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({
        "id": "778", "name": "Plain Picture",
        "picture": {"data": {"url": "http://cdn.example/p.jpg", "is_silhouette": false}}
    })));
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    assert_eq!(callback_with_code(&app, &mut browser).await.status(), 302);
    assert_eq!(
        app.me(&mut browser).await.unwrap()["avatar_url"],
        serde_json::Value::Null
    );
    // A row from before the rule: the page still shows the initial, not the picture.
    app.execute("UPDATE users SET avatar_url = 'http://cdn.example/old.jpg'")
        .await;
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Plain Picture"), "signed in");
    // (The URL is still in the page's hydration data, as /api/me gives it; no <img> loads it.)
    assert!(
        !page.contains("src=\"http://cdn.example"),
        "no http picture rendered"
    );
    assert!(page.contains("avatar-initial"));
}

#[tokio::test(flavor = "multi_thread")]
async fn facebooks_access_token_is_used_once_and_never_stored() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake).await;
    let mut browser = app.browser();
    assert_eq!(callback_with_code(&app, &mut browser).await.status(), 302);
    assert_eq!(app.count("identities").await, 1);
    assert_eq!(app.text("SELECT access_token FROM identities").await, None);
    // A token stored by an earlier version is cleared at the next sign-in.
    app.execute("UPDATE identities SET access_token = 'old-plaintext-token'")
        .await;
    let mut again = app.browser();
    assert_eq!(callback_with_code(&app, &mut again).await.status(), 302);
    assert_eq!(app.text("SELECT access_token FROM identities").await, None);
}
