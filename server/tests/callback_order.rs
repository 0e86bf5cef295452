//! What an answer at `/callback/{provider}` must prove before it may touch the pending
//! sign-in. Another site can send a victim's browser to the callback (a top-level link
//! carries the session cookie), so only an answer carrying the sign-in's own `state` or
//! request token may cancel, use up or complete it, and only one such answer ever does.

mod support;

use support::{
    fake_provider::{FakeProvider, TokenMode},
    local_twitter_env, location, query_param, TestApp,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_denial_cannot_cancel_a_sign_in_in_progress() {
    let app = TestApp::start(&[]).await;
    let mut victim = app.browser();
    let callback = app
        .consent(&mut victim, "demo", "", "Victim", "", "allow")
        .await;
    // What an attacker's page can make the victim's browser load.
    for forged in [
        "/callback/demo?error=access_denied",
        "/callback/demo?error=access_denied&state=guessed",
        "/callback/demo?error=server_error&state=",
    ] {
        let response = victim.get(&app.url(forged)).await;
        assert_eq!(response.status(), 400, "{forged}");
        let page = response.text().await.unwrap();
        assert!(page.contains("state mismatch"), "{forged}");
        assert!(!page.contains("Sign-in cancelled"), "{forged}");
    }
    let done = victim.get(&callback).await;
    assert_eq!(done.status(), 302, "the real answer still completes");
    assert_eq!(app.me(&mut victim).await.unwrap()["nickname"], "Victim");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_twitter_denial_cannot_cancel_a_sign_in_in_progress() {
    const KEY: &str = "tw-local";
    const SECRET: &str = "tw-local-secret";
    let app = TestApp::start_with_env(|base| local_twitter_env(base, KEY, SECRET, SECRET)).await;
    let mut victim = app.browser();
    let start = victim.get(&app.url("/authorize/twitter")).await;
    let authenticate = location(&start);
    let token = query_param(&authenticate, "oauth_token").unwrap();
    assert_eq!(victim.get(&authenticate).await.status(), 200);
    let decided = victim
        .post_form(
            &app.url("/demo-provider/oauth1/authorize"),
            &[
                ("oauth_token".into(), token),
                ("name".into(), "Tweety".into()),
                ("email".into(), String::new()),
                ("decision".into(), "allow".into()),
            ],
        )
        .await;
    let callback = location(&decided);

    let forged = victim
        .get(&app.url("/callback/twitter?denied=not-the-request-token"))
        .await;
    assert_eq!(forged.status(), 400);
    let page = forged.text().await.unwrap();
    assert!(page.contains("token mismatch") && !page.contains("Sign-in cancelled"));

    assert_eq!(victim.get(&callback).await.status(), 302);
    assert_eq!(app.me(&mut victim).await.unwrap()["nickname"], "tweety");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_callbacks_racing_with_the_same_state_complete_the_sign_in_once() {
    let fake = FakeProvider::start().await;
    // The provider takes a while, so both callbacks have read the session before either
    // finishes: without a claim both would exchange the code.
    fake.set_token(TokenMode::Slow(std::time::Duration::from_millis(300)));
    let app = TestApp::start_owned(&fake.facebook_env()).await;
    let mut browser = app.browser();
    let state = app.start_sign_in(&mut browser, "facebook", "").await;
    let callback = app.url(&format!("/callback/facebook?code=AQD-once&state={state}"));

    let first = browser.request(reqwest::Method::GET, &callback).send();
    let second = browser.request(reqwest::Method::GET, &callback).send();
    let (first, second) = tokio::join!(first, second);
    let (first, second) = (first.unwrap(), second.unwrap());
    let (winner, loser) = if first.status() == 302 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(winner.status(), 302, "one callback completes the sign-in");
    assert_eq!(loser.status(), 400, "the other is refused");
    assert!(loser.text().await.unwrap().contains("already been used"));
    assert_eq!(
        fake.seen.lock().unwrap().token_bodies.len(),
        1,
        "the code was exchanged once"
    );
    assert_eq!(app.count("users").await, 1);

    // The refused one left the session to the winner: the browser ends up signed in.
    let mut signed_in = app.browser();
    for header in winner.headers().get_all("set-cookie") {
        let pair = header.to_str().unwrap().split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        signed_in.cookies.insert(name.into(), value.into());
    }
    assert_eq!(
        app.me(&mut signed_in).await.unwrap()["nickname"],
        "Fay Book"
    );
}
