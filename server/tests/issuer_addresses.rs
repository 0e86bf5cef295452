//! An OpenID Connect issuer cannot point this server anywhere (`address_policy.rs`): the
//! endpoints its discovery document names must be https:// (plain http only on this
//! machine) and off private addresses unless on the host the operator configured; a name
//! that resolves to such an address is refused when connecting; and every refusal, timeout
//! and failed connection shows the person the same page, the log saying which it was.
//!
//! "Elsewhere" here is 127.0.0.2 or `localhost`: other hosts than the configured 127.0.0.1
//! that are still this machine, so that a broken policy sends nothing off it.

mod support;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use app::backend::oauth::address_policy::AddressPolicy;
use app::backend::oauth::{discovery, http_client};
use serde_json::json;
use support::{
    fake_issuer::{FakeIssuer, CLIENT_SECRET},
    issuer_flow::{answer_of, assert_readable, sign_in, status_and_page},
    log_capture::capture,
    TestApp,
};
use tokio::net::TcpListener;

/// A listener that only counts the connections made to it: where a secret would have gone.
struct Catcher {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Catcher {
    async fn on(ip: &str) -> Catcher {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Catcher { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The client the app builds for an operator who configured an issuer on 127.0.0.1.
fn operator_client() -> http_client::ProviderClient {
    let operator = url::Url::parse("http://127.0.0.1").unwrap();
    http_client::build(
        std::time::Duration::from_secs(2),
        AddressPolicy::trusting([&operator]),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_naming_an_endpoint_elsewhere_on_plain_http_or_a_private_address_is_refused_whole(
) {
    let catcher = Catcher::on("127.0.0.2").await;
    let elsewhere = format!("http://127.0.0.2:{}", catcher.port);
    for (field, url) in [
        ("token_endpoint", format!("{elsewhere}/token")),
        ("userinfo_endpoint", format!("{elsewhere}/userinfo")),
        ("jwks_uri", format!("{elsewhere}/jwks")),
        // IPv4-mapped IPv6: the same host.
        (
            "jwks_uri",
            format!("http://[::ffff:127.0.0.2]:{}/jwks", catcher.port),
        ),
        ("token_endpoint", "http://issuer.example.com/token".into()),
        (
            "authorization_endpoint",
            "http://sso.example.com/authorize".into(),
        ),
    ] {
        let issuer = FakeIssuer::start().await;
        issuer.set_document_field(field, json!(url));
        let configured = discovery::issuer_url(&issuer.base_url).unwrap();
        let err = discovery::discover(&operator_client(), &configured)
            .await
            .unwrap_err();
        assert!(err.contains(field), "{field} {url}: {err}");
        assert!(err.contains("refused"), "{field} {url}: {err}");
        assert!(
            err.contains("private or local") || err.contains("not https://"),
            "{err}"
        );
    }
    assert_eq!(catcher.connections(), 0, "nothing was sent elsewhere");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_on_the_configured_host_are_used_whatever_their_port() {
    let issuer = FakeIssuer::start().await;
    let configured = discovery::issuer_url(&issuer.base_url).unwrap();
    let metadata = discovery::discover(&operator_client(), &configured)
        .await
        .expect("the stand-in's own endpoints, on 127.0.0.1 like the issuer");
    assert!(metadata.token_endpoint().is_some());
}

/// An issuer whose document names a token endpoint elsewhere: its sign-in is temporarily
/// unavailable, nothing (least of all the client secret) goes there, and the log says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_through_an_issuer_that_points_elsewhere_sends_nothing_there() {
    let logs = capture();
    let catcher = Catcher::on("127.0.0.2").await;
    let issuer = FakeIssuer::start().await;
    issuer.set_document_field(
        "token_endpoint",
        json!(format!("http://127.0.0.2:{}/token", catcher.port)),
    );
    let app = TestApp::start_owned(&issuer.env()).await;
    let mut browser = app.browser();
    let (status, page) = status_and_page(browser.get(&app.url("/authorize/corp")).await).await;
    assert_eq!(status, 502, "{page}");
    assert_readable(&page, "Sign-in with Corp is temporarily unavailable");
    assert_eq!(catcher.connections(), 0);
    let log = logs.text();
    assert!(log.contains("its token_endpoint is refused"), "{log}");
    assert!(!log.contains(CLIENT_SECRET));
}

/// A name is checked when it is resolved, so no earlier check can be slipped past (DNS
/// rebinding): `localhost` passes the document's checks (plain http on this machine) but
/// resolves only to loopback, which is not the host the operator configured.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_resolving_to_a_private_address_is_refused_when_connecting() {
    let logs = capture();
    let catcher = Catcher::on("127.0.0.1").await;
    let issuer = FakeIssuer::start().await;
    issuer.set_document_field(
        "token_endpoint",
        json!(format!("http://localhost:{}/token", catcher.port)),
    );
    let app = TestApp::start_owned(&issuer.env()).await;
    let mut browser = app.browser();
    let (status, refused_page) = status_and_page(sign_in(&app, &issuer, &mut browser).await).await;
    assert_eq!(status, 502, "{refused_page}");
    assert_readable(&refused_page, "Could not reach the provider.");
    assert_eq!(catcher.connections(), 0, "the code and secret stayed here");
    assert!(app.me(&mut browser).await.is_none());
    assert_eq!(app.count("users").await, 0);
    let log = logs.text();
    assert!(log.contains("provider address refused"), "{log}");
    assert!(
        log.contains("resolves only to private or local addresses"),
        "{log}"
    );

    // A closed port on the operator's own host fails in the network instead: the person
    // sees the very same page (no port scanner), the log tells them apart.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let issuer = FakeIssuer::start().await;
    issuer.set_document_field(
        "token_endpoint",
        json!(format!("http://127.0.0.1:{closed}/token")),
    );
    let app = TestApp::start_owned(&issuer.env()).await;
    let mut browser = app.browser();
    let callback = answer_of(&app, &issuer, &mut browser, "corp").await;
    let (status, failed_page) = status_and_page(browser.get(&callback).await).await;
    assert_eq!(status, 502);
    assert_eq!(
        readable_message(&failed_page),
        readable_message(&refused_page)
    );
    assert!(logs.text().contains("provider unreachable"));
}

/// The page's message paragraph, which is all that differs between error pages.
fn readable_message(page: &str) -> &str {
    let start = page.find("role=\"alert\"").expect("an alert on the page");
    &page[start..start + page[start..].find("</").unwrap()]
}
