//! A fast stand-in OpenID Connect issuer for the benchmark, configured in the app as a
//! generic issuer (`OAUTH_CORP_*`): discovery, a key set, an authorize endpoint that
//! approves at once, and ID tokens signed with EdDSA, so that a flow pays what a real
//! issuer's costs the app (discovery cached, the ID token checked, userinfo read). The
//! person is named by `login_hint`; the code carries them and the nonce.

use std::collections::HashMap;
use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey};
use openidconnect::core::{
    CoreEdDsaPrivateSigningKey, CoreGenderClaim, CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserName, IssuerUrl, JsonWebKeyId, LocalizedClaim, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde_json::json;

const CLIENT_ID: &str = "bench";

#[derive(Clone)]
pub(crate) struct Issuer {
    pub(crate) issuer: Arc<String>,
    pub(crate) key: Arc<CoreEdDsaPrivateSigningKey>,
}

impl Issuer {
    /// The issuer at `{base}{path}`, with the benchmark's key.
    pub(crate) fn at(base: &str, path: &str) -> Issuer {
        // A benchmark key: a fixed seed.
        let pem = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key encodes");
        let key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(
            &pem,
            Some(JsonWebKeyId::new("b1".into())),
        )
        .expect("Ed25519 key");
        Issuer {
            issuer: Arc::new(format!("{base}{path}")),
            key: Arc::new(key),
        }
    }
}

/// The issuer's routes, under `/oidc` of the stand-in at `base`.
pub fn router(base: &str) -> Router {
    let state = Issuer::at(base, "/oidc");
    Router::new()
        .route("/oidc/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize))
        .route("/oidc/token", post(token))
        .route("/oidc/userinfo", get(userinfo))
        .with_state(state)
}

/// The app's configuration of this issuer.
pub fn app_env(base: &str) -> Vec<(String, String)> {
    vec![
        ("OAUTH_CORP_ISSUER".into(), format!("{base}/oidc")),
        ("OAUTH_CORP_CLIENT_ID".into(), CLIENT_ID.into()),
        ("OAUTH_CORP_CLIENT_SECRET".into(), "bench-secret".into()),
    ]
}

async fn discovery(State(s): State<Issuer>) -> Response {
    let i = s.issuer.as_str();
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

pub(crate) async fn jwks(State(s): State<Issuer>) -> Response {
    Json(CoreJsonWebKeySet::new(vec![s.key.as_verification_key()])).into_response()
}

async fn authorize(State(s): State<Issuer>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(redirect_uri), Some(state), Some(user), Some(nonce)) = (
        q.get("redirect_uri"),
        q.get("state"),
        q.get("login_hint"),
        q.get("nonce"),
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut url = url::Url::parse(redirect_uri).expect("redirect_uri");
    url.query_pairs_mut()
        .append_pair("code", &format!("code-{user}~{nonce}"))
        .append_pair("state", state)
        .append_pair("iss", &s.issuer);
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

async fn token(State(s): State<Issuer>, body: String) -> Response {
    let Some((user, nonce)) = person_and_nonce(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let standard = StandardClaims::new(SubjectIdentifier::new(user.clone())).set_name(Some(
        LocalizedClaim::from(EndUserName::new(format!("User {user}"))),
    ));
    token_answer(&s, CLIENT_ID, &user, &nonce, standard)
}

/// The person and the nonce a code carries (`code-<person>~<nonce>`), from a token request.
pub(crate) fn person_and_nonce(body: &str) -> Option<(String, String)> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let (user, nonce) = form.get("code")?.strip_prefix("code-")?.split_once('~')?;
    Some((user.to_owned(), nonce.to_owned()))
}

/// A token answer with an ID token about `user` saying `standard`, signed by `s`.
pub(crate) fn token_answer(
    s: &Issuer,
    client_id: &str,
    user: &str,
    nonce: &str,
    standard: StandardClaims<CoreGenderClaim>,
) -> Response {
    let now = chrono::Utc::now();
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(s.issuer.to_string()).expect("issuer"),
        vec![Audience::new(client_id.into())],
        now + chrono::Duration::minutes(5),
        now,
        standard,
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce.to_owned())));
    let id_token = CoreIdToken::new(claims, &*s.key, CoreJwsSigningAlgorithm::EdDsa, None, None)
        .expect("signed");
    Json(json!({
        "access_token": format!("at-{user}"),
        "token_type": "bearer",
        "id_token": id_token.to_string(),
    }))
    .into_response()
}

async fn userinfo(headers: axum::http::HeaderMap) -> Response {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer at-"))
    {
        Some(user) => Json(json!({"sub": user, "name": format!("User {user}")})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
