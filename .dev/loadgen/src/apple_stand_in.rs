//! A fast stand-in for Sign in with Apple, configured in the app as its Apple preset
//! (`OAUTH_APPLE_*`, pointed here by `OAUTH_APPLE_ISSUER`): the app signs an ES256 client
//! secret for every token request, Apple's page answers with a form the browser posts to
//! the callback (with the person's name in `user`), and everything about the person is in
//! the ID token (no userinfo). The stand-in checks only that the secret is a JWT: what a
//! flow costs the app is what is measured.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use openidconnect::{EndUserEmail, StandardClaims, SubjectIdentifier};
use serde_json::json;

use crate::oidc_stand_in::{jwks, person_and_nonce, token_answer, Issuer};

const CLIENT_ID: &str = "com.example.bench";
// Test key only (the app's unit tests'); it signs nothing real.
const KEY: &str = include_str!("../../../app/src/backend/oauth/testdata/apple-test-key.p8");

/// Apple's routes, under `/apple` of the stand-in at `base`.
pub fn router(base: &str) -> Router {
    Router::new()
        .route("/apple/.well-known/openid-configuration", get(discovery))
        .route("/apple/jwks", get(jwks))
        .route("/apple/authorize", get(authorize))
        .route("/apple/token", post(token))
        .with_state(Issuer::at(base, "/apple"))
}

/// The app's configuration of Apple.
pub fn app_env(base: &str) -> Vec<(String, String)> {
    vec![
        ("OAUTH_APPLE_ISSUER".into(), format!("{base}/apple")),
        ("OAUTH_APPLE_CLIENT_ID".into(), CLIENT_ID.into()),
        ("OAUTH_APPLE_TEAM_ID".into(), "TEAM123456".into()),
        ("OAUTH_APPLE_KEY_ID".into(), "KEY1234567".into()),
        ("OAUTH_APPLE_PRIVATE_KEY".into(), KEY.into()),
    ]
}

async fn discovery(State(s): State<Issuer>) -> Response {
    let i = s.issuer.as_str();
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }))
    .into_response()
}

/// Apple's page, approving at once: the form its script would post to the app.
async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(redirect_uri), Some(state), Some(user), Some(nonce), Some("form_post")) = (
        q.get("redirect_uri"),
        q.get("state"),
        q.get("login_hint"),
        q.get("nonce"),
        q.get("response_mode").map(String::as_str),
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let name = json!({"name": {"firstName": "User", "lastName": user}}).to_string();
    let field = |name: &str, value: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            value.replace('&', "&amp;").replace('"', "&quot;")
        )
    };
    Html(format!(
        r#"<form method="post" action="{redirect_uri}">{}{}{}</form>"#,
        field("code", &format!("code-{user}~{nonce}")),
        field("state", state),
        field("user", &name),
    ))
    .into_response()
}

async fn token(State(s): State<Issuer>, body: String) -> Response {
    let signed_secret = url::form_urlencoded::parse(body.as_bytes())
        .any(|(name, value)| name == "client_secret" && value.split('.').count() == 3);
    let Some((user, nonce)) = person_and_nonce(&body).filter(|_| signed_secret) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let standard = StandardClaims::new(SubjectIdentifier::new(user.clone()))
        .set_email(Some(EndUserEmail::new(format!(
            "{user}@privaterelay.appleid.com"
        ))))
        .set_email_verified(Some(true));
    token_answer(&s, CLIENT_ID, &user, &nonce, standard)
}
