//! Discovery never stalls sign-ins and never trusts old keys forever (`discovery::Issuer`):
//! a sign-in just after start-up waits for the first discovery under way; once a copy is
//! cached no sign-in waits on a refresh, which runs once in the background; an issuer that
//! stays unreachable is served from its last document only up to the bound.

mod support;

use std::time::{Duration, Instant};

use support::{
    fake_issuer::FakeIssuer,
    issuer_flow::{assert_readable, status_and_page},
    location, TestApp,
};

async fn app_with(issuer: &FakeIssuer, timing: &[(&'static str, &str)]) -> TestApp {
    let mut vars = issuer.env();
    vars.extend(timing.iter().map(|(k, v)| (*k, v.to_string())));
    TestApp::start_owned(&vars).await
}

fn metadata_requests(issuer: &FakeIssuer) -> usize {
    issuer.seen.lock().unwrap().metadata_requests
}

/// `/authorize/corp`: its status and how long it took.
async fn start(app: &TestApp) -> (u16, Duration, String) {
    let began = Instant::now();
    let response = app.browser().get(&app.url("/authorize/corp")).await;
    let took = began.elapsed();
    let status = response.status().as_u16();
    let body = if status == 302 {
        location(&response)
    } else {
        response.text().await.unwrap()
    };
    (status, took, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_just_after_start_up_waits_for_the_first_discovery() {
    let issuer = FakeIssuer::start().await;
    issuer.set_metadata_delay(Duration::from_millis(800));
    let app = app_with(&issuer, &[]).await;
    app.discover_issuers_as_at_start_up();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (status, took, body) = start(&app).await;
    assert_eq!(status, 302, "sent to the issuer, not refused: {body}");
    assert!(body.starts_with(&issuer.base_url), "{body}");
    assert!(took >= Duration::from_millis(500), "it waited: {took:?}");
    assert_eq!(
        metadata_requests(&issuer),
        1,
        "joined the discovery under way"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_document_serves_at_once_while_one_refresh_runs_in_the_background() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(
        &issuer,
        &[
            ("OIDC_DISCOVERY_REFRESH_SECS", "1"),
            ("OIDC_DISCOVERY_MAX_STALE_SECS", "60"),
        ],
    )
    .await;
    assert_eq!(start(&app).await.0, 302);
    assert_eq!(metadata_requests(&issuer), 1);

    // Due for a refresh, and the issuer has become slow.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    issuer.set_metadata_delay(Duration::from_millis(1_500));
    let starts: Vec<_> = (0..6).map(|_| start(&app)).collect();
    for (status, took, body) in futures::future::join_all(starts).await {
        assert_eq!(status, 302, "{body}");
        // Waiting for the refresh would take its 1.5 s at least; the margin is for a busy
        // machine.
        assert!(
            took < Duration::from_millis(1_200),
            "waited for the refresh: {took:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        metadata_requests(&issuer),
        2,
        "one refresh for six sign-ins"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_issuers_last_document_serves_only_up_to_the_bound() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(
        &issuer,
        &[
            ("OIDC_DISCOVERY_REFRESH_SECS", "1"),
            ("OIDC_DISCOVERY_MAX_STALE_SECS", "3"),
        ],
    )
    .await;
    let discovered = Instant::now();
    assert_eq!(start(&app).await.0, 302);
    issuer.set_reachable(false);

    // Stale and the issuer down: the last good document still serves.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (status, _, body) = start(&app).await;
    assert_eq!(status, 302, "{body}");

    // Past the bound: the issuer may have rotated its keys out; not trusted any longer.
    tokio::time::sleep(
        Duration::from_secs(3).saturating_sub(discovered.elapsed()) + Duration::from_millis(300),
    )
    .await;
    let (status, _, page) = start(&app).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "Sign-in with Corp is temporarily unavailable");
    let (_, page) = status_and_page(app.browser().get(&app.url("/")).await).await;
    assert!(
        page.contains("temporarily unavailable"),
        "the button says so"
    );
}
