//! Personal API tokens: made on the account page and shown once, kept only as a hash, read
//! `/api/me` as their owner from a cookie-less client, refused with RFC 6750's challenge
//! when unknown, revoked, expired or mistyped, never able to change the account, limited
//! per person, and gone with the account.

mod support;

use serde_json::Value;
use support::{location, Browser, TestApp};

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let mut browser = app.browser();
    let done = app.sign_in_with_demo(&mut browser, name, false).await;
    assert_eq!(done.status(), 302, "signed in with the demo provider");
    browser
}

async fn make_token(
    app: &TestApp,
    browser: &mut Browser,
    name: &str,
    lifetime: &str,
) -> reqwest::Response {
    let form = [
        ("name".to_owned(), name.to_owned()),
        ("lifetime".to_owned(), lifetime.to_owned()),
    ];
    browser
        .post_form(&app.url("/account/api-tokens"), &form)
        .await
}

/// The token on the account page the creation led to, if the page shows one.
fn token_in(page: &str) -> Option<String> {
    let start = page.find("sspat_")?;
    let token: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(token)
}

/// Makes a token and reads it off the page that follows, as the person would.
async fn new_token(app: &TestApp, browser: &mut Browser, name: &str) -> String {
    let made = make_token(app, browser, name, "30").await;
    assert_eq!(made.status(), 302);
    assert_eq!(
        location(&made),
        "/account?notice=api-token-created#api-tokens"
    );
    let page = browser
        .get(&app.url("/account?notice=api-token-created"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Copy it now: it is shown only this once."),
        "{page}"
    );
    token_in(&page).expect("the new token on the page")
}

/// `GET /api/me` from a client with no cookies at all, as a script sends it.
async fn me_with(app: &TestApp, authorization: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url("/api/me"))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn assert_refused_as_invalid(app: &TestApp, authorization: &str) {
    let refused = me_with(app, authorization).await;
    assert_eq!(refused.status(), 401, "{authorization}");
    assert!(
        challenge(&refused).starts_with(r#"Bearer error="invalid_token""#),
        "{authorization}: {}",
        challenge(&refused)
    );
    assert_eq!(refused.headers().get("cache-control").unwrap(), "no-store");
}

/// What the database file and its write-ahead log hold, as bytes (SQLite only).
fn sqlite_bytes(app: &TestApp) -> Option<Vec<u8>> {
    let url = app.database().url();
    let path = url.strip_prefix("sqlite://")?.split('?').next()?;
    let mut bytes = std::fs::read(path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    Some(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_shown_once_and_reads_the_api_as_its_owner_until_revoked() {
    let app = TestApp::start(&[]).await;
    let mut ann = signed_in(&app, "Ann").await;
    let ann_me = app.me(&mut ann).await.unwrap();

    let token = new_token(&app, &mut ann, "backup script").await;
    assert_eq!(token.len(), 42, "{token}");
    // Shown once: the cookie that carried it is gone, and the page no longer has it.
    assert!(ann
        .set_cookie_log
        .iter()
        .any(|line| line.starts_with("new-api-token=;") && line.contains("Max-Age=0")));
    let again = ann.get(&app.url("/account")).await.text().await.unwrap();
    assert!(!again.contains(&token), "shown once");
    assert!(again.contains("backup script"), "listed by name");
    assert!(again.contains(&token[..10]), "with its first characters");
    assert!(again.contains("Created the API token “backup script”"));

    // Stored as its SHA-256 only: not in any row, nor anywhere in the file.
    let stored = app.text("SELECT token_hash FROM api_tokens").await.unwrap();
    assert_eq!(stored, app::backend::secret::stored_hash(&token));
    if let Some(bytes) = sqlite_bytes(&app) {
        let found = bytes
            .windows(token.len())
            .any(|window| window == token.as_bytes());
        assert!(!found, "the token is in the database file");
    }

    // A script with no cookies reads the API as Ann.
    let me = me_with(&app, &format!("Bearer {token}")).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me, ann_me);
    let lowercase_scheme = me_with(&app, &format!("bearer {token}")).await;
    assert_eq!(lowercase_scheme.status(), 200, "the scheme in any case");
    let used = app
        .scalar("SELECT COUNT(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
        .await;
    assert_eq!(used, 1, "last use recorded");

    // Revoked with one click; the next use is refused.
    let id = app
        .scalar("SELECT CAST(MIN(id) AS BIGINT) FROM api_tokens")
        .await;
    let revoked = ann
        .post_form(
            &app.url("/account/revoke-api-token"),
            &[("token".into(), id.to_string())],
        )
        .await;
    assert_eq!(
        location(&revoked),
        "/account?notice=api-token-revoked#api-tokens"
    );
    assert_refused_as_invalid(&app, &format!("Bearer {token}")).await;
    assert_eq!(app.count("api_tokens").await, 0);
    let page = ann.get(&app.url("/account")).await.text().await.unwrap();
    assert!(page.contains("Revoked the API token “backup script”"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_expired_mistyped_and_foreign_credentials_get_the_bearer_challenge() {
    let app = TestApp::start(&[]).await;
    let mut ann = signed_in(&app, "Ann").await;
    let token = new_token(&app, &mut ann, "ci").await;

    // No credentials: which scheme to use, without an error code (RFC 6750 §3).
    let anonymous = reqwest::get(app.url("/api/me")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(challenge(&anonymous), "Bearer");

    // A changed character fails the checksum; a well-formed token nobody was given, a
    // token of another scheme, and an empty one are unknown.
    let mut mistyped = token.clone().into_bytes();
    mistyped[10] = if mistyped[10] == b'a' { b'b' } else { b'a' };
    let mistyped = String::from_utf8(mistyped).unwrap();
    let never_issued = app::backend::api_tokens::format::generate();
    for authorization in [
        format!("Bearer {mistyped}"),
        format!("Bearer {never_issued}"),
        format!("Basic {token}"),
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
    ] {
        assert_refused_as_invalid(&app, &authorization).await;
    }

    // A bad token next to a good session cookie is refused, not taken as the cookie.
    let with_cookie = ann
        .send(
            ann.request(reqwest::Method::GET, &app.url("/api/me"))
                .header("authorization", format!("Bearer {never_issued}")),
        )
        .await;
    assert_eq!(with_cookie.status(), 401);

    // Expired: refused, and listed as expired.
    assert_eq!(
        me_with(&app, &format!("Bearer {token}")).await.status(),
        200
    );
    app.execute("UPDATE api_tokens SET expires_at = 1000").await;
    assert_refused_as_invalid(&app, &format!("Bearer {token}")).await;
    let page = ann.get(&app.url("/account")).await.text().await.unwrap();
    assert!(page.contains("Expired 1970-01-01 00:16 UTC"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_cannot_change_the_account() {
    let app = TestApp::start(&[]).await;
    let mut ann = signed_in(&app, "Ann").await;
    let token = new_token(&app, &mut ann, "reader").await;
    let bearer = format!("Bearer {token}");
    let origin = app.url("");
    let origin = origin.trim_end_matches('/');

    // Same-origin form posts with the token and no session: nothing happens.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, form) in [
        ("/account/delete-account", ""),
        ("/account/api-tokens", "name=more&lifetime=never"),
        ("/account/nickname", "nickname=Mallory"),
        ("/account/link", "provider=demo"),
    ] {
        let response = client
            .post(app.url(path))
            .header("authorization", &bearer)
            .header("origin", origin)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 401 || location(&response).starts_with("/?next="),
            "{path}: {} {:?}",
            response.status(),
            response.headers().get("location")
        );
    }
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("api_tokens").await, 1);
    let me: Value = me_with(&app, &bearer).await.json().await.unwrap();
    assert_eq!(me["nickname"], "Ann");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_limited_per_person_and_go_with_the_account() {
    let app = TestApp::start(&[("SIGN_IN_RATE_LIMIT_BURST", "0")]).await;
    let mut ann = signed_in(&app, "Ann").await;
    let mut bob = signed_in(&app, "Bob").await;

    // A name and one of the offered lifetimes.
    for (name, lifetime) in [("", "30"), ("ok", "7"), ("ok", ""), ("\u{202e}evil", "30")] {
        let refused = make_token(&app, &mut ann, name, lifetime).await;
        assert_eq!(location(&refused), "/account?notice=api-token-invalid");
    }
    assert_eq!(app.count("api_tokens").await, 0);

    // Ten an hour.
    let mut tokens = Vec::new();
    for n in 0..10 {
        tokens.push(new_token(&app, &mut ann, &format!("token {n}")).await);
    }
    let eleventh = make_token(&app, &mut ann, "one more", "never").await;
    assert_eq!(location(&eleventh), "/account?notice=api-token-rate");
    assert_eq!(app.count("api_tokens").await, 10);
    // Revoking does not give the hour's allowance back.
    let id = app
        .scalar("SELECT CAST(MIN(id) AS BIGINT) FROM api_tokens")
        .await;
    ann.post_form(
        &app.url("/account/revoke-api-token"),
        &[("token".into(), id.to_string())],
    )
    .await;
    let again = make_token(&app, &mut ann, "one more", "never").await;
    assert_eq!(location(&again), "/account?notice=api-token-rate");

    // Twenty-five held at most (the hour's creations forgotten, as an hour later).
    app.execute("DELETE FROM account_events WHERE kind = 'api_token_created'")
        .await;
    let ann_id = app.me(&mut ann).await.unwrap()["id"].as_i64().unwrap();
    for n in 0..16 {
        app.execute(&format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, hint, created_at) \
             VALUES ({ann_id}, 'bulk {n}', 'hash-{n}', 'sspat_xxxx…', 0)"
        ))
        .await;
    }
    assert_eq!(app.count("api_tokens").await, 25);
    let over = make_token(&app, &mut ann, "twenty-sixth", "30").await;
    assert_eq!(location(&over), "/account?notice=api-token-limit");
    let page = ann
        .get(&app.url("/account?notice=api-token-limit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("You have 25 API tokens"), "{page}");
    // Another person is not limited by Ann's tokens.
    new_token(&app, &mut bob, "bob's").await;

    // Bob cannot revoke Ann's token.
    let anns = app
        .scalar(&format!(
            "SELECT CAST(MAX(id) AS BIGINT) FROM api_tokens WHERE user_id = {ann_id}"
        ))
        .await;
    let foreign = bob
        .post_form(
            &app.url("/account/revoke-api-token"),
            &[("token".into(), anns.to_string())],
        )
        .await;
    assert_eq!(location(&foreign), "/account?notice=not-found");
    assert_eq!(
        me_with(&app, &format!("Bearer {}", tokens[9]))
            .await
            .status(),
        200
    );

    // Deleting the account deletes its tokens; the next use is refused.
    let deleted = ann
        .post_form(&app.url("/account/delete-account"), &[])
        .await;
    assert_eq!(location(&deleted), "/account/deleted");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = {ann_id}"
        ))
        .await,
        0
    );
    assert_refused_as_invalid(&app, &format!("Bearer {}", tokens[9])).await;
    assert_eq!(app.count("api_tokens").await, 1, "Bob's stays");
}
