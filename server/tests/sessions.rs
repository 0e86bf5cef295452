//! Session cookies: attributes, fixation, remember-me, logout, restarts.

mod support;

use support::TestApp;

fn cookie_for<'a>(log: &'a [String], name: &str) -> Vec<&'a String> {
    log.iter()
        .filter(|c| c.starts_with(&format!("{name}=")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_http_only_lax_and_the_id_changes_at_sign_in() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    // Starting a sign-in stores nothing: the pending sign-in is a cookie of its own.
    browser.get(&app.url("/authorize/demo?remember=on")).await;
    assert_eq!(browser.session_cookie(), None);
    assert_eq!(app.count("sessions").await, 0, "no row for a sign-in start");
    let set_cookie = browser.set_cookie_log.last().unwrap().clone();
    assert!(set_cookie.starts_with("signin="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http has no Secure: {set_cookie}"
    );

    app.sign_in_with_demo(&mut browser, "Gina", true).await;
    let first = browser.session_cookie().unwrap();
    let session_cookie = cookie_for(&browser.set_cookie_log, "session");
    let session_cookie = session_cookie.last().unwrap();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !browser.cookies.contains_key("signin"),
        "used up at the callback"
    );

    // Signing in again in the same browser (another account, say) cycles the id.
    app.sign_in_with_demo(&mut browser, "Gina Again", true)
        .await;
    let second = browser.session_cookie().unwrap();
    assert_ne!(first, second, "session id cycled at sign-in");
    assert_eq!(
        app.count("sessions").await,
        1,
        "the record stored under the old id is gone"
    );

    // Whoever held an id from before that sign-in holds nothing now.
    let mut planted = app.browser();
    planted.cookies.insert("session".into(), first);
    assert!(app.me(&mut planted).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn remember_me_gives_thirty_days_otherwise_a_browser_session_cookie() {
    let app = TestApp::start(&[]).await;

    let mut remembered = app.browser();
    app.sign_in_with_demo(&mut remembered, "Hal", true).await;
    let cookie = cookie_for(&remembered.set_cookie_log, "session")
        .last()
        .unwrap()
        .to_string();
    let max_age = support::max_age(&cookie).expect("a Max-Age");
    assert!((2_591_990..=2_592_000).contains(&max_age), "{cookie}");

    let mut forgotten = app.browser();
    app.sign_in_with_demo(&mut forgotten, "Ida", false).await;
    let cookie = cookie_for(&forgotten.set_cookie_log, "session")
        .last()
        .unwrap()
        .to_string();
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    assert!(app.me(&mut forgotten).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_is_a_same_origin_post_that_ends_the_session() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Jo", true).await;
    let id = browser.session_cookie().unwrap();

    let get = browser.get(&app.url("/logout")).await;
    assert_eq!(get.status(), 405, "no state-changing GET");
    assert!(app.me(&mut browser).await.is_some());

    let cross_site = browser
        .request(reqwest::Method::POST, &app.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded");
    let response = browser.send(cross_site).await;
    assert_eq!(response.status(), 403);
    assert!(app.me(&mut browser).await.is_some(), "still signed in");

    let response = browser.post_form(&app.url("/logout"), &[]).await;
    assert!(
        response.status().is_redirection() || response.status().is_success(),
        "{}",
        response.status()
    );
    assert!(browser.session_cookie().is_none(), "cookie expired");
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(app.count("sessions").await, 0, "record deleted");

    let mut replay = app.browser();
    replay.cookies.insert("session".into(), id);
    assert!(app.me(&mut replay).await.is_none(), "the old id is dead");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_in_session_survives_a_restart() {
    let database = support::TestDatabase::new().await;
    let app = TestApp::start_on(&database, None, &[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Kim", true).await;
    let addr = app.addr();
    drop(app);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let restarted = TestApp::start_on(&database, Some(addr), &[]).await;
    let mut same_browser = restarted.browser();
    same_browser.cookies = browser.cookies.clone();
    assert_eq!(
        restarted.me(&mut same_browser).await.unwrap()["nickname"],
        "Kim"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_session_cookies_mean_signed_out() {
    let app = TestApp::start(&[]).await;
    for value in ["garbage", "", "%00%ff", "AAAAAAAAAAAAAAAAAAAAAA"] {
        let mut browser = app.browser();
        browser.cookies.insert("session".into(), value.into());
        assert!(app.me(&mut browser).await.is_none(), "{value:?}");
        let page = browser.get(&app.url("/")).await;
        assert_eq!(page.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_https_the_cookie_is_secure_and_host_prefixed() {
    // Facebook: starting its sign-in asks nothing of signin.example.com, which tests
    // cannot reach.
    let app = TestApp::start(&[
        ("PUBLIC_URL", "https://signin.example.com"),
        ("OAUTH_FACEBOOK_CLIENT_ID", "fb"),
        ("OAUTH_FACEBOOK_CLIENT_SECRET", "fb-secret"),
    ])
    .await;
    let mut browser = app.browser();
    let start = browser.get(&app.url("/authorize/facebook")).await;
    assert_eq!(start.status(), 302);
    // The sign-in in progress: the only cookie a start sets (the session's comes at the
    // callback, with the same attributes: see `cookies_are_http_only_lax_...`).
    assert_eq!(
        browser.set_cookie_log.len(),
        1,
        "{:?}",
        browser.set_cookie_log
    );
    let cookie = browser.set_cookie_log[0].clone();
    assert!(cookie.starts_with("__Host-signin="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Domain="),
        "__Host- cookies carry no Domain: {cookie}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_https_the_session_cookie_is_secure_and_host_prefixed_too() {
    // A whole Facebook sign-in against the stand-in, for a site at an https address (the
    // test's browser comes back to the app's loopback address itself).
    let fake = support::fake_provider::FakeProvider::start().await;
    let mut vars = fake.facebook_env();
    vars.push(("PUBLIC_URL", "https://signin.example.com".into()));
    let app = TestApp::start_owned(&vars).await;
    let mut browser = app.browser();
    let start = browser.get(&app.url("/authorize/facebook")).await;
    let state = support::query_param(&support::location(&start), "state").unwrap();
    let done = browser
        .get(&app.url(&format!(
            "/callback/facebook?code=AQD-the-code&state={state}"
        )))
        .await;
    assert_eq!(done.status(), 302);
    let cookie = cookie_for(&browser.set_cookie_log, "__Host-session");
    let cookie = cookie.last().expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");
    assert!(app.me(&mut browser).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_record_means_signed_out() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Expired", true).await;
    assert!(app.me(&mut browser).await.is_some());
    app.execute("UPDATE sessions SET expires_at = 0").await;
    assert!(app.me(&mut browser).await.is_none());
    let page = browser.get(&app.url("/")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Sign in with Demo"));
}
