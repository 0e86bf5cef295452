//! "Sign in with Twitter": OAuth 1.0a against the built-in provider's strict, signature-
//! checking endpoints over real HTTP, and the provider failures a fake produces.

mod support;

use support::{
    fake_provider::{FakeProvider, RequestTokenMode},
    local_twitter_env, location, query_param, Browser, TestApp,
};

const CONSUMER_KEY: &str = "tw-local";
const CONSUMER_SECRET: &str = "tw-local-secret";

async fn app_with_local_twitter(consumer_secret: &str) -> TestApp {
    let consumer_secret = consumer_secret.to_owned();
    TestApp::start_with_env(move |base| {
        local_twitter_env(base, CONSUMER_KEY, CONSUMER_SECRET, &consumer_secret)
    })
    .await
}

/// authorize -> consent page -> decision; returns the callback URL the provider sent.
async fn consent(app: &TestApp, browser: &mut Browser, name: &str, decision: &str) -> String {
    let start = browser
        .get(&app.url("/authorize/twitter?remember=on"))
        .await;
    assert_eq!(start.status(), 302, "authorize redirects to the provider");
    let authenticate = location(&start);
    assert!(authenticate.starts_with(&app.url("/demo-provider/oauth1/authenticate?oauth_token=")));
    let token = query_param(&authenticate, "oauth_token").unwrap();
    let page = browser.get(&authenticate).await;
    assert_eq!(page.status(), 200);
    let decided = browser
        .post_form(
            &app.url("/demo-provider/oauth1/authorize"),
            &[
                ("oauth_token".into(), token),
                ("name".into(), name.into()),
                ("email".into(), String::new()),
                ("decision".into(), decision.into()),
            ],
        )
        .await;
    assert_eq!(decided.status(), 302);
    location(&decided)
}

async fn assert_nothing_written(app: &TestApp, browser: &mut Browser) {
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("identities").await, 0);
    assert!(app.me(browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn twitter_sign_in_runs_the_signed_exchange_and_stores_the_tokens() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let mut browser = app.browser();
    let callback = consent(&app, &mut browser, "Tess Tweet", "allow").await;
    assert!(callback.starts_with(&app.url("/callback/twitter?oauth_token=")));
    assert!(query_param(&callback, "oauth_verifier").is_some());

    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/");
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "tess_tweet");
    let subject = me["identities"][0]["subject"].as_str().unwrap();
    assert!(
        subject.starts_with('1') && subject.chars().all(|c| c.is_ascii_digit()),
        "{subject}"
    );
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Hi, tess_tweet!"));

    // Access token and secret are kept for later API calls, sealed, in their own table.
    let identity = app
        .scalar("SELECT CAST(MIN(id) AS BIGINT) FROM identities")
        .await as i32;
    let kept = app::backend::db::provider_tokens::read(&app.db, &app.state.token_keys, identity)
        .await
        .unwrap()
        .expect("kept")
        .tokens;
    assert!(kept.access_token.is_some() && kept.token_secret.is_some());
    let sealed = app
        .text("SELECT token_secret FROM provider_tokens")
        .await
        .unwrap();
    assert!(sealed.starts_with("v1."), "{sealed}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM identities WHERE access_token IS NOT NULL OR access_token_secret IS NOT NULL").await,
        0,
        "nothing in plain text"
    );

    // The same person again, from a fresh browser, signs in as the same user.
    let mut again = app.browser();
    let callback = consent(&app, &mut again, "Tess Tweet", "allow").await;
    assert_eq!(again.get(&callback).await.status(), 302);
    let me_again = app.me(&mut again).await.expect("signed in again");
    assert_eq!(me_again["id"], me["id"]);
    assert_eq!(me_again["identities"][0]["subject"], subject);
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn denying_at_twitter_cancels() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let mut browser = app.browser();
    let callback = consent(&app, &mut browser, "No Thanks", "deny").await;
    assert!(query_param(&callback, "denied").is_some());
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Sign-in cancelled."));
    assert_nothing_written(&app, &mut browser).await;
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_oauth_token_is_refused_and_leaves_the_sign_in_to_its_owner() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let mut browser = app.browser();
    let callback = consent(&app, &mut browser, "Tamper", "allow").await;
    let token = query_param(&callback, "oauth_token").unwrap();
    let tampered = callback.replace(&token, "someone-elses-token");
    let response = browser.get(&tampered).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("Authentication failed.") && page.contains("token mismatch"));
    assert!(!page.contains("someone-elses-token"));
    assert_eq!(app.count("users").await, 0);
    // A wrong token proves nothing, so it cannot use up the real sign-in: the genuine
    // answer afterwards completes it, once.
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert_eq!(app.me(&mut browser).await.unwrap()["nickname"], "tamper");
    assert_eq!(browser.get(&callback).await.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_verifier_is_refused() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let mut browser = app.browser();
    let callback = consent(&app, &mut browser, "Hasty", "allow").await;
    let token = query_param(&callback, "oauth_token").unwrap();
    let response = browser
        .get(&app.url(&format!("/callback/twitter?oauth_token={token}")))
        .await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("no verifier"));
    assert_nothing_written(&app, &mut browser).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_callback_is_refused_and_the_session_stays() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let mut browser = app.browser();
    let callback = consent(&app, &mut browser, "Once", "allow").await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(app.me(&mut browser).await.unwrap()["nickname"], "once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_consumer_secret_is_caught_by_the_provider_and_shown_cleanly() {
    // The provider verifies our signature; signed with the wrong secret, it refuses.
    let app = app_with_local_twitter("not-the-secret").await;
    let mut browser = app.browser();
    let response = browser.get(&app.url("/authorize/twitter")).await;
    assert_eq!(response.status(), 502);
    let page = response.text().await.unwrap();
    assert!(page.contains("Authentication failed."));
    assert!(!page.contains("not-the-secret"));
    assert_nothing_written(&app, &mut browser).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_token_failures_are_502_pages() {
    for mode in [RequestTokenMode::Status500, RequestTokenMode::Unconfirmed] {
        let fake = FakeProvider::start().await;
        fake.set_request_token(mode.clone());
        let app = TestApp::start_owned(&fake.twitter_env()).await;
        let mut browser = app.browser();
        let response = browser.get(&app.url("/authorize/twitter")).await;
        assert_eq!(response.status(), 502, "{mode:?}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Authentication failed."));
        assert_eq!(
            app.count("sessions").await,
            0,
            "{mode:?}: no session for a failed start"
        );
        assert_nothing_written(&app, &mut browser).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extreme_oauth_timestamp_is_refused_instead_of_crashing_the_demo_provider() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let http = reqwest::Client::new();
    for timestamp in [i64::MIN, i64::MAX] {
        let header = format!(
            "OAuth oauth_consumer_key=\"{CONSUMER_KEY}\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"{timestamp}\", oauth_nonce=\"n-{timestamp}\", \
             oauth_version=\"1.0\", oauth_callback=\"oob\", oauth_signature=\"x\""
        );
        // Before the fix, `(now - timestamp).abs()` overflowed: a panic in this (debug)
        // build, which dropped the connection instead of answering.
        let response = http
            .post(app.url("/demo-provider/oauth1/request_token"))
            .header("authorization", header)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), 401, "{timestamp}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("timestamp out of window"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_oauth1_callback_parameters_are_refused_before_any_provider_call() {
    let app = app_with_local_twitter(CONSUMER_SECRET).await;
    let long = "V".repeat(3000); // under the 8 KiB query limit, over the 2 KiB per parameter
    for (name, decision) in [("oauth_verifier", "allow"), ("denied", "deny")] {
        let mut browser = app.browser();
        let callback = consent(&app, &mut browser, "Bulky", decision).await;
        let value = query_param(&callback, name).unwrap();
        let bulky = callback.replace(&format!("{name}={value}"), &format!("{name}={long}"));
        let response = browser.get(&bulky).await;
        assert_eq!(response.status(), 400, "{name}");
        let page = response.text().await.unwrap();
        // Not "cancelled", not a provider failure: refused as malformed, nothing echoed.
        assert!(page.contains("malformed"), "{name}");
        assert!(!page.contains(&long[..100]), "{name} reflected");
        assert_nothing_written(&app, &mut browser).await;
    }
}
