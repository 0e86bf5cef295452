//! OAuth 2 tokens kept for calls on the person's behalf (`OAUTH_<NAME>_KEEP_TOKENS=on`),
//! against the stand-in issuer: offline access asked for, access and refresh tokens sealed
//! at rest, refreshed once however many callers on however many instances find them
//! expired, a refused refresh leading to "Reconnect", and revocation at unlink and delete.

mod support;

use std::time::Duration;

use app::backend::db::provider_tokens;
use app::backend::provider_access::{AccessError, ProviderAccess};
use support::at_rest::{contains, encodings, everything_stored};
use support::fake_issuer::{FakeIssuer, SUBJECT};
use support::issuer_flow::{answer_of, sign_in};
use support::log_capture::capture;
use support::{location, query_param, Browser, TestApp, TestDatabase};

/// The issuer's variables, keeping tokens, with a key to seal them.
fn keeping_env(issuer: &FakeIssuer) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = issuer
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.push(("OAUTH_CORP_KEEP_TOKENS".into(), "on".into()));
    env.push(("TOKEN_ENCRYPTION_KEY".into(), KEY_A.into()));
    // Everyone here signs in from 127.0.0.1.
    env.push(("SIGN_IN_RATE_LIMIT_BURST".into(), "0".into()));
    env
}

/// The app on a database of its own.
async fn start(issuer: &FakeIssuer) -> TestApp {
    let env = keeping_env(issuer);
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::start(&vars).await
}

async fn start_on(database: &TestDatabase, issuer: &FakeIssuer) -> TestApp {
    start_on_with(database, issuer, &[]).await
}

/// With `more` variables, which replace those of the same name.
async fn start_on_with(
    database: &TestDatabase,
    issuer: &FakeIssuer,
    more: &[(&str, &str)],
) -> TestApp {
    let mut env = keeping_env(issuer);
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::start_on(database, None, &vars).await
}

/// Signs in with the issuer; the corp identity's id and the user's id.
async fn signed_in(app: &TestApp, issuer: &FakeIssuer, browser: &mut Browser) -> (i32, i32) {
    let done = sign_in(app, issuer, browser).await;
    assert_eq!(done.status(), 302, "signed in");
    let me = app.me(browser).await.expect("signed in");
    let identity = me["identities"][0]["id"].as_i64().unwrap() as i32;
    (identity, me["id"].as_i64().unwrap() as i32)
}

async fn refresh_profile(app: &TestApp, browser: &mut Browser, identity: i32) -> String {
    let answer = browser
        .post_form(
            &app.url("/account/refresh-profile"),
            &[("identity".into(), identity.to_string())],
        )
        .await;
    assert_eq!(answer.status(), 302);
    location(&answer)
}

async fn account_page(app: &TestApp, browser: &mut Browser) -> String {
    browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap()
}

async fn identity_name(app: &TestApp, identity: i32) -> String {
    app.text(&format!(
        "SELECT name FROM identities WHERE id = {identity}"
    ))
    .await
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_tokens_are_sealed_refreshed_when_expiring_and_read_the_profile_again() {
    let log = capture();
    let issuer = FakeIssuer::start().await;
    // Handed out already inside the refresh margin: the first use refreshes.
    issuer.set_access_token_ttl(30);
    let app = start(&issuer).await;
    let mut browser = app.browser();
    let (identity, _) = signed_in(&app, &issuer, &mut browser).await;

    // Offline access asked for the standard way (OpenID Connect Core §11).
    let asked = issuer.seen.lock().unwrap().authorize_requests[0].clone();
    let scopes: Vec<&str> = asked["scope"].split(' ').collect();
    assert!(scopes.contains(&"offline_access"), "{scopes:?}");
    assert_eq!(asked["prompt"], "consent");

    // Kept, sealed: neither token is in the database in any encoding.
    let (access, refresh) = {
        let seen = issuer.seen.lock().unwrap();
        (
            seen.access_tokens[0].clone(),
            seen.refresh_tokens[0].clone(),
        )
    };
    let stored = everything_stored(&app).await;
    for secret in [&access, &refresh] {
        for encoded in encodings(secret) {
            assert!(!contains(&stored, &encoded), "a token is readable at rest");
        }
    }
    let kept = provider_tokens::read(&app.db, &app.state.token_keys, identity)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(kept.tokens.access_token.unwrap().expose(), access);
    assert_eq!(kept.tokens.refresh_token.unwrap().expose(), refresh);
    let expires_in = kept.tokens.expires_at.unwrap() - support::now();
    assert!((25..=31).contains(&expires_in), "{expires_in}");
    assert_eq!(
        kept.tokens.scopes.as_deref(),
        Some("openid email profile offline_access")
    );

    // "Refresh from Corp": the name there now, read with a refreshed token.
    issuer.set_access_token_ttl(3600);
    issuer.set_userinfo_claim("name", "Ida Renamed".into());
    let page = refresh_profile(&app, &mut browser, identity).await;
    assert_eq!(page, "/account?notice=profile-refreshed&provider=corp");
    assert_eq!(identity_name(&app, identity).await, "Ida Renamed");
    let (refreshes, userinfo_token) = {
        let seen = issuer.seen.lock().unwrap();
        let refresh_request = seen
            .token_requests
            .iter()
            .find(|request| {
                request.form.get("grant_type").map(String::as_str) == Some("refresh_token")
            })
            .expect("a refresh")
            .clone();
        assert_eq!(refresh_request.form["refresh_token"], refresh);
        (
            seen.refreshes,
            seen.userinfo_authorizations.last().cloned().flatten(),
        )
    };
    assert_eq!(refreshes, 1);
    let fresh = issuer
        .seen
        .lock()
        .unwrap()
        .access_tokens
        .last()
        .unwrap()
        .clone();
    assert_ne!(fresh, access);
    assert_eq!(userinfo_token, Some(format!("Bearer {fresh}")));
    // Not rotated by the provider: the refresh token kept is the one it gave first.
    let kept = provider_tokens::read(&app.db, &app.state.token_keys, identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.tokens.refresh_token.unwrap().expose(), refresh);
    assert_eq!(kept.tokens.access_token.unwrap().expose(), fresh);

    // Fresh now: another use refreshes nothing.
    let page = refresh_profile(&app, &mut browser, identity).await;
    assert_eq!(page, "/account?notice=profile-refreshed&provider=corp");
    assert_eq!(issuer.seen.lock().unwrap().refreshes, 1);
    let account = account_page(&app, &mut browser).await;
    assert!(account.contains("Refresh from Corp"), "{account}");

    // Never in the logs, which do say what happened.
    let log = log.text();
    assert!(log.contains("tokens refreshed"), "{log}");
    let seen = issuer.seen.lock().unwrap();
    for secret in seen.access_tokens.iter().chain(&seen.refresh_tokens) {
        assert!(!log.contains(secret.as_str()), "a token logged:\n{log}");
    }
    assert!(!log.contains(support::fake_issuer::CLIENT_SECRET));
}

const KEY_A: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
const KEY_B: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The id of the key each sealed column of the one kept row was sealed with.
async fn sealed_with(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for column in ["access_token", "refresh_token"] {
        let sealed = app
            .text(&format!("SELECT {column} FROM provider_tokens"))
            .await
            .unwrap();
        ids.push(sealed.split('.').nth(1).unwrap().to_owned());
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_sealed_with_the_previous_key_move_to_the_new_one_as_they_are_used() {
    let issuer = FakeIssuer::start().await;
    let database = TestDatabase::new().await;
    let first = start_on_with(&database, &issuer, &[("TOKEN_ENCRYPTION_KEY", KEY_A)]).await;
    let mut browser = first.browser();
    let (_, user) = signed_in(&first, &issuer, &mut browser).await;
    let with_a = sealed_with(&first).await;
    assert_eq!(with_a[0], with_a[1]);
    drop(first);

    let rotated = start_on_with(
        &database,
        &issuer,
        &[
            ("TOKEN_ENCRYPTION_KEY", KEY_B),
            ("TOKEN_ENCRYPTION_KEY_PREVIOUS", KEY_A),
        ],
    )
    .await;
    assert_eq!(sealed_with(&rotated).await, with_a, "untouched until used");
    let access = ProviderAccess::for_user(&rotated.state, user, "corp")
        .await
        .unwrap();
    assert_eq!(
        access.read_profile().await.unwrap().provider_user_id,
        SUBJECT
    );
    let with_b = sealed_with(&rotated).await;
    assert_eq!(with_b[0], with_b[1]);
    assert_ne!(with_b[0], with_a[0], "moved to the new key by that use");
    drop(rotated);

    // The previous key can go: they open with the new one alone.
    let after = start_on_with(&database, &issuer, &[("TOKEN_ENCRYPTION_KEY", KEY_B)]).await;
    let access = ProviderAccess::for_user(&after.state, user, "corp")
        .await
        .unwrap();
    assert_eq!(
        access.read_profile().await.unwrap().provider_user_id,
        SUBJECT
    );
    assert_eq!(issuer.seen.lock().unwrap().refreshes, 0, "nothing expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_refresh_token_replaces_the_kept_one() {
    let issuer = FakeIssuer::start().await;
    issuer.set_access_token_ttl(30);
    issuer.set_rotate_refresh_tokens(true);
    let database = TestDatabase::new().await;
    let app = start_on(&database, &issuer).await;
    let mut browser = app.browser();
    let (identity, user) = signed_in(&app, &issuer, &mut browser).await;
    let first = issuer.seen.lock().unwrap().refresh_tokens[0].clone();

    for round in 1..=2 {
        let access = ProviderAccess::for_user(&app.state, user, "corp")
            .await
            .unwrap();
        assert_eq!(access.identity.id, identity);
        assert_eq!(issuer.seen.lock().unwrap().refreshes, round);
    }
    let seen_last = issuer.last_refresh_token();
    assert_ne!(seen_last, first);
    let kept = provider_tokens::read(&app.db, &app.state.token_keys, identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.tokens.refresh_token.unwrap().expose(), seen_last);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_callers_on_two_instances_cause_exactly_one_refresh() {
    let issuer = FakeIssuer::start().await;
    issuer.set_access_token_ttl(30);
    let database = TestDatabase::new().await;
    let a = start_on(&database, &issuer).await;
    let b = start_on(&database, &issuer).await;
    let mut browser = a.browser();
    let (_, user) = signed_in(&a, &issuer, &mut browser).await;
    issuer.set_access_token_ttl(3600);
    // Slow enough that every caller finds the token expired while the refresh runs.
    issuer.set_refresh_delay(Duration::from_millis(400));

    let mut calls = Vec::new();
    for i in 0..20 {
        let state = if i % 2 == 0 {
            a.state.clone()
        } else {
            b.state.clone()
        };
        calls.push(tokio::spawn(async move {
            let access = ProviderAccess::for_user(&state, user, "corp").await?;
            let profile = access.read_profile().await?;
            Ok::<_, AccessError>(profile.provider_user_id)
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), SUBJECT);
    }
    let seen = issuer.seen.lock().unwrap();
    assert_eq!(seen.refreshes, 1, "one refresh at the provider");
    let fresh = seen.access_tokens.last().unwrap();
    let with_fresh = seen
        .userinfo_authorizations
        .iter()
        .filter(|authorization| authorization.as_deref() == Some(&format!("Bearer {fresh}")))
        .count();
    assert_eq!(with_fresh, 20, "every caller used the one refreshed token");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refresh_asks_for_reconnection_which_a_new_sign_in_there_clears() {
    let issuer = FakeIssuer::start().await;
    issuer.set_access_token_ttl(30);
    let database = TestDatabase::new().await;
    let app = start_on(&database, &issuer).await;
    let mut browser = app.browser();
    let (identity, _) = signed_in(&app, &issuer, &mut browser).await;

    // The person takes the site's access back at the provider.
    issuer.revoke_everything();
    let page = refresh_profile(&app, &mut browser, identity).await;
    assert_eq!(page, "/account?notice=needs-reconnection&provider=corp");
    let account = browser.get(&app.url(&page)).await.text().await.unwrap();
    assert!(
        account.contains("Corp no longer accepts this site&#x27;s access. Reconnect it")
            || account.contains("Corp no longer accepts this site's access. Reconnect it"),
        "{account}"
    );
    assert!(account.contains("Reconnect Corp"), "{account}");
    assert!(!account.contains("Refresh from Corp"), "{account}");
    // It stays so without asking the provider again.
    let refused = issuer.seen.lock().unwrap().token_requests.len();
    let again = refresh_profile(&app, &mut browser, identity).await;
    assert_eq!(again, "/account?notice=needs-reconnection&provider=corp");
    assert_eq!(issuer.seen.lock().unwrap().token_requests.len(), refused);

    // "Reconnect Corp" is a link flow with Corp: signing in there again keeps new tokens.
    let start = browser
        .post_form(
            &app.url("/account/link"),
            &[("provider".into(), "corp".into())],
        )
        .await;
    assert_eq!(start.status(), 302);
    let answer = browser.get(&location(&start)).await;
    let done = browser.get(&location(&answer)).await;
    assert_eq!(
        location(&done),
        "/account?notice=already-linked&provider=corp"
    );
    let account = account_page(&app, &mut browser).await;
    assert!(account.contains("Refresh from Corp"), "{account}");
    assert!(!account.contains("Reconnect Corp"), "{account}");
    issuer.set_access_token_ttl(3600);
    let page = refresh_profile(&app, &mut browser, identity).await;
    assert_eq!(page, "/account?notice=profile-refreshed&provider=corp");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlinking_and_deleting_revoke_kept_tokens_at_the_provider() {
    let issuer = FakeIssuer::start().await;
    let database = TestDatabase::new().await;
    let app = start_on(&database, &issuer).await;

    // Unlink: Corp linked to an account made with the demo provider.
    let mut ann = app.browser();
    let done = app.sign_in_with_demo(&mut ann, "Ann", false).await;
    assert_eq!(done.status(), 302);
    let start = ann
        .post_form(
            &app.url("/account/link"),
            &[("provider".into(), "corp".into())],
        )
        .await;
    let callback = location(&ann.get(&location(&start)).await);
    assert!(query_param(&callback, "code").is_some());
    let linked = ann.get(&callback).await;
    assert_eq!(location(&linked), "/account?notice=linked&provider=corp");
    let me = app.me(&mut ann).await.unwrap();
    let corp = me["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|identity| identity["provider"] == "corp")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let refresh = issuer.seen.lock().unwrap().refresh_tokens[0].clone();
    assert_eq!(app.count("provider_tokens").await, 1);
    let unlinked = ann
        .post_form(
            &app.url("/account/unlink"),
            &[("identity".into(), corp.to_string())],
        )
        .await;
    assert_eq!(
        location(&unlinked),
        "/account?notice=unlinked&provider=corp"
    );
    assert_eq!(
        app.count("provider_tokens").await,
        0,
        "deleted here at once"
    );
    revoked_soon(&issuer, &refresh).await;

    // Delete: an account made with Corp.
    let mut bob = app.browser();
    let callback = answer_of(&app, &issuer, &mut bob, "corp").await;
    assert_eq!(bob.get(&callback).await.status(), 302);
    let refresh = issuer.last_refresh_token();
    let deleted = bob
        .post_form(&app.url("/account/delete-account"), &[])
        .await;
    assert_eq!(location(&deleted), "/account/deleted");
    assert_eq!(app.count("provider_tokens").await, 0);
    revoked_soon(&issuer, &refresh).await;
}

/// The issuer is asked to revoke `refresh_token` (in the background: soon).
async fn revoked_soon(issuer: &FakeIssuer, refresh_token: &str) {
    for _ in 0..100 {
        let revoked = issuer
            .seen
            .lock()
            .unwrap()
            .revocations
            .iter()
            .any(|(token, hint)| {
                token == refresh_token && hint.as_deref() == Some("refresh_token")
            });
        if revoked {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the refresh token was not revoked at the issuer");
}
