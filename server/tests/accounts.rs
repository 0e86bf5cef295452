//! Accounts: linking a second provider (only by a same-origin POST, only into the browser's
//! own account, never another account's identity), the verified-email rule, unlinking
//! (never the last method, even racing), sessions listed and ended, and deleting.

mod support;

use serde_json::{json, Value};
use support::{
    fake_provider::{FakeProvider, UserinfoMode},
    location, query_param, Browser, TestApp,
};

/// GitHub's `GET /user` for `id`.
fn github_user(id: u64, name: &str) -> Value {
    json!({ "login": name, "id": id, "name": name, "email": null, "type": "User" })
}

async fn app_with_github(fake: &FakeProvider, extra: &[(&'static str, String)]) -> TestApp {
    let mut env = fake.github_env();
    env.extend_from_slice(extra);
    TestApp::start_owned(&env).await
}

async fn sign_in_demo(app: &TestApp, browser: &mut Browser, name: &str) {
    let done = app.sign_in_with_demo(browser, name, false).await;
    assert_eq!(done.status(), 302, "signed in with the demo provider");
}

/// The provider's answer for the sign-in `start` sent the browser off with.
async fn finish_at_github(
    app: &TestApp,
    browser: &mut Browser,
    start: reqwest::Response,
) -> reqwest::Response {
    assert_eq!(start.status(), 302, "sent to the provider");
    let state = query_param(&location(&start), "state").expect("state");
    browser
        .get(&app.url(&format!("/callback/github?code=gh-code&state={state}")))
        .await
}

async fn sign_in_github(app: &TestApp, browser: &mut Browser) -> reqwest::Response {
    let start = browser.get(&app.url("/authorize/github")).await;
    finish_at_github(app, browser, start).await
}

/// The account page's "Link GitHub" form, as the browser posts it.
async fn start_link(app: &TestApp, browser: &mut Browser, provider: &str) -> reqwest::Response {
    browser
        .post_form(
            &app.url("/account/link"),
            &[("provider".into(), provider.into())],
        )
        .await
}

async fn link_github(app: &TestApp, browser: &mut Browser) -> reqwest::Response {
    let start = start_link(app, browser, "github").await;
    finish_at_github(app, browser, start).await
}

/// The key the browser's session is stored under: what the sessions list names it by.
fn stored_key(browser: &Browser) -> String {
    let id: tower_sessions::session::Id = browser.session_cookie().unwrap().parse().unwrap();
    app::backend::session_store::storage_key(&id)
}

async fn body(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

fn providers_of(me: &Value) -> Vec<String> {
    me["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|identity| identity["provider"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_provider_signs_in_to_the_same_account() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(583231, "octocat")));
    let app = app_with_github(&fake, &[]).await;
    let mut browser = app.browser();
    sign_in_demo(&app, &mut browser, "Ann").await;
    let ann = app.me(&mut browser).await.unwrap()["id"].clone();

    let done = link_github(&app, &mut browser).await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/account?notice=linked&provider=github");
    let me = app.me(&mut browser).await.expect("still signed in");
    assert_eq!(providers_of(&me), ["demo", "github"]);

    // Signing in with GitHub alone, in another browser, is Ann.
    let mut other = app.browser();
    assert_eq!(sign_in_github(&app, &mut other).await.status(), 302);
    assert_eq!(app.me(&mut other).await.unwrap()["id"], ann);
    assert_eq!(app.count("users").await, 1);

    // Linking it again says so and changes nothing.
    let again = link_github(&app, &mut browser).await;
    assert_eq!(
        location(&again),
        "/account?notice=already-linked&provider=github"
    );
    assert_eq!(app.count("identities").await, 2);

    let page = body(
        browser
            .get(&app.url("/account?notice=linked&provider=github"))
            .await,
    )
    .await;
    assert!(
        page.contains("GitHub is linked: you can sign in with it too."),
        "{page}"
    );
    assert!(page.contains("GitHub · octocat"));
    assert!(
        page.contains("Linked GitHub"),
        "the activity lists the link"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_is_started_only_by_a_same_origin_post_of_a_signed_in_browser() {
    let fake = FakeProvider::start().await;
    let app = app_with_github(&fake, &[]).await;
    let mut browser = app.browser();
    sign_in_demo(&app, &mut browser, "Ann").await;

    // A GET (a link or an image on another site) starts nothing.
    let by_get = browser.get(&app.url("/account/link?provider=github")).await;
    assert_ne!(by_get.status(), 302);
    assert!(
        browser.cookies.get("signin").is_none(),
        "no sign-in in progress"
    );

    // A cross-site form post is refused before anything runs.
    let cross_site = browser
        .request(reqwest::Method::POST, &app.url("/account/link"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body("provider=github");
    let refused = browser.send(cross_site).await;
    assert_eq!(refused.status(), 403);
    assert!(browser.cookies.get("signin").is_none());

    // Signed out: nothing to link to.
    let mut stranger = app.browser();
    let signed_out = start_link(&app, &mut stranger, "github").await;
    assert_eq!(
        location(&signed_out),
        "/?next=/account",
        "sent to sign in first"
    );
    assert!(stranger.cookies.get("signin").is_none());
    assert!(fake.seen.lock().unwrap().token_bodies.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_finished_in_a_browser_signed_in_as_someone_else_changes_nothing() {
    let fake = FakeProvider::start().await;
    let app = app_with_github(&fake, &[]).await;
    let mut ann = app.browser();
    sign_in_demo(&app, &mut ann, "Ann").await;
    let start = start_link(&app, &mut ann, "github").await;
    let state = query_param(&location(&start), "state").unwrap();

    // Bob's browser somehow carries Ann's link in progress (the same browser after Ann
    // signed out and Bob signed in keeps the cookie the same way).
    let mut bob = app.browser();
    sign_in_demo(&app, &mut bob, "Bob").await;
    let pending = ann.cookies.get("signin").unwrap().clone();
    bob.cookies.insert("signin".into(), pending);
    let done = bob
        .get(&app.url(&format!("/callback/github?code=gh-code&state={state}")))
        .await;
    assert_eq!(done.status(), 400);
    assert!(body(done)
        .await
        .contains("while linking. Nothing was changed"));
    assert_eq!(
        app.count("identities").await,
        2,
        "Ann's and Bob's demo identities only"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_accounts_identity_is_never_linked() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(583231, "octocat")));
    let app = app_with_github(&fake, &[]).await;
    let mut bob = app.browser();
    assert_eq!(sign_in_github(&app, &mut bob).await.status(), 302);

    let mut ann = app.browser();
    sign_in_demo(&app, &mut ann, "Ann").await;
    let refused = link_github(&app, &mut ann).await;
    assert_eq!(refused.status(), 409);
    assert!(body(refused)
        .await
        .contains("This GitHub account already signs in to another account here"));
    assert_eq!(providers_of(&app.me(&mut ann).await.unwrap()), ["demo"]);
    assert_eq!(providers_of(&app.me(&mut bob).await.unwrap()), ["github"]);
    assert_eq!(app.count("users").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_sign_in_method_cannot_be_unlinked() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(583231, "octocat")));
    let app = app_with_github(&fake, &[]).await;
    let mut browser = app.browser();
    sign_in_demo(&app, &mut browser, "Ann").await;
    link_github(&app, &mut browser).await;
    let me = app.me(&mut browser).await.unwrap();
    let ids: Vec<String> = me["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|identity| identity["id"].to_string())
        .collect();

    let unlink = |id: String| vec![("identity".to_owned(), id)];
    let first = browser
        .post_form(&app.url("/account/unlink"), &unlink(ids[1].clone()))
        .await;
    assert_eq!(location(&first), "/account?notice=unlinked&provider=github");
    let last = browser
        .post_form(&app.url("/account/unlink"), &unlink(ids[0].clone()))
        .await;
    assert_eq!(location(&last), "/account?notice=last-method");
    assert_eq!(providers_of(&app.me(&mut browser).await.unwrap()), ["demo"]);

    // Someone else's identity is not found.
    let mut bob = app.browser();
    sign_in_demo(&app, &mut bob, "Bob").await;
    link_github(&app, &mut bob).await;
    let not_yours = bob
        .post_form(&app.url("/account/unlink"), &unlink(ids[0].clone()))
        .await;
    assert_eq!(location(&not_yours), "/account?notice=not-found");
    assert_eq!(app.count("identities").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_unlinks_of_the_last_two_methods_at_once_leave_one() {
    use app::backend::db::accounts::{unlink_identity, UnlinkOutcome};
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(583231, "octocat")));
    let app = app_with_github(&fake, &[]).await;
    for round in 0..5 {
        let mut browser = app.browser();
        sign_in_demo(&app, &mut browser, &format!("Racer {round}")).await;
        app.execute("DELETE FROM identities WHERE provider = 'github'")
            .await;
        link_github(&app, &mut browser).await;
        let me = app.me(&mut browser).await.unwrap();
        let user_id = me["id"].as_i64().unwrap() as i32;
        let [a, b] = [0, 1].map(|i| me["identities"][i]["id"].as_i64().unwrap() as i32);
        let (db_a, db_b) = (app.state_db.clone(), app.state_db.clone());
        let (first, second) = tokio::join!(
            tokio::spawn(async move { unlink_identity(&db_a, user_id, a, None).await }),
            tokio::spawn(async move { unlink_identity(&db_b, user_id, b, None).await }),
        );
        let outcomes = [first.unwrap().unwrap(), second.unwrap().unwrap()];
        let unlinked = outcomes
            .iter()
            .filter(|o| matches!(o, UnlinkOutcome::Unlinked { .. }))
            .count();
        assert_eq!(unlinked, 1, "{outcomes:?}");
        assert!(
            outcomes.contains(&UnlinkOutcome::LastMethod),
            "{outcomes:?}"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM identities WHERE user_id = {user_id}"
            ))
            .await,
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_address_of_another_account_is_a_hint_not_a_second_account() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(1, "first")));
    fake.set_emails(Some(
        json!([{"email": "Ann@Example.com", "primary": true, "verified": true}]),
    ));
    let app = app_with_github(&fake, &[]).await;
    let mut first = app.browser();
    assert_eq!(sign_in_github(&app, &mut first).await.status(), 302);

    // Another GitHub identity with the same verified address.
    fake.set_userinfo(UserinfoMode::Profile(github_user(2, "second")));
    fake.set_emails(Some(
        json!([{"email": "ann@example.com", "primary": true, "verified": true}]),
    ));
    let mut second = app.browser();
    let refused = sign_in_github(&app, &mut second).await;
    assert_eq!(refused.status(), 409);
    let page = body(refused).await;
    assert!(
        page.contains("An account with this email address already exists. You signed in with GitHub last time"),
        "{page}"
    );
    assert!(app.me(&mut second).await.is_none(), "no session");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);

    // An unverified address never matches: a separate account.
    fake.set_userinfo(UserinfoMode::Profile(json!({
        "login": "third", "id": 3, "name": "third", "email": "ann@example.com"
    })));
    fake.set_emails(Some(json!([])));
    let mut third = app.browser();
    assert_eq!(sign_in_github(&app, &mut third).await.status(), 302);
    assert_eq!(app.count("users").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_may_link_sign_ins_with_a_verified_address_automatically() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(1, "first")));
    fake.set_emails(Some(
        json!([{"email": "ann@example.com", "primary": true, "verified": true}]),
    ));
    let app = app_with_github(&fake, &[("LINK_BY_VERIFIED_EMAIL", "on".into())]).await;
    let mut first = app.browser();
    sign_in_github(&app, &mut first).await;
    let ann = app.me(&mut first).await.unwrap()["id"].clone();

    fake.set_userinfo(UserinfoMode::Profile(github_user(2, "second")));
    let mut second = app.browser();
    assert_eq!(sign_in_github(&app, &mut second).await.status(), 302);
    let me = app.me(&mut second).await.unwrap();
    assert_eq!(me["id"], ann);
    assert_eq!(me["identities"].as_array().unwrap().len(), 2);
    assert_eq!(app.count("users").await, 1);

    // Self-asserted addresses never match, even so.
    let mut demo = app.browser();
    let callback = app
        .consent(&mut demo, "demo", "", "Mallory", "ann@example.com", "allow")
        .await;
    assert_eq!(demo.get(&callback).await.status(), 302);
    assert_ne!(app.me(&mut demo).await.unwrap()["id"], ann);
    assert_eq!(app.count("users").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_listed_and_signed_out_from_another_device() {
    let app = TestApp::start(&[]).await;
    let mut laptop = app.browser();
    let mut phone = app.browser();
    sign_in_demo(&app, &mut laptop, "Ann").await;
    sign_in_demo(&app, &mut phone, "Ann").await;
    let mut tablet = app.browser();
    sign_in_demo(&app, &mut tablet, "Ann").await;

    let page = body(laptop.get(&app.url("/account")).await).await;
    assert_eq!(page.matches("class=\"session\"").count(), 3, "{page}");
    assert_eq!(page.matches("This device").count(), 1);
    assert!(
        page.contains("127.0.0.0/24"),
        "the network, never the address"
    );

    assert_eq!(app.count("sessions").await, 3);
    let phone_handle = stored_key(&phone);
    assert!(page.contains(&phone_handle), "each session's form names it");
    let ended = laptop
        .post_form(
            &app.url("/account/sign-out-session"),
            &[("session".into(), phone_handle)],
        )
        .await;
    assert_eq!(location(&ended), "/account?notice=session-ended");
    assert!(
        app.me(&mut phone).await.is_none(),
        "the phone is signed out"
    );
    assert!(app.me(&mut laptop).await.is_some());

    let others = laptop
        .post_form(&app.url("/account/sign-out-others"), &[])
        .await;
    assert_eq!(location(&others), "/account?notice=others-ended");
    assert!(app.me(&mut tablet).await.is_none());
    assert!(app.me(&mut laptop).await.is_some());
    let page = body(laptop.get(&app.url("/account")).await).await;
    assert!(page.contains("Signed out everywhere else"));
    assert!(page.contains("Signed out a session"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_sends_a_signed_out_visitor_to_sign_in_and_back() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let page = browser.get(&app.url("/account")).await;
    assert_eq!(page.status(), 302);
    assert_eq!(location(&page), "/?next=/account");
    let start = body(browser.get(&app.url("/?next=/account")).await).await;
    assert!(start.contains(r#"name="next" value="/account""#), "{start}");
    let done = app.sign_in_with_demo(&mut browser, "Ann", false).await;
    // `sign_in_with_demo` starts without `next`; with it, the callback goes back.
    assert_eq!(location(&done), "/");
    let callback = app
        .consent(&mut browser, "demo", "?next=/account", "Ann", "", "allow")
        .await;
    assert_eq!(location(&browser.get(&callback).await), "/account");
}

#[tokio::test(flavor = "multi_thread")]
async fn nicknames_are_checked_and_saved() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    sign_in_demo(&app, &mut browser, "Ann").await;
    let save = |nickname: &str| vec![("nickname".to_owned(), nickname.to_owned())];
    let saved = browser
        .post_form(&app.url("/account/nickname"), &save("  Rene\u{301}e "))
        .await;
    assert_eq!(location(&saved), "/account?notice=nickname-saved");
    assert_eq!(
        app.me(&mut browser).await.unwrap()["nickname"],
        "Ren\u{e9}e"
    );
    for bad in ["", "a\u{202E}b", &"x".repeat(65)] {
        let refused = browser
            .post_form(&app.url("/account/nickname"), &save(bad))
            .await;
        assert_eq!(location(&refused), "/account?notice=nickname-invalid");
    }
    assert_eq!(
        app.me(&mut browser).await.unwrap()["nickname"],
        "Ren\u{e9}e"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_account_removes_everything_and_needs_a_recent_sign_in() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(583231, "octocat")));
    let app = app_with_github(&fake, &[]).await;
    let mut bob = app.browser();
    sign_in_demo(&app, &mut bob, "Bob").await;
    let mut ann = app.browser();
    sign_in_demo(&app, &mut ann, "Ann").await;
    link_github(&app, &mut ann).await;
    let mut ann_phone = app.browser();
    sign_in_demo(&app, &mut ann_phone, "Ann").await;
    let ann_id = app.me(&mut ann).await.unwrap()["id"].as_i64().unwrap();

    // Signed in more than ten minutes ago: sign in again first.
    app.edit_sessions(|data| {
        if let Some(at) = data.pointer_mut("/auth.signed_in/at") {
            *at = json!(at.as_i64().unwrap() - 11 * 60);
        }
    })
    .await;
    let stale = ann
        .post_form(&app.url("/account/delete-account"), &[])
        .await;
    assert_eq!(location(&stale), "/account/delete?notice=sign-in-again");
    assert!(app.me(&mut ann).await.is_some(), "nothing deleted");
    let page = body(
        ann.get(&app.url("/account/delete?notice=sign-in-again"))
            .await,
    )
    .await;
    assert!(page.contains("Sign in again with GitHub"), "{page}");

    sign_in_demo(&app, &mut ann, "Ann").await;
    let deleted = ann
        .post_form(&app.url("/account/delete-account"), &[])
        .await;
    assert_eq!(location(&deleted), "/account/deleted");
    assert!(app.me(&mut ann).await.is_none());
    assert!(app.me(&mut ann_phone).await.is_none(), "every device");
    for table in ["identities", "sessions", "account_events"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE user_id = {ann_id}"
            ))
            .await,
            0,
            "{table}"
        );
    }
    assert_eq!(app.count("users").await, 1, "Bob stays");
    assert!(app.me(&mut bob).await.is_some());

    // Signing in again makes a new, empty account.
    sign_in_demo(&app, &mut ann, "Ann").await;
    let me = app.me(&mut ann).await.unwrap();
    assert_ne!(me["id"].as_i64().unwrap(), ann_id);
    assert_eq!(providers_of(&me), ["demo"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn account_changes_are_rate_limited_per_client() {
    let app = TestApp::start(&[
        ("SIGN_IN_RATE_LIMIT_BURST", "4"),
        ("SIGN_IN_RATE_LIMIT_REFILL_MS", "60000"),
    ])
    .await;
    let mut browser = app.browser();
    // The sign-in's two requests draw on the sign-in routes' buckets, not these.
    sign_in_demo(&app, &mut browser, "Ann").await;
    let save = vec![("nickname".to_owned(), "Ann".to_owned())];
    for _ in 0..4 {
        let saved = browser
            .post_form(&app.url("/account/nickname"), &save)
            .await;
        assert_eq!(saved.status(), 302);
    }
    let refused = browser
        .post_form(&app.url("/account/nickname"), &save)
        .await;
    assert_eq!(refused.status(), 429);
    let page = refused.text().await.unwrap();
    assert!(page.contains("<h1>Too many changes at once</h1>"), "{page}");
    // Reading the account page is not a change.
    assert_eq!(browser.get(&app.url("/account")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_primary_email_is_chosen_among_verified_addresses() {
    use support::{fake_issuer::FakeIssuer, issuer_flow};
    let issuer = FakeIssuer::start().await;
    issuer.set_userinfo(Some(json!({
        "sub": support::fake_issuer::SUBJECT, "name": "Ann Corp",
        "email": "ann@corp.example", "email_verified": true
    })));
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({
        "login": "ann", "id": 7, "name": "Ann", "email": "ann.public@example.com"
    })));
    fake.set_emails(Some(
        json!([{"email": "ann@gh.example", "primary": true, "verified": true}]),
    ));
    let mut env = fake.github_env();
    env.extend(issuer.env());
    let app = TestApp::start_owned(&env).await;
    let mut browser = app.browser();
    assert_eq!(
        issuer_flow::sign_in(&app, &issuer, &mut browser)
            .await
            .status(),
        302
    );
    link_github(&app, &mut browser).await;
    assert_eq!(
        app.me(&mut browser).await.unwrap()["email"],
        "ann@corp.example"
    );

    let page = body(browser.get(&app.url("/account")).await).await;
    assert!(page.contains(r#"<option value="ann@gh.example""#), "{page}");
    assert!(
        !page.contains(r#"<option value="ann.public@example.com""#),
        "unverified: not offered"
    );

    let choose = |email: &str| vec![("email".to_owned(), email.to_owned())];
    let saved = browser
        .post_form(
            &app.url("/account/primary-email"),
            &choose("Ann@GH.example"),
        )
        .await;
    assert_eq!(location(&saved), "/account?notice=primary-email-saved");
    assert_eq!(
        app.me(&mut browser).await.unwrap()["email"],
        "ann@gh.example"
    );
    for not_verified_here in ["ann.public@example.com", "someone@else.example"] {
        let refused = browser
            .post_form(
                &app.url("/account/primary-email"),
                &choose(not_verified_here),
            )
            .await;
        assert_eq!(location(&refused), "/account?notice=not-found");
    }
    assert_eq!(
        app.me(&mut browser).await.unwrap()["email"],
        "ann@gh.example"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_is_never_cached_or_framed() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    sign_in_demo(&app, &mut browser, "Ann").await;
    let page = browser.get(&app.url("/account")).await;
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-frame-options"), "DENY");
    let csp = header("content-security-policy");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'nonce-"),
        "{csp}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_account_change_leaves_nothing_half_done() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(github_user(583231, "octocat")));
    let app = app_with_github(&fake, &[]).await;
    let mut browser = app.browser();
    sign_in_demo(&app, &mut browser, "Ann").await;
    link_github(&app, &mut browser).await;
    let github = app.me(&mut browser).await.unwrap()["identities"][1]["id"].to_string();

    // The event row is written last, in the same transaction as the unlink.
    app.fail_inserts_into("account_events").await;
    let failed = browser
        .post_form(&app.url("/account/unlink"), &[("identity".into(), github)])
        .await;
    assert_eq!(location(&failed), "/account?notice=unavailable");
    assert_eq!(
        app.count("identities").await,
        2,
        "the unlink was rolled back"
    );
    let page = body(browser.get(&app.url("/account?notice=unavailable")).await).await;
    assert!(page.contains("The service is temporarily unavailable; nothing was changed."));
}
