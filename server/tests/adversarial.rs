//! security.md §2 cases not covered elsewhere: expired state, code substitution, malformed
//! parameters, hostile nicknames, a database failure in the middle of a callback.

mod support;

use support::{query_param, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_pending_sign_in_is_refused() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Late", "", "allow")
        .await;
    // Eleven minutes pass (the pending sign-in lives ten).
    let eleven_minutes_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 660;
    app.edit_pending_sign_in(&mut browser, |pending| {
        pending.started_at = eleven_minutes_ago
    });
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("took too long"));
    assert_eq!(app.count("users").await, 0);
    assert!(app.me(&mut browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_substituted_into_another_browsers_flow_fails_pkce() {
    // RFC 6819 §4.4.1.13: the attacker pastes the victim's code into their own flow. The
    // state is the attacker's own, so only PKCE (bound to the attacker's verifier) stops it.
    let app = TestApp::start(&[]).await;
    let mut victim = app.browser();
    let victim_callback = app
        .consent(&mut victim, "demo", "", "Victim", "", "allow")
        .await;
    let victim_code = query_param(&victim_callback, "code").unwrap();
    let issuer = query_param(&victim_callback, "iss").unwrap();

    let mut attacker = app.browser();
    let attacker_state = app.start_sign_in(&mut attacker, "demo", "").await;
    let mut callback = url::Url::parse(&app.url("/callback/demo")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("code", &victim_code)
        .append_pair("state", &attacker_state)
        .append_pair("iss", &issuer);
    let response = attacker.get(callback.as_str()).await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("did not accept the sign-in"));
    assert!(app.me(&mut attacker).await.is_none());
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_callback_parameters_are_400_with_nothing_reflected() {
    let app = TestApp::start(&[]).await;
    let long = "A".repeat(9000);
    for query in [
        "code=dup-one-q7&code=dup-two-q7&state=s".to_owned(),
        "code=%FF%FEbad-q7&state=s".to_owned(),
        "code=c&state=nul-q7%00byte".to_owned(),
        format!("code={long}&state=s"),
    ] {
        let mut browser = app.browser();
        let response = browser
            .get(&app.url(&format!("/callback/demo?{query}")))
            .await;
        assert_eq!(response.status(), 400, "{}", &query[..20]);
        let page = response.text().await.unwrap();
        assert!(page.contains("malformed"), "{}", &query[..20]);
        for echo in ["dup-one-q7", "dup-two-q7", "bad-q7", "nul-q7", &long[..100]] {
            assert!(!page.contains(echo), "reflected {echo}");
        }
    }

    // A malformed answer proves nothing, so a real pending sign-in survives it (another
    // site could send one to cancel the person's sign-in).
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Odd", "", "allow")
        .await;
    let response = browser.get(&format!("{callback}&code=second")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert_eq!(app.count("users").await, 1);
}

/// `iss` is read (RFC 9207, compared with the issuer's identifier), so it is held to the same
/// limits as `code` and `state`: an oversized one is refused as malformed before the answer
/// is matched to the pending sign-in, which therefore survives it.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_iss_is_malformed_and_the_pending_sign_in_survives_it() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let callback = app
        .consent(&mut browser, "demo", "", "Iss", "", "allow")
        .await;
    assert!(query_param(&callback, "iss").is_some(), "{callback}");
    // Over the 2048 bytes a parameter may have, under the 8 KB a query may have.
    let long = format!("https://iss-q7.example/{}", "i".repeat(3000));
    let mut forged = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "iss" {
                (k, long.clone())
            } else {
                (k, v)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(&pairs);

    let response = browser.get(forged.as_str()).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("malformed"), "{page}");
    assert!(!page.contains("iss-q7"), "nothing reflected");
    assert_eq!(app.count("users").await, 0);

    assert_eq!(
        browser.get(&callback).await.status(),
        302,
        "the genuine answer still signs in"
    );
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_nicknames_are_rendered_as_text() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let name = "</script><script>alert(1)</script>\u{202E}evil";
    app.sign_in_with_demo(&mut browser, name, true).await;
    let page = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(
        !page.contains("<script>alert(1)"),
        "markup from the provider is never live"
    );
    assert!(page.contains("Hi, &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;evil!"));
    assert!(!page.contains('\u{202E}'), "bidi overrides are dropped");
    // Serialized hydration data escapes `<` too.
    assert!(
        page.contains("\\u003c/script>"),
        "hydration data escapes the closing tag"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_failure_mid_callback_leaves_no_user_and_no_session() {
    let app = TestApp::start(&[]).await;
    // The user row goes in, then the identity insert fails: the transaction must undo both.
    app.fail_inserts_into("identities").await;
    let mut browser = app.browser();
    let response = app.sign_in_with_demo(&mut browser, "Unlucky", true).await;
    assert_eq!(response.status(), 500);
    let page = response.text().await.unwrap();
    assert!(page.contains("Something went wrong on our side"));
    assert!(
        !page.contains("injected failure"),
        "database errors are not shown"
    );
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("identities").await, 0);
    assert_eq!(app.count("sessions").await, 0);
    assert!(app.me(&mut browser).await.is_none());
}
