//! security.md §2.20: full sign-in flows with every log at TRACE level captured, and no
//! client secret, code, token, token secret, verifier or session id in them.

mod support;

use base64::Engine as _;

use support::{
    fake_provider::{FakeProvider, ACCESS_TOKEN},
    local_twitter_env, location,
    log_capture::capture,
    query_param, TestApp,
};

#[tokio::test(flavor = "multi_thread")]
async fn full_flows_log_no_secrets() {
    let logs = capture();
    let mut secrets: Vec<String> = Vec::new();

    // Facebook (OAuth 2) against the fake, with its client secret, code and token.
    let fake = FakeProvider::start().await;
    let facebook = fake.facebook_env();
    let app = TestApp::start_with_env(move |base| {
        let mut vars: Vec<(String, String)> = facebook
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        vars.extend(local_twitter_env(
            base,
            "tw-log",
            "tw-log-consumer-secret",
            "tw-log-consumer-secret",
        ));
        vars
    })
    .await;
    secrets.extend([
        "fb-client-secret-s3cr3t".into(),
        "tw-log-consumer-secret".into(),
    ]);
    secrets.push(ACCESS_TOKEN.into());

    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "facebook", "").await;
    secrets.push(state.clone());
    secrets.push(browser.cookies["signin"].clone());
    let code = "AQD-logged-code-8c1f";
    secrets.push(code.into());
    let done = browser
        .get(&app.url(&format!("/callback/facebook?code={code}&state={state}")))
        .await;
    assert_eq!(done.status(), 302);
    secrets.push(browser.session_cookie().unwrap());
    browser.post_form(&app.url("/logout"), &[]).await;

    // Demo (OAuth 2 with PKCE) end to end.
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Logged", "", "allow")
        .await;
    secrets.push(query_param(&callback, "code").unwrap());
    secrets.push(query_param(&callback, "state").unwrap());
    browser.get(&callback).await;
    secrets.push(browser.session_cookie().unwrap());

    // Twitter (OAuth 1.0a) end to end: request token, verifier, access token.
    let mut browser = app.browser();
    let start = browser.get(&app.url("/authorize/twitter")).await;
    let authenticate = location(&start);
    let request_token = query_param(&authenticate, "oauth_token").unwrap();
    secrets.push(request_token.clone());
    let decided = browser
        .post_form(
            &app.url("/demo-provider/oauth1/authorize"),
            &[
                ("oauth_token".into(), request_token),
                ("name".into(), "Logged Tweet".into()),
                ("decision".into(), "allow".into()),
            ],
        )
        .await;
    let callback = location(&decided);
    secrets.push(query_param(&callback, "oauth_verifier").unwrap());
    assert_eq!(browser.get(&callback).await.status(), 302);
    secrets.push(browser.session_cookie().unwrap());
    // The kept token and secret, opened, and the key that seals them.
    let identity = app
        .scalar("SELECT CAST(id AS BIGINT) FROM identities WHERE provider = 'twitter'")
        .await as i32;
    let kept = app::backend::db::provider_tokens::read(&app.db, &app.state.token_keys, identity)
        .await
        .unwrap()
        .expect("kept")
        .tokens;
    secrets.extend([
        kept.access_token.unwrap().expose().to_owned(),
        kept.token_secret.unwrap().expose().to_owned(),
    ]);
    let key = app.state.token_keys.current().bytes();
    secrets.push(base64::engine::general_purpose::STANDARD.encode(key));

    // A failing flow logs its failure, still without the secrets.
    let mut browser = app.browser();
    browser
        .get(&app.url("/callback/facebook?code=AQD-forged-code-77&state=forged"))
        .await;
    secrets.push("AQD-forged-code-77".into());

    let text = logs.text();
    assert!(text.contains("signed in"), "the capture saw the flows");
    assert!(text.lines().count() > 50, "TRACE-level logs were captured");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
}

/// The account pages: linking, unlinking, the nickname, ending sessions and deleting log no
/// email address, session id or stored session key.
#[tokio::test(flavor = "multi_thread")]
async fn account_changes_log_no_addresses_or_session_ids() {
    use serde_json::json;
    use support::fake_provider::UserinfoMode;
    let logs = capture();
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({
        "login": "logged", "id": 4711, "name": "Logged Linker", "email": "public.logged@example.com"
    })));
    fake.set_emails(Some(json!([
        {"email": "verified.logged@example.com", "primary": true, "verified": true}
    ])));
    let app = TestApp::start_owned(&fake.github_env()).await;
    let mut secrets = vec![
        "public.logged@example.com".to_owned(),
        "verified.logged@example.com".to_owned(),
        "typed.logged@example.com".to_owned(),
    ];

    let (mut laptop, mut phone) = (app.browser(), app.browser());
    for browser in [&mut laptop, &mut phone] {
        let callback = app
            .consent(
                browser,
                "demo",
                "",
                "Logged Ann",
                "typed.logged@example.com",
                "allow",
            )
            .await;
        assert_eq!(browser.get(&callback).await.status(), 302);
    }
    secrets.push(laptop.session_cookie().unwrap());
    secrets.push(phone.session_cookie().unwrap());

    let start = laptop
        .post_form(
            &app.url("/account/link"),
            &[("provider".into(), "github".into())],
        )
        .await;
    let state = query_param(&location(&start), "state").unwrap();
    secrets.push(state.clone());
    let linked = laptop
        .get(&app.url(&format!(
            "/callback/github?code=gh-logged-code&state={state}"
        )))
        .await;
    assert_eq!(location(&linked), "/account?notice=linked&provider=github");
    let page = laptop.get(&app.url("/account")).await.text().await.unwrap();
    assert!(page.contains("verified.logged@example.com"));
    let stored_keys = app.rows("SELECT id FROM sessions").await;
    secrets.extend(stored_keys.iter().cloned());

    for (path, form) in [
        (
            "/account/nickname",
            vec![("nickname".to_owned(), "Logged Two".to_owned())],
        ),
        (
            "/account/primary-email",
            vec![("email".to_owned(), "verified.logged@example.com".to_owned())],
        ),
        ("/account/sign-out-others", vec![]),
    ] {
        let done = laptop.post_form(&app.url(path), &form).await;
        assert_eq!(done.status(), 302, "{path}");
    }
    let me = app.me(&mut laptop).await.unwrap();
    let github = me["identities"][1]["id"].to_string();
    let unlinked = laptop
        .post_form(&app.url("/account/unlink"), &[("identity".into(), github)])
        .await;
    assert_eq!(
        location(&unlinked),
        "/account?notice=unlinked&provider=github"
    );
    let deleted = laptop
        .post_form(&app.url("/account/delete-account"), &[])
        .await;
    assert_eq!(location(&deleted), "/account/deleted");

    let text = logs.text();
    assert!(
        text.contains("linked") && text.contains("account deleted"),
        "the capture saw it"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "reached the logs: {secret}"
        );
    }
}
