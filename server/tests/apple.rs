//! Sign in with Apple against the stand-in issuer set up as Apple is: client secrets sent
//! in the form (`client_secret_post`) and checked as ES256 JWTs against the public half of
//! the site's key, answers posted cross-site to `/callback/apple` (which carries no
//! `SameSite=Lax` cookie) and the person's name only in the first answer's `user` field.
//! The browser side, against a stand-in that speaks Apple's whole protocol with npm's
//! `jose`, is `end2end/tests/apple.spec.ts`.

mod support;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use support::{
    fake_issuer::{FakeIssuer, CLIENT_ID},
    location, query_param, TestApp,
};

// Test key only (generated for the app's unit tests; it signs nothing real).
const KEY: &str = include_str!("../../app/src/backend/oauth/testdata/apple-test-key.p8");
const PUBLIC_KEY: &str =
    include_str!("../../app/src/backend/oauth/testdata/apple-test-key.pub.pem");
const TEAM_ID: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";
const FIRST_ANSWER_USER: &str = r#"{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"jane@privaterelay.appleid.com"}"#;

#[derive(Deserialize)]
struct ClientSecretClaims {
    sub: String,
    iat: u64,
    exp: u64,
}

/// What Apple checks of a client secret: ES256 under our key id, signed by the key whose
/// public half it holds, issuer the team, subject the client, audience Apple, ≤ 6 months.
fn apple_accepts(secret: &str) -> bool {
    let Ok(header) = jsonwebtoken::decode_header(secret) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["https://appleid.apple.com"]);
    validation.set_issuer(&[TEAM_ID]);
    let key = DecodingKey::from_ec_pem(PUBLIC_KEY.as_bytes()).unwrap();
    header.kid.as_deref() == Some(KEY_ID)
        && jsonwebtoken::decode::<ClientSecretClaims>(secret, &key, &validation).is_ok_and(|read| {
            read.claims.sub == CLIENT_ID && read.claims.exp - read.claims.iat <= 15_777_000
        })
}

async fn apple_issuer() -> FakeIssuer {
    let issuer = FakeIssuer::start().await;
    issuer.set_token_auth_methods(Some(&["client_secret_post"]));
    issuer.set_client_secret_check(apple_accepts);
    // Apple has no userinfo endpoint: everything comes in the ID token.
    issuer.set_document_field("userinfo_endpoint", serde_json::Value::Null);
    // Apple's answers do not name their issuer (RFC 9207), nor does its document promise it.
    issuer.set_iss_parameter_supported(None);
    issuer.set_iss_param(support::fake_issuer::IssParam::Omitted);
    // Apple's ID tokens carry the address with `email_verified` as a string.
    issuer.set_id_token_claims(serde_json::json!({
        "email": "jane@privaterelay.appleid.com",
        "email_verified": "true",
        "is_private_email": "true",
    }));
    issuer
}

fn apple_env(issuer: &FakeIssuer) -> Vec<(&'static str, String)> {
    vec![
        ("OAUTH_APPLE_ISSUER", issuer.base_url.clone()),
        ("OAUTH_APPLE_CLIENT_ID", CLIENT_ID.into()),
        ("OAUTH_APPLE_TEAM_ID", TEAM_ID.into()),
        ("OAUTH_APPLE_KEY_ID", KEY_ID.into()),
        // As a one-line variable, newlines written `\n`.
        ("OAUTH_APPLE_PRIVATE_KEY", KEY.replace('\n', "\\n")),
    ]
}

/// Apple's page posting the answer to the app: a cross-site POST, so without cookies.
async fn post_answer(
    app: &TestApp,
    issuer: &FakeIssuer,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/callback/apple"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", issuer.base_url.clone())
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A sign-in up to Apple's answer: the code and state it would post.
async fn code_and_state(app: &TestApp, browser: &mut support::Browser) -> (String, String) {
    let start = browser.get(&app.url("/authorize/apple")).await;
    let authorize = location(&start);
    assert_eq!(
        query_param(&authorize, "response_mode").as_deref(),
        Some("form_post")
    );
    assert_eq!(
        query_param(&authorize, "scope").as_deref(),
        Some("openid name email")
    );
    // The stand-in answers by redirect; Apple's page would post the same fields.
    let answer = location(&browser.get(&authorize).await);
    (
        query_param(&answer, "code").unwrap(),
        query_param(&answer, "state").unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_post_answer_signs_in_with_the_name_of_the_first_answer_only() {
    let issuer = apple_issuer().await;
    let app = TestApp::start_owned(&apple_env(&issuer)).await;
    let mut browser = app.browser();
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains("Sign in with Apple"), "{home}");
    assert!(
        home.contains("/marks/apple.svg"),
        "Apple's mark on its button"
    );

    let (code, state) = code_and_state(&app, &mut browser).await;
    let posted = post_answer(
        &app,
        &issuer,
        &[
            ("code", &code),
            ("state", &state),
            ("user", FIRST_ANSWER_USER),
        ],
    )
    .await;
    // Turned into this site's own GET, which brings the pending sign-in's cookie; nothing
    // is decided (nor any cookie set) on the cross-site POST itself.
    assert_eq!(posted.status(), 303);
    assert_eq!(posted.headers()["referrer-policy"], "no-referrer");
    assert!(posted.headers().get("set-cookie").is_none());
    let again = location(&posted);
    assert!(again.starts_with("/callback/apple?"), "{again}");
    assert_eq!(
        query_param(&format!("http://x{again}"), "user").as_deref(),
        Some(FIRST_ANSWER_USER)
    );
    let done = browser.get(&app.url(&again)).await;
    let refused: Vec<_> = issuer
        .seen
        .lock()
        .unwrap()
        .token_requests
        .iter()
        .map(|r| r.refused.clone())
        .collect();
    assert_eq!(done.status(), 302, "{refused:?}");

    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Jane Appleseed");
    let identity = &me["identities"][0];
    assert_eq!(identity["provider"], "apple");
    assert_eq!(identity["email"], "jane@privaterelay.appleid.com");
    assert_eq!(identity["email_status"], "verified");
    // Every client secret Apple saw passed its checks, and went in the form.
    let seen = issuer.seen.lock().unwrap().token_requests.clone();
    assert!(!seen.is_empty());
    for request in &seen {
        assert_eq!(request.refused, None);
        assert!(request.basic_credentials.is_none());
        assert!(apple_accepts(&request.form["client_secret"]));
    }

    // Back another day: Apple sends no `user` this time; the name stays.
    let mut browser = app.browser();
    let (code, state) = code_and_state(&app, &mut browser).await;
    let posted = post_answer(&app, &issuer, &[("code", &code), ("state", &state)]).await;
    let done = browser.get(&app.url(&location(&posted))).await;
    assert_eq!(done.status(), 302);
    let me = app.me(&mut browser).await.expect("signed in again");
    assert_eq!(me["nickname"], "Jane Appleseed");
    assert_eq!(me["identities"][0]["name"], "Jane Appleseed");
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_posted_answer_is_taken_for_form_post_providers_only() {
    let issuer = apple_issuer().await;
    let other = FakeIssuer::start().await;
    let mut env = apple_env(&issuer);
    env.extend(other.env());
    let app = TestApp::start_owned(&env).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A form on a page, as Apple's: a top-level navigation.
    let post = |path: &str, site: &'static str| {
        client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
            .body("code=c&state=s")
            .send()
    };
    // Another provider's callback stays behind the cross-site guard, and takes no POST.
    assert_eq!(
        post("/callback/corp", "cross-site").await.unwrap().status(),
        403
    );
    assert_eq!(
        post("/callback/corp", "same-origin")
            .await
            .unwrap()
            .status(),
        405
    );
    // A made-up answer posted to Apple's goes on to the GET callback, which finds no
    // sign-in in progress for this browser and changes nothing.
    let posted = post("/callback/apple", "cross-site").await.unwrap();
    assert_eq!(posted.status(), 303);
    let mut browser = app.browser();
    let followed = browser.get(&app.url(&location(&posted))).await;
    assert_eq!(followed.status(), 400);
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_secret_apple_refuses_is_a_readable_failure() {
    let issuer = apple_issuer().await;
    // Apple knows another key under this key id.
    issuer.set_client_secret_check(|_| false);
    let app = TestApp::start_owned(&apple_env(&issuer)).await;
    let mut browser = app.browser();
    let (code, state) = code_and_state(&app, &mut browser).await;
    let posted = post_answer(&app, &issuer, &[("code", &code), ("state", &state)]).await;
    let failed = browser.get(&app.url(&location(&posted))).await;
    assert_eq!(failed.status(), 502);
    let page = failed.text().await.unwrap();
    support::issuer_flow::assert_readable(&page, "Authentication failed");
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(app.count("users").await, 0);
}
