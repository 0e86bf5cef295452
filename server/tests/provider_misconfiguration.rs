//! A provider saying that this site's registration with it is wrong: the person reads a
//! plain message, the log names the setting (or the callback URL) to fix, and no secret.

mod support;

use serde_json::json;
use support::{
    fake_provider::{FakeProvider, TokenMode, UserinfoMode},
    location,
    log_capture::capture,
    query_param, Browser, TestApp,
};

/// Starts a sign-in with `provider` and returns the `state` the provider would send back.
async fn state_of_new_sign_in(app: &TestApp, browser: &mut Browser, provider: &str) -> String {
    let start = browser
        .get(&app.url(&format!("/authorize/{provider}")))
        .await;
    query_param(&location(&start), "state").unwrap()
}

async fn callback(
    app: &TestApp,
    browser: &mut Browser,
    provider: &str,
    query: &str,
) -> (u16, String) {
    let response = browser
        .get(&app.url(&format!("/callback/{provider}?{query}")))
        .await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A sign-in in a new browser, answered by the provider with a code.
async fn callback_with_code(app: &TestApp, provider: &str) -> (u16, String) {
    let mut browser = app.browser();
    let state = state_of_new_sign_in(app, &mut browser, provider).await;
    callback(
        app,
        &mut browser,
        provider,
        &format!("code=c&state={state}"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_client_credentials_name_the_variables_in_the_log() {
    let logs = capture();
    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::OAuthError {
        status: 401,
        error: "invalid_client",
    });
    let app = TestApp::start_owned(&fake.facebook_env()).await;
    let (status, page) = callback_with_code(&app, "facebook").await;
    assert_eq!(status, 502);
    assert!(page.contains("not set up correctly"), "{page}");
    assert!(
        !page.contains("OAUTH_FACEBOOK"),
        "settings are for the log, not the page"
    );
    let text = logs.text();
    assert!(
        text.contains("check OAUTH_FACEBOOK_CLIENT_ID and OAUTH_FACEBOOK_CLIENT_SECRET"),
        "{text}"
    );
    assert!(!text.contains("fb-client-secret-s3cr3t"));
}

#[tokio::test(flavor = "multi_thread")]
async fn githubs_errors_with_status_200_are_read_as_errors() {
    let logs = capture();
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({"id": 1, "login": "octocat"})));
    let app = TestApp::start_owned(&fake.github_env()).await;

    // A code GitHub no longer accepts: the person may simply try again.
    fake.set_token(TokenMode::OAuthError {
        status: 200,
        error: "bad_verification_code",
    });
    let (status, page) = callback_with_code(&app, "github").await;
    assert_eq!(status, 400);
    assert!(page.contains("did not accept the sign-in"), "{page}");

    // Wrong client secret.
    fake.set_token(TokenMode::OAuthError {
        status: 200,
        error: "incorrect_client_credentials",
    });
    let (status, page) = callback_with_code(&app, "github").await;
    assert_eq!(status, 502);
    assert!(page.contains("not set up correctly"), "{page}");
    assert!(logs
        .text()
        .contains("check OAUTH_GITHUB_CLIENT_ID and OAUTH_GITHUB_CLIENT_SECRET"));
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_callback_url_is_named_in_the_log() {
    let logs = capture();
    let fake = FakeProvider::start().await;
    let app = TestApp::start_owned(&fake.github_env()).await;
    let mut browser = app.browser();
    let state = state_of_new_sign_in(&app, &mut browser, "github").await;
    let (status, page) = callback(
        &app,
        &mut browser,
        "github",
        &format!("error=redirect_uri_mismatch&error_description=The+redirect_uri+MUST+match&state={state}"),
    )
    .await;
    assert_eq!(status, 502);
    assert!(page.contains("not set up correctly"), "{page}");
    let text = logs.text();
    let callback_url = app.url("/callback/github");
    assert!(
        text.lines()
            .any(|line| line.contains("does not accept our callback URL")
                && line.contains(&callback_url)
                && line.contains("PUBLIC_URL")),
        "{text}"
    );
}
