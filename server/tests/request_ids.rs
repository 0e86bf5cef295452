//! `X-Request-Id`: every response names the id its log lines carry. Only a proxy in
//! `TRUSTED_PROXIES` may choose it (its access log then matches ours); a client's own is
//! replaced, so nobody writes what they like into the logs.

mod support;

use support::TestApp;

async fn id_for(app: &TestApp, sent: Option<&str>) -> String {
    let mut request = reqwest::Client::new().get(app.url("/healthz"));
    if let Some(id) = sent {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn is_ours(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_has_an_id_of_its_own_and_a_client_cannot_choose_it() {
    let app = TestApp::start(&[]).await;
    let (a, b) = (id_for(&app, None).await, id_for(&app, None).await);
    assert!(is_ours(&a) && is_ours(&b), "{a} {b}");
    assert_ne!(a, b);
    let replaced = id_for(&app, Some("client-chosen-id")).await;
    assert!(is_ours(&replaced), "{replaced}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxy_passes_its_id_down_if_it_looks_like_one() {
    let app = TestApp::start(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    assert_eq!(
        id_for(&app, Some("7F000001:C8A2_6710F3A2.1:proxy-1")).await,
        "7F000001:C8A2_6710F3A2.1:proxy-1"
    );
    for malformed in ["has spaces in it", "quote\"d", &"x".repeat(65), ""] {
        let replaced = id_for(&app, Some(malformed)).await;
        assert!(is_ours(&replaced), "{malformed:?} became {replaced}");
    }
}
