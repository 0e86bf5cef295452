//! Provider answers are read with a byte cap while streaming: whoever answers in a
//! provider's place (a compromised or misconfigured endpoint) cannot make the server
//! buffer an endless body. The stand-in offers 256 MiB without a `Content-Length` and
//! counts what the app actually pulled.

mod support;

use std::sync::atomic::Ordering;

use support::{
    fake_provider::{FakeProvider, RequestTokenMode, TokenMode, UserinfoMode},
    TestApp,
};

/// Far above the caps (64 KiB token, 256 KiB profile) plus loopback socket buffers, far
/// below the 256 MiB on offer.
const MOST_A_CAPPED_READ_PULLS: usize = 32 * 1024 * 1024;

async fn assert_cut_off(fake: &FakeProvider, app: &TestApp, response: reqwest::Response) {
    assert_eq!(response.status(), 502);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("answer was too large"));
    let pulled = fake.endless_bytes_sent.load(Ordering::SeqCst);
    assert!(
        pulled < MOST_A_CAPPED_READ_PULLS,
        "read {pulled} bytes before stopping"
    );
    assert_eq!(app.count("users").await, 0);
}

/// A Facebook sign-in up to the callback, where the app reads the token and profile.
async fn facebook_callback(fake: &FakeProvider) -> (TestApp, reqwest::Response) {
    let app = TestApp::start_owned(&fake.facebook_env()).await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "facebook", "").await;
    let response = browser
        .get(&app.url(&format!("/callback/facebook?code=c&state={state}")))
        .await;
    (app, response)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_token_response_is_cut_off() {
    let fake = FakeProvider::start().await;
    fake.set_token(TokenMode::Endless);
    let (app, response) = facebook_callback(&fake).await;
    assert_cut_off(&fake, &app, response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_profile_response_is_cut_off() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Endless);
    let (app, response) = facebook_callback(&fake).await;
    assert_cut_off(&fake, &app, response).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_request_token_response_is_cut_off() {
    let fake = FakeProvider::start().await;
    fake.set_request_token(RequestTokenMode::Endless);
    let app = TestApp::start_owned(&fake.twitter_env()).await;
    let mut browser = app.browser();
    let response = browser.get(&app.url("/authorize/twitter")).await;
    assert_cut_off(&fake, &app, response).await;
}
