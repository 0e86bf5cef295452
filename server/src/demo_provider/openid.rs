//! What makes the demo provider an OpenID Connect issuer: its discovery document, its key
//! set, and the ID tokens it signs (EdDSA with a key made at start-up and never stored: a
//! restart only means the app fetches the new key set).

use std::sync::Arc;

use axum::{extract::State, response::IntoResponse, Json};
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey};
use openidconnect::core::{
    CoreEdDsaPrivateSigningKey, CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, EndUserName, IssuerUrl, JsonWebKeyId,
    LocalizedClaim, Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use rand::RngCore;
use serde_json::json;

use super::{grants::DemoIdentity, DemoProvider};

/// How long an ID token may be presented: it is read once, moments after it is issued.
const ID_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

pub struct SigningKey {
    key: CoreEdDsaPrivateSigningKey,
}

impl SigningKey {
    /// A fresh Ed25519 key, named by a random key id.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let pem = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key encodes");
        let kid = format!("demo-{:016x}", rand::rng().next_u64());
        let key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(JsonWebKeyId::new(kid)))
            .expect("a well-formed Ed25519 key");
        Self { key }
    }

    fn key_set(&self) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![self.key.as_verification_key()])
    }

    /// An ID token saying `identity` signed in to `client_id`, carrying back its `nonce`.
    /// The email is not one the demo provider verified: it says so.
    pub fn id_token(
        &self,
        issuer: &str,
        client_id: &str,
        nonce: Option<&str>,
        identity: &DemoIdentity,
    ) -> String {
        let now = chrono::Utc::now();
        let mut standard = StandardClaims::new(SubjectIdentifier::new(identity.subject()))
            .set_name(Some(LocalizedClaim::from(EndUserName::new(
                identity.name.clone(),
            ))));
        if let Some(email) = &identity.email {
            standard = standard
                .set_email(Some(EndUserEmail::new(email.clone())))
                .set_email_verified(Some(false));
        }
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(issuer.to_owned()).expect("the issuer is a URL"),
            vec![Audience::new(client_id.to_owned())],
            now + ID_TOKEN_LIFETIME,
            now,
            standard,
            EmptyAdditionalClaims {},
        )
        .set_nonce(nonce.map(|nonce| Nonce::new(nonce.to_owned())));
        CoreIdToken::new(
            claims,
            &self.key,
            CoreJwsSigningAlgorithm::EdDsa,
            None,
            None,
        )
        .expect("EdDSA signing does not fail")
        .to_string()
    }
}

/// `GET /demo-provider/.well-known/openid-configuration` (OpenID Connect Discovery §3).
pub async fn discovery(State(provider): State<Arc<DemoProvider>>) -> impl IntoResponse {
    let issuer = &provider.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "name", "email", "email_verified"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// `GET /demo-provider/jwks`: the public half of the signing key.
pub async fn jwks(State(provider): State<Arc<DemoProvider>>) -> impl IntoResponse {
    Json(provider.signing_key.key_set())
}
