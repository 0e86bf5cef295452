//! Google through the generic OpenID Connect path: its preset is only Google's issuer, so
//! pointing `OAUTH_GOOGLE_ISSUER` at a local stand-in exercises everything Google gets.
//! The claims are the shapes Google documents (developers.google.com/identity/openid-connect).

mod support;

use serde_json::{json, Value};
use support::{
    fake_issuer::{FakeIssuer, CLIENT_ID, SUBJECT},
    location, TestApp,
};

async fn google_app(issuer: &FakeIssuer) -> TestApp {
    let vars: Vec<(String, String)> = issuer.env_named("google");
    let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    TestApp::start_owned(&vars).await
}

/// `/authorize/google`, the stand-in (which answers at once), `/callback/google`; then
/// `/api/me`.
async fn sign_in(app: &TestApp) -> Value {
    let mut browser = app.browser();
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains("Sign in with Google"));
    let start = browser.get(&app.url("/authorize/google")).await;
    assert_eq!(start.status(), 302);
    let answer = browser.get(&location(&start)).await;
    let callback = location(&answer);
    assert!(
        callback.starts_with(&app.url("/callback/google?")),
        "{callback}"
    );
    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 302, "signed in");
    app.me(&mut browser).await.expect("signed in")
}

#[tokio::test(flavor = "multi_thread")]
async fn google_signs_in_with_the_profile_of_its_id_token_and_userinfo() {
    let issuer = FakeIssuer::start().await;
    // A Google ID token: the profile rides in it (with `profile email` scopes), `azp` is us.
    issuer.set_id_token_claims(json!({
        "azp": CLIENT_ID, "hd": "example.com", "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
        "email": "jsmith@example.com", "email_verified": true, "name": "J. Smith",
        "picture": "https://lh3.googleusercontent.com/a/ACg8ocK=s96-c",
        "given_name": "J.", "family_name": "Smith", "locale": "en"
    }));
    // Google's userinfo (`/v1/userinfo`) says the same, about the same `sub`.
    issuer.set_userinfo(Some(json!({
        "sub": SUBJECT, "name": "J. Smith", "given_name": "J.", "family_name": "Smith",
        "picture": "https://lh3.googleusercontent.com/a/ACg8ocK=s96-c",
        "email": "jsmith@example.com", "email_verified": true, "hd": "example.com"
    })));
    let app = google_app(&issuer).await;
    let me = sign_in(&app).await;
    assert_eq!(me["nickname"], "J. Smith");
    assert_eq!(me["email"], "jsmith@example.com");
    assert_eq!(
        me["avatar_url"],
        "https://lh3.googleusercontent.com/a/ACg8ocK=s96-c"
    );
    assert_eq!(me["identities"][0]["subject"], SUBJECT);
    let seen = issuer.seen.lock().unwrap();
    assert_eq!(
        seen.authorize_requests[0].get("scope").map(String::as_str),
        Some("openid email profile")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_account_with_only_openid_signs_in_with_no_name_or_email() {
    let issuer = FakeIssuer::start().await;
    // Scopes narrowed to `openid`: Google's ID token carries only who, not their profile.
    issuer.set_userinfo(Some(json!({ "sub": SUBJECT })));
    let app = google_app(&issuer).await;
    let me = sign_in(&app).await;
    assert_eq!(me["nickname"], "User");
    assert_eq!(me["email"], Value::Null);
    assert_eq!(me["identities"][0]["subject"], SUBJECT);
}
