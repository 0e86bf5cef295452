//! Driving a sign-in through the stand-in issuer (`fake_issuer`) as a browser does, and
//! reading what the app answered.

use super::{fake_issuer::FakeIssuer, location, Browser, TestApp};

/// `/authorize/{name}` and the issuer's answer to it (the stand-in answers at once): the
/// callback URL the issuer sends the browser back to, not yet followed.
pub async fn answer_of(
    app: &TestApp,
    issuer: &FakeIssuer,
    browser: &mut Browser,
    name: &str,
) -> String {
    let start = browser.get(&app.url(&format!("/authorize/{name}"))).await;
    assert_eq!(start.status(), 302, "authorize redirects to the issuer");
    let authorize = location(&start);
    assert!(
        authorize.starts_with(&format!("{}/authorize?", issuer.base_url)),
        "{authorize}"
    );
    let answer = browser.get(&authorize).await;
    assert_eq!(answer.status(), 302, "the stand-in answers at once");
    let callback = location(&answer);
    assert!(
        callback.starts_with(&app.url(&format!("/callback/{name}?"))),
        "{callback}"
    );
    callback
}

/// The whole round trip as a browser makes it: `/authorize/corp`, the issuer (which answers
/// at once), then the app's callback; returns the callback's response.
pub async fn sign_in(
    app: &TestApp,
    issuer: &FakeIssuer,
    browser: &mut Browser,
) -> reqwest::Response {
    let callback = answer_of(app, issuer, browser, "corp").await;
    browser.get(&callback).await
}

pub async fn status_and_page(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A page a person can read: the message, and nothing of the program's insides.
pub fn assert_readable(page: &str, message: &str) {
    assert!(page.contains(message), "{message:?} not in {page}");
    for inside in [
        "panicked",
        "backtrace",
        ".rs:",
        "SignInFailed",
        "IdTokenError",
        "Unavailable(",
    ] {
        assert!(!page.contains(inside), "{inside:?} shown in {page}");
    }
}
