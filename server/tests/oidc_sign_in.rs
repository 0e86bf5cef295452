//! OpenID Connect sign-in end to end against a local stand-in issuer (`support::fake_issuer`)
//! configured by environment variables alone (`OAUTH_CORP_*`): the authorization request
//! (state, PKCE S256, nonce), the answer's issuer (RFC 9207), the code exchange with HTTP
//! Basic client authentication, the ID token's checks, key rotation, userinfo, an issuer
//! that cannot be discovered, and two issuers whose answers are swapped (mix-up).

mod support;

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use support::{
    fake_issuer::{
        self, FakeIssuer, IdTokenFault, IssParam, CLIENT_ID, CLIENT_SECRET, STRAY_KID, SUBJECT,
    },
    issuer_flow::{answer_of, assert_readable, sign_in, status_and_page},
    location,
    log_capture::capture,
    query_param, TestApp,
};

async fn corp_app(issuer: &FakeIssuer) -> TestApp {
    TestApp::start_owned(&issuer.env()).await
}

/// Nothing the issuer handed out (code, tokens) nor the client secret is in `log`.
fn assert_no_secrets_in(log: &str, issuer: &FakeIssuer) {
    let seen = issuer.seen.lock().unwrap();
    let mut secrets: Vec<&str> = vec![CLIENT_SECRET];
    secrets.extend(seen.codes.iter().map(String::as_str));
    secrets.extend(seen.access_tokens.iter().map(String::as_str));
    for id_token in &seen.id_tokens {
        secrets.push(id_token);
        // Its claims and its signature alone, too (the header says only alg and kid).
        secrets.extend(id_token.split('.').skip(1).filter(|part| !part.is_empty()));
    }
    assert!(!seen.codes.is_empty(), "a code was handed out");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret:?} logged:\n{log}");
    }
}

/// 1. A generic issuer by its variables alone: the authorization request, the code
/// exchange with HTTP Basic and the PKCE verifier, the profile from userinfo, the social id.
#[tokio::test(flavor = "multi_thread")]
async fn a_generic_issuer_configured_by_env_alone_signs_people_in() {
    let issuer = FakeIssuer::start().await;
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();

    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(
        home.contains("Sign in with Corp"),
        "the label is on the button"
    );

    let start = browser.get(&app.url("/authorize/corp")).await;
    assert_eq!(start.status(), 302);
    let authorize = location(&start);
    assert!(
        authorize.starts_with(&format!("{}/authorize?", issuer.base_url)),
        "the endpoint from the issuer's metadata: {authorize}"
    );
    let param = |name: &str| query_param(&authorize, name);
    assert_eq!(param("response_type").as_deref(), Some("code"));
    assert_eq!(param("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        param("redirect_uri"),
        Some(app.url("/callback/corp")),
        "PUBLIC_URL/callback/<name>"
    );
    let scope = param("scope").unwrap();
    let scopes: Vec<&str> = scope.split(' ').collect();
    assert!(scopes.contains(&"openid"), "{scope}");
    assert!(
        scopes.contains(&"email") && scopes.contains(&"profile"),
        "{scope}"
    );
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    let challenge = param("code_challenge").unwrap();
    let nonce = param("nonce").expect("a nonce");
    assert!(nonce.len() >= 16, "an unguessable nonce: {nonce}");
    let state = param("state").unwrap();
    assert_ne!(nonce, state, "nonce and state are separate values");

    let answer = browser.get(&authorize).await;
    assert_eq!(answer.status(), 302);
    let callback = location(&answer);
    assert_eq!(query_param(&callback, "state"), Some(state));
    assert_eq!(query_param(&callback, "iss"), Some(issuer.base_url.clone()));
    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 302, "{}", done.text().await.unwrap());
    assert_eq!(location(&done), "/");

    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Ida Issuer", "the name from userinfo");
    assert_eq!(
        me["email"], "ida@corp.example",
        "the verified email from userinfo"
    );
    assert_eq!(me["identities"][0]["provider"], "corp");
    assert_eq!(me["identities"][0]["subject"], SUBJECT);
    assert_eq!(me["identities"][0]["email_status"], "verified");
    assert_eq!(app.count("users").await, 1);

    let seen = issuer.seen.lock().unwrap();
    assert_eq!(seen.authorize_requests.len(), 1);
    assert_eq!(seen.token_requests.len(), 1, "one code exchange");
    let token_request = &seen.token_requests[0];
    assert_eq!(token_request.refused, None);
    assert!(
        token_request
            .authorization
            .as_deref()
            .is_some_and(|value| value.starts_with("Basic ")),
        "client_secret_basic, the default: {token_request:?}"
    );
    assert_eq!(
        token_request.basic_credentials,
        Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()))
    );
    assert!(
        !token_request.form.contains_key("client_secret"),
        "the secret only in the header"
    );
    assert_eq!(
        token_request.form.get("redirect_uri"),
        Some(&app.url("/callback/corp"))
    );
    let verifier = token_request.form.get("code_verifier").expect("a verifier");
    assert_eq!(
        fake_issuer::s256(verifier),
        Some(challenge),
        "the verifier of the challenge sent"
    );
    assert_eq!(
        seen.userinfo_authorizations,
        vec![Some(format!("Bearer {}", seen.access_tokens[0]))],
        "userinfo asked once, with the access token"
    );
}

/// 1. An issuer that lists only `client_secret_post` gets the credentials in the form; one
/// that lists both gets HTTP Basic.
#[tokio::test(flavor = "multi_thread")]
async fn the_client_authenticates_as_the_issuer_lists() {
    for (methods, basic) in [
        (&["client_secret_post"][..], false),
        (&["client_secret_post", "client_secret_basic"][..], true),
    ] {
        let issuer = FakeIssuer::start().await;
        issuer.set_token_auth_methods(Some(methods));
        let app = corp_app(&issuer).await;
        let mut browser = app.browser();
        let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
        assert_eq!(status, 302, "{methods:?}: {page}");
        let seen = issuer.seen.lock().unwrap();
        let request = &seen.token_requests[0];
        assert_eq!(request.refused, None);
        assert_eq!(request.authorization.is_some(), basic, "{methods:?}");
        assert_eq!(
            request.form.get("client_secret").is_some(),
            !basic,
            "{methods:?}"
        );
    }
}

/// 2. The sign-in is refused with a readable 502 when the ID token is wrong in `fault`;
/// no user is made, nobody is signed in, and the log says why (`logged`) without the
/// token or the code.
async fn an_id_token_with(fault: IdTokenFault, logged: &str) {
    let logs = capture();
    let issuer = FakeIssuer::start().await;
    issuer.set_id_token_fault(Some(fault));
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();

    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "Authentication failed.");
    let reason = if fault == IdTokenFault::Missing {
        "The provider sent no ID token."
    } else {
        "answer could not be verified."
    };
    assert_readable(&page, reason);
    assert_eq!(app.count("users").await, 0, "no user row");
    assert_eq!(app.count("identities").await, 0);
    assert!(app.me(&mut browser).await.is_none(), "not signed in");
    {
        let seen = issuer.seen.lock().unwrap();
        assert_eq!(seen.token_requests.len(), 1);
        assert_eq!(
            seen.token_requests[0].refused, None,
            "the issuer gave tokens: the refusal is the app's"
        );
        assert!(
            seen.userinfo_authorizations.is_empty(),
            "no userinfo for a refused token"
        );
    }

    let log = logs.text();
    if fault != IdTokenFault::Missing {
        assert!(log.contains("ID token refused"), "{log}");
    }
    assert!(log.contains(logged), "{logged:?} not in the log:\n{log}");
    assert_no_secrets_in(&log, &issuer);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_signed_by_another_key_under_the_same_kid_is_refused() {
    an_id_token_with(IdTokenFault::ForeignKey, "Signature verification failed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_for_another_audience_is_refused() {
    an_id_token_with(IdTokenFault::WrongAudience, "Invalid audiences").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_from_another_issuer_is_refused() {
    an_id_token_with(IdTokenFault::WrongIssuer, "Invalid issuer").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_id_token_is_refused() {
    an_id_token_with(IdTokenFault::Expired, "Expired").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_with_the_nonce_of_another_sign_in_is_refused() {
    an_id_token_with(IdTokenFault::WrongNonce, "Invalid nonce").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_without_a_nonce_is_refused() {
    an_id_token_with(IdTokenFault::MissingNonce, "Invalid nonce").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_alg_none_id_token_is_refused() {
    an_id_token_with(IdTokenFault::AlgNone, "Signature verification failed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_hs256_id_token_keyed_with_the_public_key_is_refused() {
    an_id_token_with(
        IdTokenFault::Hs256WithPublicKey,
        "Signature verification failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_answer_without_an_id_token_is_refused() {
    an_id_token_with(IdTokenFault::Missing, "token answer without an ID token").await;
}

/// 3. The issuer rotates its keys after the app discovered them: the next sign-in works
/// because the app fetches the keys once more; a token by a key in no set still fails, and
/// within a minute of that refetch fetches nothing more (a flood of made-up kids cannot
/// make us hammer the issuer).
#[tokio::test(flavor = "multi_thread")]
async fn rotated_keys_are_fetched_once_more_at_most_once_a_minute_and_an_unknown_key_fails() {
    let logs = capture();
    let issuer = FakeIssuer::start().await;
    let app = corp_app(&issuer).await;

    let mut first = app.browser();
    let done = sign_in(&app, &issuer, &mut first).await;
    assert_eq!(done.status(), 302, "signed in with k1");
    assert_eq!(
        issuer.seen.lock().unwrap().jwks_requests,
        1,
        "keys fetched once, with the discovery"
    );

    issuer.rotate_keys();
    let mut second = app.browser();
    let done = sign_in(&app, &issuer, &mut second).await;
    let (status, page) = status_and_page(done).await;
    assert_eq!(status, 302, "signed in with k2: {page}");
    assert!(app.me(&mut second).await.is_some());
    assert_eq!(
        issuer.seen.lock().unwrap().jwks_requests,
        2,
        "fetched once more for the unknown kid"
    );
    assert_eq!(app.count("users").await, 1, "the same person");

    issuer.set_id_token_fault(Some(IdTokenFault::UnknownKey));
    let mut third = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut third).await).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "answer could not be verified.");
    {
        let seen = issuer.seen.lock().unwrap();
        let header = seen.id_tokens.last().unwrap().split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["kid"], STRAY_KID, "signed under a kid in no set");
        assert_eq!(
            seen.jwks_requests, 2,
            "keys were fetched again moments ago: the cached set is the answer, no fetch"
        );
    }
    assert!(app.me(&mut third).await.is_none());
    assert_eq!(app.count("users").await, 1);
    let log = logs.text();
    assert!(log.contains("issuer keys fetched again"), "{log}");
    assert!(
        log.contains("no key of the issuer matches the token"),
        "{log}"
    );
    assert_no_secrets_in(&log, &issuer);
}

/// 4. RFC 9207: an answer naming another issuer is refused before its code is used.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_naming_another_issuer_is_refused() {
    let issuer = FakeIssuer::start().await;
    issuer.set_iss_param(IssParam::Other("https://evil.example".into()));
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 400, "{page}");
    assert_readable(&page, "did not come from the expected provider");
    assert!(
        issuer.seen.lock().unwrap().token_requests.is_empty(),
        "the code was not sent to the token endpoint"
    );
    assert_eq!(app.count("users").await, 0);
    assert!(app.me(&mut browser).await.is_none());
}

/// 4. RFC 9207: an issuer that promises `iss` in its answers must send it.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_without_iss_is_refused_when_the_issuer_promises_it() {
    let issuer = FakeIssuer::start().await;
    issuer.set_iss_param(IssParam::Omitted);
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 400, "{page}");
    assert_readable(&page, "did not come from the expected provider");
    assert!(issuer.seen.lock().unwrap().token_requests.is_empty());
    assert_eq!(app.count("users").await, 0);
    assert!(app.me(&mut browser).await.is_none());
}

/// 4. RFC 9207: without the promise an answer without `iss` is fine, but one naming another
/// issuer is still refused.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_without_iss_is_accepted_when_the_issuer_does_not_promise_it() {
    let issuer = FakeIssuer::start().await;
    issuer.set_iss_parameter_supported(None);
    issuer.set_iss_param(IssParam::Other("https://evil.example".into()));
    let app = corp_app(&issuer).await;

    let mut browser = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 400, "a wrong iss, promised or not: {page}");

    issuer.set_iss_param(IssParam::Omitted);
    let mut browser = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 302, "{page}");
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["identities"][0]["subject"], SUBJECT);
}

/// 5. Userinfo about someone else than the ID token's `sub` is not used, and the sign-in
/// is refused (OpenID Connect Core §5.3.2).
#[tokio::test(flavor = "multi_thread")]
async fn userinfo_about_another_subject_is_refused() {
    let logs = capture();
    let issuer = FakeIssuer::start().await;
    issuer.set_userinfo_claim("sub", json!("someone-else"));
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "about someone else");
    assert_eq!(app.count("users").await, 0, "no user row");
    assert!(app.me(&mut browser).await.is_none());
    let log = logs.text();
    assert!(log.contains("identity unusable"), "{log}");
    assert_no_secrets_in(&log, &issuer);
}

/// 5. An address the issuer has not verified is not taken; the sign-in goes on without it.
#[tokio::test(flavor = "multi_thread")]
async fn an_unverified_email_signs_in_without_an_email() {
    let issuer = FakeIssuer::start().await;
    issuer.set_userinfo_claim("email_verified", json!(false));
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 302, "{page}");
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Ida Issuer");
    assert_eq!(me["email"], Value::Null, "{me}");
    assert_eq!(app.count("users").await, 1);
}

/// 6. An issuer that cannot be discovered when the app starts: its sign-in says it is
/// temporarily unavailable (not a 500), its button says so, and the rest of the site works.
async fn an_undiscoverable_issuer(issuer: &FakeIssuer, logged: &str) {
    let logs = capture();
    let app = corp_app(issuer).await;
    let mut browser = app.browser();

    let start = browser.get(&app.url("/authorize/corp")).await;
    assert!(
        start.headers().get("location").is_none(),
        "not sent to the issuer"
    );
    let (status, page) = status_and_page(start).await;
    assert_ne!(status, 500, "{page}");
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "Sign-in with Corp is temporarily unavailable");
    assert!(page.contains("try again later"), "{page}");

    // The site goes on: the sign-in page, its button marked unavailable, and the API.
    let home = browser.get(&app.url("/")).await;
    let (status, home) = status_and_page(home).await;
    assert_eq!(status, 200);
    assert!(home.contains("Sign in with Corp"), "{home}");
    assert!(
        home.contains("temporarily unavailable"),
        "the button says so: {home}"
    );
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(browser.get(&app.url("/healthz")).await.status(), 200);

    let log = logs.text();
    assert!(log.contains("issuer discovery failed"), "{log}");
    assert!(log.contains(logged), "{logged:?} not in the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_whose_metadata_answers_500_is_temporarily_unavailable() {
    let issuer = FakeIssuer::start().await;
    issuer.set_metadata_status(Some(500));
    an_undiscoverable_issuer(&issuer, "HTTP 500").await;
    assert_eq!(
        issuer.seen.lock().unwrap().metadata_requests,
        1,
        "asked once: a failure is not retried at once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_issuer_is_temporarily_unavailable() {
    let issuer = FakeIssuer::start().await;
    issuer.set_reachable(false);
    an_undiscoverable_issuer(&issuer, "error sending request").await;
}

/// 6. After a failed discovery the issuer is not asked again at once (sign-ins are refused
/// meanwhile without waiting for it); a while later it is, and sign-in works again.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_discovery_is_retried_after_a_pause_and_sign_in_recovers() {
    let issuer = FakeIssuer::start().await;
    issuer.set_metadata_status(Some(500));
    let app = corp_app(&issuer).await;
    let mut browser = app.browser();
    let start = browser.get(&app.url("/authorize/corp")).await;
    assert_eq!(start.status(), 502);

    issuer.set_metadata_status(None);
    let (status, page) = status_and_page(browser.get(&app.url("/authorize/corp")).await).await;
    assert_eq!(status, 502, "still refused right after the failure");
    assert_readable(&page, "temporarily unavailable");
    assert_eq!(
        issuer.seen.lock().unwrap().metadata_requests,
        1,
        "the issuer was not asked again yet"
    );

    // RETRY_AFTER_FAILURE (10 s) later.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains("Sign in with Corp"));
    assert!(
        !home.contains("temporarily unavailable"),
        "no longer marked: {home}"
    );
    let (status, page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 302, "{page}");
    assert!(app.me(&mut browser).await.is_some());
    assert_eq!(issuer.seen.lock().unwrap().metadata_requests, 2);
}

/// 7. Two issuers, `OAUTH_A_*` and `OAUTH_B_*`, each a stand-in of its own.
async fn two_issuers_app(a: &FakeIssuer, b: &FakeIssuer) -> TestApp {
    let mut vars = a.env_named("a");
    vars.extend(b.env_named("b"));
    let mut vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    vars.push(("OAUTH_HTTP_TIMEOUT_MS", "2000".into()));
    TestApp::start_owned(&vars).await
}

fn token_requests(issuer: &FakeIssuer) -> usize {
    issuer.seen.lock().unwrap().token_requests.len()
}

/// 7. Mix-up (RFC 9700 §4.4): issuer A's answer (its code, the state, `iss` of A) delivered
/// to B's callback is refused with a readable 400 before any code is exchanged, and leaves
/// the person's sign-in with A pending: A's genuine answer still completes it.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_of_one_issuer_at_the_other_issuers_callback_is_refused() {
    let a = FakeIssuer::start().await;
    let b = FakeIssuer::start().await;
    let app = two_issuers_app(&a, &b).await;
    let mut browser = app.browser();

    let answer = answer_of(&app, &a, &mut browser, "a").await;
    assert_eq!(query_param(&answer, "iss"), Some(a.base_url.clone()));
    let (_, query) = answer.split_once('?').unwrap();
    let misdelivered = browser.get(&app.url(&format!("/callback/b?{query}"))).await;
    let (status, page) = status_and_page(misdelivered).await;
    assert_eq!(status, 400, "{page}");
    assert_readable(
        &page,
        "The answer came from a different provider than the one you chose.",
    );
    assert_eq!(token_requests(&a), 0, "A's code was not exchanged");
    assert_eq!(token_requests(&b), 0, "nor sent to B's token endpoint");
    assert_eq!(app.count("users").await, 0);
    assert!(app.me(&mut browser).await.is_none());

    let (status, page) = status_and_page(browser.get(&answer).await).await;
    assert_eq!(status, 302, "the genuine answer still signs in: {page}");
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["identities"][0]["subject"], SUBJECT);
    assert_eq!(token_requests(&a), 1);
    assert_eq!(token_requests(&b), 0);
}

/// 7. Mix-up, RFC 9207's side: the person's sign-in is with A, but the answer arriving at
/// A's callback (with A's state) carries a code B issued and names B in `iss`. It is refused
/// before A's token endpoint is called: sending B's code there would hand it to A.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_at_one_issuers_callback_naming_the_other_issuer_is_refused() {
    let a = FakeIssuer::start().await;
    let b = FakeIssuer::start().await;
    let app = two_issuers_app(&a, &b).await;

    let mut with_b = app.browser();
    let b_answer = answer_of(&app, &b, &mut with_b, "b").await;
    let b_code = query_param(&b_answer, "code").unwrap();
    let mut browser = app.browser();
    let a_answer = answer_of(&app, &a, &mut browser, "a").await;
    let a_state = query_param(&a_answer, "state").unwrap();

    let mut callback = url::Url::parse(&app.url("/callback/a")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("code", &b_code)
        .append_pair("state", &a_state)
        .append_pair("iss", &b.base_url);
    let (status, page) = status_and_page(browser.get(callback.as_str()).await).await;
    assert_eq!(status, 400, "{page}");
    assert_readable(&page, "did not come from the expected provider");
    assert_eq!(token_requests(&a), 0, "B's code was not sent to A");
    assert_eq!(token_requests(&b), 0);
    assert_eq!(app.count("users").await, 0);
    assert!(app.me(&mut browser).await.is_none());
}
