//! The built-in demo identity provider: a small OAuth 2 authorization server under
//! `/demo-provider/`, so a fresh clone can sign in with nothing registered anywhere. The app
//! reaches it over real HTTP through its normal provider code; nothing is short-circuited.
//!
//! Endpoints: `GET/POST authorize` (consent page), `POST token`, `GET userinfo` (OpenID
//! Connect shape) and `GET graph/me` (Facebook Graph shape, so tests can point
//! `OAUTH_FACEBOOK_*` here). Turn it off in production with `DEMO_PROVIDER=off`.

mod consent_page;
mod grants;
mod oauth2_endpoints;

use std::{collections::HashMap, sync::Arc};

use app::backend::{config::DemoProviderConfig, secret::Secret};
use axum::{
    routing::{get, post},
    Router,
};
use url::Url;

pub use grants::DemoIdentity;

pub struct DemoProvider {
    clients: HashMap<String, Secret>,
    /// Redirect URIs must start with this: `{PUBLIC_URL}/callback/`.
    redirect_prefix: String,
    grants: grants::Grants,
}

pub fn router<S>(config: &DemoProviderConfig, public_url: &Url) -> Router<S> {
    let provider = Arc::new(DemoProvider {
        clients: config.clients.iter().cloned().collect(),
        redirect_prefix: public_url
            .join("/callback/")
            .expect("static path joins")
            .to_string(),
        grants: grants::Grants::default(),
    });
    Router::new()
        .route(
            "/authorize",
            get(oauth2_endpoints::authorize_page).post(oauth2_endpoints::authorize_decision),
        )
        .route("/token", post(oauth2_endpoints::token))
        .route("/userinfo", get(oauth2_endpoints::userinfo))
        .route("/graph/me", get(oauth2_endpoints::graph_me))
        .with_state(provider)
}
