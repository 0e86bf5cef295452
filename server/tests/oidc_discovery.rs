//! OpenID Connect discovery against a local stand-in issuer: metadata and keys, the issuer
//! check of Discovery §4.3, failures as one readable sentence, keys fetched again after a
//! rotation, and which issuer addresses are accepted at all.

use std::sync::{Arc, Mutex};

use app::backend::oauth::{discovery, http_client};
use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use openidconnect::core::{CoreJsonWebKeySet, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKey, JsonWebKeyId, PrivateSigningKey};
use serde_json::{json, Value};

const KEY: &str = include_str!("../../app/src/backend/oauth/testdata/id-token-test-key.pem");
const OTHER_KEY: &str =
    include_str!("../../app/src/backend/oauth/testdata/id-token-other-test-key.pem");

#[derive(Clone)]
struct Issuer {
    base: String,
    /// What `/.well-known/openid-configuration` says its issuer is (`None`: the truth).
    claimed_issuer: Arc<Mutex<Option<String>>>,
    keys: Arc<Mutex<Value>>,
    metadata_status: Arc<Mutex<StatusCode>>,
}

fn key_set(pem: &str, kid: &str) -> Value {
    let key = CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap();
    serde_json::to_value(CoreJsonWebKeySet::new(vec![key.as_verification_key()])).unwrap()
}

async fn start_issuer() -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = Issuer {
        base: format!("http://{}", listener.local_addr().unwrap()),
        claimed_issuer: Arc::new(Mutex::new(None)),
        keys: Arc::new(Mutex::new(key_set(KEY, "k1"))),
        metadata_status: Arc::new(Mutex::new(StatusCode::OK)),
    };
    let router =
        Router::new()
            .route("/.well-known/openid-configuration", get(metadata))
            .route(
                "/jwks",
                get(|State(issuer): State<Issuer>| async move {
                    Json(issuer.keys.lock().unwrap().clone())
                }),
            )
            .with_state(issuer.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    issuer
}

async fn metadata(State(issuer): State<Issuer>) -> impl IntoResponse {
    let status = *issuer.metadata_status.lock().unwrap();
    if status != StatusCode::OK {
        return (status, "down").into_response();
    }
    let base = &issuer.base;
    let claimed = issuer.claimed_issuer.lock().unwrap().clone();
    Json(json!({
        "issuer": claimed.unwrap_or_else(|| base.clone()),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"]
    }))
    .into_response()
}

fn http() -> reqwest::Client {
    http_client::build(std::time::Duration::from_secs(2))
}

fn kids(keys: &CoreJsonWebKeySet) -> Vec<String> {
    keys.keys()
        .iter()
        .filter_map(|key| key.key_id().map(|kid| kid.as_str().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_reads_the_metadata_and_keys_and_refetches_them_after_a_rotation() {
    let issuer = start_issuer().await;
    let url = discovery::issuer_url(&issuer.base).unwrap();
    let metadata = discovery::discover(&http(), &url).await.unwrap();
    assert_eq!(metadata.issuer().as_str(), issuer.base);
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str().to_owned()),
        Some(format!("{}/token", issuer.base))
    );
    assert_eq!(kids(metadata.jwks()), ["k1"]);

    *issuer.keys.lock().unwrap() = key_set(OTHER_KEY, "k2");
    let keys = discovery::refetch_keys(&http(), &metadata).await.unwrap();
    assert_eq!(kids(&keys), ["k2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_that_names_another_issuer_or_fails_is_one_readable_sentence() {
    let issuer = start_issuer().await;
    let url = discovery::issuer_url(&issuer.base).unwrap();
    *issuer.claimed_issuer.lock().unwrap() = Some("https://elsewhere.example".into());
    let err = discovery::discover(&http(), &url).await.unwrap_err();
    assert!(err.contains("https://elsewhere.example"), "{err}");

    *issuer.claimed_issuer.lock().unwrap() = None;
    *issuer.metadata_status.lock().unwrap() = StatusCode::SERVICE_UNAVAILABLE;
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
