//! Signing in through the built-in demo provider, over real HTTP, against a SQLite file.

mod support;

use support::{location, query_param, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn first_sign_in_registers_the_user_and_the_next_one_finds_them() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();

    let done = app
        .sign_in_with_demo(&mut browser, "Alice Example", true)
        .await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/");

    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Alice Example");
    assert_eq!(me["email"], serde_json::Value::Null);
    assert_eq!(me["identities"][0]["provider"], "demo");
    assert_eq!(me["identities"][0]["subject"], "alice-example");

    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(
        page.contains("Hi, Alice Example!"),
        "server-rendered greeting"
    );
    assert!(
        page.contains(">Sign out<"),
        "the header menu offers signing out"
    );
    assert!(
        page.contains("Demo · Alice Example"),
        "methods as people know them"
    );
    assert!(!page.contains("demo$"), "never an internal id");

    // A second sign-in of the same identity, from another browser, is the same user.
    let mut other = app.browser();
    app.sign_in_with_demo(&mut other, "Alice Example", true)
        .await;
    assert_eq!(app.me(&mut other).await.unwrap()["id"], me["id"]);
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authorization_request_carries_state_pkce_and_our_redirect_uri() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let start = browser.get(&app.url("/authorize/demo?remember=on")).await;
    assert_eq!(start.status(), 302);
    let url = location(&start);
    assert!(url.starts_with(&app.url("/demo-provider/authorize?")));
    assert_eq!(query_param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&url, "redirect_uri"),
        Some(app.url("/callback/demo"))
    );
    let state = query_param(&url, "state").unwrap();
    assert!(state.len() >= 16, "state is unguessable");
    // A second start gets a different state.
    let again = location(&browser.get(&app.url("/authorize/demo")).await);
    assert_ne!(query_param(&again, "state").unwrap(), state);
}

#[tokio::test(flavor = "multi_thread")]
async fn email_from_the_provider_is_stored() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Bob", "bob@example.com", "allow")
        .await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let me = app.me(&mut browser).await.unwrap();
    assert_eq!(me["identities"][0]["email"], "bob@example.com");
    // Typed in, not checked: never the account's primary address.
    assert_eq!(me["email"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn denying_at_the_provider_cancels_without_writing_anything() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Carol", "", "deny")
        .await;
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers().get("referrer-policy").unwrap(),
        "no-referrer"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in cancelled."));
    assert!(
        page.contains("Sign in with Demo"),
        "the sign-in card is offered again"
    );
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("sessions").await, 0, "no session left behind");
    assert!(app.me(&mut browser).await.is_none());
    // A denial carrying the right state used the sign-in up: the same answer again finds
    // nothing in progress (forged denials are in callback_order.rs).
    assert!(browser
        .get(&callback)
        .await
        .text()
        .await
        .unwrap()
        .contains("No sign-in was in progress"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_callback_fails_and_leaves_the_signed_in_session_alone() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Dave", "", "allow")
        .await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status(), 400);
    assert!(replay
        .text()
        .await
        .unwrap()
        .contains("Authentication failed."));
    assert_eq!(app.me(&mut browser).await.unwrap()["nickname"], "Dave");
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demo_identity_is_marked_self_asserted_wherever_its_name_and_email_show() {
    // Anyone can type any name and email at the demo provider.
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(
            &mut browser,
            "demo",
            "",
            "Ceo Of Bank",
            "ceo@bank.example",
            "allow",
        )
        .await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let me = app.me(&mut browser).await.unwrap();
    assert_eq!(me["identities"][0]["email"], "ceo@bank.example");
    assert_eq!(me["identities"][0]["email_status"], "self_asserted");
    assert_eq!(me["email"], serde_json::Value::Null);
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Hi, Ceo Of Bank!"));
    assert!(page.contains(
        "Demo sign-in: this name and email were typed in at the demo provider. Nobody has checked them."
    ));
    assert!(
        page.contains("title=\"Self-asserted: typed in at the demo provider, not checked\""),
        "the header's name carries a demo badge"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_state_is_refused_and_leaves_the_sign_in_to_its_owner() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Eve", "", "allow")
        .await;
    let state = query_param(&callback, "state").unwrap();
    let forged = callback.replace(&state, "not-the-state");
    let response = browser.get(&forged).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("Authentication failed."));
    assert!(page.contains("state mismatch"));
    assert!(!page.contains("not-the-state"), "input is not reflected");
    assert_eq!(app.count("users").await, 0);
    // A wrong state proves nothing, so it cannot use up the real sign-in: the genuine
    // answer arriving afterwards completes it, once.
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert_eq!(app.me(&mut browser).await.unwrap()["nickname"], "Eve");
    assert_eq!(browser.get(&callback).await.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_in_another_browser_is_refused() {
    // Login CSRF: the attacker's callback URL opened by the victim. The victim has a
    // sign-in of their own in progress, so only the state comparison can refuse it (with
    // none, "no sign-in in progress" would answer first and the test could not fail).
    let app = TestApp::start(&[]).await;
    let mut attacker = app.browser();
    let callback = app
        .consent(&mut attacker, "demo", "", "Mallory", "", "allow")
        .await;
    let mut victim = app.browser();
    app.start_sign_in(&mut victim, "demo", "").await;
    let response = victim.get(&callback).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("state mismatch"));
    assert!(app.me(&mut victim).await.is_none());
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_providers_are_404() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    for path in ["/authorize/myspace", "/callback/myspace?code=x&state=y"] {
        let response = browser.get(&app.url(path)).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Unknown sign-in provider."));
    }
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_offers_each_configured_provider_and_nothing_else() {
    let app = TestApp::start(&[]).await;
    let page = app.browser().get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Sign in with Demo"));
    assert!(page.contains("formaction=\"/authorize/demo\""));
    assert!(page.contains("name=\"remember\""));
    assert!(!page.contains("Sign in with Facebook"));

    let app = TestApp::start(&[
        ("DEMO_PROVIDER", "off"),
        ("OAUTH_FACEBOOK_CLIENT_ID", "id"),
        ("OAUTH_FACEBOOK_CLIENT_SECRET", "secret"),
    ])
    .await;
    let page = app.browser().get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Sign in with Facebook"));
    assert!(!page.contains("Sign in with Demo"));
    let demo = app
        .browser()
        .get(&app.url("/demo-provider/authorize"))
        .await;
    assert_eq!(
        demo.status(),
        404,
        "the demo provider is not mounted when off"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn next_survives_only_as_a_local_path() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(
            &mut browser,
            "demo",
            "?next=%2F%2Fevil.com",
            "Finn",
            "",
            "allow",
        )
        .await;
    assert_eq!(location(&browser.get(&callback).await), "/");

    let mut browser = app.browser();
    let callback = app
        .consent(
            &mut browser,
            "demo",
            "?next=%2Fwelcome%3Fx%3D1",
            "Finn",
            "",
            "allow",
        )
        .await;
    assert_eq!(location(&browser.get(&callback).await), "/welcome?x=1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demo_provider_deliberately_run_on_a_public_address_warns_on_its_consent_page() {
    use app::backend::config::DEMO_PROVIDER_EXPOSED;
    for (public_url, demo, warned) in [
        ("https://signin.example.com", DEMO_PROVIDER_EXPOSED, true),
        ("http://127.0.0.1:3000", "on", false),
    ] {
        let app = TestApp::start(&[("PUBLIC_URL", public_url), ("DEMO_PROVIDER", demo)]).await;
        let mut browser = app.browser();
        // The app's own authorization request, by hand: the app would first discover its
        // demo issuer at PUBLIC_URL, which tests cannot reach for signin.example.com.
        let mut consent_url = url::Url::parse(&app.url("/demo-provider/authorize")).unwrap();
        consent_url
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", app::backend::config::DEMO_CLIENT_ID)
            .append_pair("redirect_uri", &format!("{public_url}/callback/demo"))
            .append_pair("state", "s")
            .append_pair("code_challenge", &"c".repeat(43))
            .append_pair("code_challenge_method", "S256");
        let page = browser
            .get(consent_url.as_str())
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Sign in to Social Sign-in?"), "{public_url}");
        assert_eq!(
            page.contains("Anyone can sign in here as anyone"),
            warned,
            "{public_url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployed_site_has_no_demo_provider_unless_asked_for_in_so_many_words() {
    let app = TestApp::start(&[("PUBLIC_URL", "https://signin.example.com")]).await;
    let mut browser = app.browser();
    assert_eq!(browser.get(&app.url("/authorize/demo")).await.status(), 404);
    assert_eq!(
        browser
            .get(&app.url("/demo-provider/authorize"))
            .await
            .status(),
        404
    );
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(!page.contains("Sign in with Demo"));
}
