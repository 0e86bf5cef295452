//! The Microsoft preset against a stand-in speaking Entra ID's multi-tenant protocol: the
//! discovery document names the `{tenantid}` template rather than one issuer, and each ID
//! token's `iss` is that template filled in with the token's own `tid`. A token whose
//! `iss` is another tenant's than its `tid`, or from a tenant the operator did not list,
//! signs nobody in; Microsoft's addresses are kept unverified.

mod support;

use serde_json::json;
use support::{
    fake_issuer::{FakeIssuer, IssParam, SUBJECT},
    issuer_flow::{answer_of, assert_readable, status_and_page},
    TestApp,
};

const CONTOSO: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const FABRIKAM: &str = "b9419818-09af-49c2-b0c3-653adc1f376e";

/// A stand-in whose discovery names `{base}/{tenantid}/v2.0`, as Microsoft's `common`
/// document does, and which leaves `iss` out of its answers, as Microsoft does.
async fn multi_tenant_issuer() -> FakeIssuer {
    let issuer = FakeIssuer::start().await;
    let template = format!("{}/{{tenantid}}/v2.0", issuer.base_url);
    issuer.set_claimed_issuer(Some(&template));
    issuer.set_iss_parameter_supported(None);
    issuer.set_iss_param(IssParam::Omitted);
    issuer
}

fn tenant_issuer(issuer: &FakeIssuer, tid: &str) -> String {
    format!("{}/{tid}/v2.0", issuer.base_url)
}

/// ID tokens from now on: `iss` of tenant `iss_tid`, `tid` claim `tid`.
fn issue_tokens(issuer: &FakeIssuer, iss_tid: &str, tid: &str) {
    issuer.set_id_token_claims(json!({
        "iss": tenant_issuer(issuer, iss_tid),
        "tid": tid,
        "name": "Megan Bowen",
        "email": "megan@contoso.example",
        "email_verified": true,
    }));
}

async fn start_app(issuer: &FakeIssuer, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("OAUTH_MICROSOFT_ISSUER", issuer.base_url.clone()),
        (
            "OAUTH_MICROSOFT_CLIENT_ID",
            support::fake_issuer::CLIENT_ID.into(),
        ),
        (
            "OAUTH_MICROSOFT_CLIENT_SECRET",
            support::fake_issuer::CLIENT_SECRET.into(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    TestApp::start_owned(&env).await
}

#[tokio::test(flavor = "multi_thread")]
async fn people_of_any_tenant_sign_in_with_their_tenants_issuer() {
    let issuer = multi_tenant_issuer().await;
    // Microsoft's userinfo gives a photo address that needs the person's token.
    issuer.set_userinfo_claim(
        "picture",
        json!("https://graph.microsoft.com/v1.0/me/photo/$value"),
    );
    let app = start_app(&issuer, &[]).await;
    let mut browser = app.browser();
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains("Sign in with Microsoft"), "{home}");

    for tid in [CONTOSO, FABRIKAM] {
        issue_tokens(&issuer, tid, tid);
        let mut browser = app.browser();
        let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
        assert_eq!(browser.get(&callback).await.status(), 302, "tenant {tid}");
        let me = app.me(&mut browser).await.expect("signed in");
        let identity = &me["identities"][0];
        assert_eq!(identity["provider"], "microsoft");
        assert_eq!(identity["subject"], SUBJECT);
        // The site, not one tenant's issuer: another OAUTH_MICROSOFT_TENANT keeps people.
        assert_eq!(identity["issuer"], issuer.base_url.as_str());
        // Microsoft does not vouch for addresses, whatever its tokens say.
        assert_eq!(identity["email"], "ida@corp.example");
        assert_eq!(identity["email_status"], "unverified");
        assert!(me["avatar_url"].is_null(), "{me}");
    }
    // The same `sub` through two tenants is one person: one user, one identity.
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_whose_issuer_is_not_its_tenants_signs_nobody_in() {
    let issuer = multi_tenant_issuer().await;
    let app = start_app(&issuer, &[]).await;
    for (iss_tid, tid) in [(FABRIKAM, CONTOSO), (CONTOSO, "")] {
        issue_tokens(&issuer, iss_tid, tid);
        let mut browser = app.browser();
        let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
        let (status, page) = status_and_page(browser.get(&callback).await).await;
        assert_eq!(status, 502, "{page}");
        assert_readable(&page, "answer could not be verified.");
        assert!(app.me(&mut browser).await.is_none());
    }
    // The template itself as `iss` is no tenant's issuer either.
    issuer.set_id_token_claims(json!({
        "iss": format!("{}/{{tenantid}}/v2.0", issuer.base_url),
        "tid": CONTOSO,
    }));
    let mut browser = app.browser();
    let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
    assert_eq!(browser.get(&callback).await.status(), 502);
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_listed_tenants_sign_in() {
    let issuer = multi_tenant_issuer().await;
    let app = start_app(&issuer, &[("OAUTH_MICROSOFT_TENANTS", CONTOSO)]).await;

    issue_tokens(&issuer, FABRIKAM, FABRIKAM);
    let mut browser = app.browser();
    let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
    let (status, page) = status_and_page(browser.get(&callback).await).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "answer could not be verified.");
    assert_eq!(app.count("users").await, 0);

    issue_tokens(&issuer, CONTOSO, CONTOSO);
    let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert!(app.me(&mut browser).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_naming_its_tenants_issuer_passes_and_another_sites_does_not() {
    let issuer = multi_tenant_issuer().await;
    issue_tokens(&issuer, CONTOSO, CONTOSO);
    let app = start_app(&issuer, &[]).await;
    // RFC 9207's `iss` in the answer, as a multi-tenant issuer would fill it in.
    issuer.set_iss_param(IssParam::Other(tenant_issuer(&issuer, CONTOSO)));
    let mut browser = app.browser();
    let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
    assert_eq!(browser.get(&callback).await.status(), 302);

    issuer.set_iss_param(IssParam::Other("https://evil.example/v2.0".into()));
    let mut browser = app.browser();
    let callback = answer_of(&app, &issuer, &mut browser, "microsoft").await;
    let (status, page) = status_and_page(browser.get(&callback).await).await;
    assert_eq!(status, 400, "{page}");
    assert!(app.me(&mut browser).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_naming_an_issuer_on_another_site_is_refused() {
    let issuer = multi_tenant_issuer().await;
    issuer.set_claimed_issuer(Some("https://evil.example/{tenantid}/v2.0"));
    let app = start_app(&issuer, &[]).await;
    let mut browser = app.browser();
    let (status, page) = status_and_page(browser.get(&app.url("/authorize/microsoft")).await).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "Sign-in with Microsoft is temporarily unavailable");
}
