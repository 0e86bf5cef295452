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
    browser.get(&app.url("/authorize/demo?remember=on")).await;
    let pre_login = browser
        .session_cookie()
        .expect("a session holds the pending sign-in");
    let set_cookie = browser.set_cookie_log.last().unwrap().clone();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http has no Secure: {set_cookie}"
    );

    // Finish a sign-in in the same browser.
    app.sign_in_with_demo(&mut browser, "Gina", true).await;
    let post_login = browser.session_cookie().unwrap();
    assert_ne!(pre_login, post_login, "session id cycled at sign-in");
    assert_eq!(
        app.count("sessions").await,
        1,
        "the record stored under the old id is gone, not merely anonymous"
    );

    // Whoever held an id from before sign-in holds nothing now.
    let mut planted = app.browser();
    planted.cookies.insert("session".into(), pre_login);
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
    let cookie = browser
        .set_cookie_log
        .last()
        .expect("a session cookie")
        .clone();
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Domain="),
        "__Host- cookies carry no Domain: {cookie}"
    );
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
