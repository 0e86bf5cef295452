//! OpenID Connect discovery against a local stand-in issuer: metadata and keys, the issuer
//! check of Discovery §4.3, failures as one readable sentence, keys fetched again after a
//! rotation, and which issuer addresses are accepted at all.

mod support;

use app::backend::oauth::address_policy::AddressPolicy;
use app::backend::oauth::{discovery, http_client};
use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::JsonWebKey;
use support::fake_issuer::FakeIssuer;

/// A client as the app builds it for an operator whose issuer is on this machine.
fn http() -> http_client::ProviderClient {
    let operator = url::Url::parse("http://127.0.0.1").unwrap();
    http_client::build(
        std::time::Duration::from_secs(2),
        AddressPolicy::trusting([&operator]),
    )
}

fn kids(keys: &CoreJsonWebKeySet) -> Vec<String> {
    keys.keys()
        .iter()
        .filter_map(|key| key.key_id().map(|kid| kid.as_str().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_reads_the_metadata_and_keys_and_refetches_them_after_a_rotation() {
    let issuer = FakeIssuer::start().await;
    let url = discovery::issuer_url(&issuer.base_url).unwrap();
    let metadata = discovery::discover(&http(), &url).await.unwrap();
    assert_eq!(metadata.issuer().as_str(), issuer.base_url);
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str().to_owned()),
        Some(format!("{}/token", issuer.base_url))
    );
    assert_eq!(kids(metadata.jwks()), ["k1"]);

    issuer.rotate_keys();
    let keys = discovery::refetch_keys(&http(), &metadata).await.unwrap();
    assert_eq!(kids(&keys), ["k2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_that_names_another_issuer_or_fails_is_one_readable_sentence() {
    let issuer = FakeIssuer::start().await;
    let url = discovery::issuer_url(&issuer.base_url).unwrap();
    issuer.set_claimed_issuer(Some("https://elsewhere.example"));
    let err = discovery::discover(&http(), &url).await.unwrap_err();
    assert!(err.contains("https://elsewhere.example"), "{err}");

    issuer.set_claimed_issuer(None);
    issuer.set_metadata_status(Some(503));
    let err = discovery::discover(&http(), &url).await.unwrap_err();
    assert!(err.starts_with("HTTP 503"), "{err}");

    let nobody = discovery::issuer_url("http://127.0.0.1:9").unwrap();
    let err = discovery::discover(&http(), &nobody).await.unwrap_err();
    assert!(err.contains("onnection refused"), "{err}");
}

#[test]
fn issuers_must_be_https_except_on_this_machine() {
    assert!(discovery::issuer_url("https://accounts.google.com").is_ok());
    assert!(discovery::issuer_url("http://127.0.0.1:4000/oidc").is_ok());
    assert!(discovery::issuer_url("http://localhost:4000").is_ok());
    assert!(discovery::issuer_url("http://sso.example.com")
        .unwrap_err()
        .contains("https://"));
    assert!(discovery::issuer_url("not a url").is_err());
}
