//! The built-in demo identity provider: a small OAuth 2 authorization server under
//! `/demo-provider/`, so a fresh clone can sign in with nothing registered anywhere. The app
//! reaches it over real HTTP through its normal provider code; nothing is short-circuited.
//!
//! OpenID Connect (and plain OAuth 2 for clients that do not ask for `openid`): issuer
//! `{PUBLIC_URL}/demo-provider`, `GET .well-known/openid-configuration`, `GET jwks`,
//! `GET/POST authorize` (consent page), `POST token` (with an EdDSA-signed ID token),
//! `GET userinfo`. On by default only for a loopback `PUBLIC_URL` (config.rs).
//!
//! Test builds (feature `stand-in-providers`, which the server's own tests and
//! `.dev/test-all` turn on) add shapes that let tests stand in for real providers:
//! `GET graph/me` (Facebook Graph) and, Twitter-shaped OAuth 1.0a under `oauth1/`,
//! `request_token`, `authenticate`/`authorize`, `access_token`, `verify_credentials.json`.
//! What production serves has none of them.

mod bounded_store;
mod consent_page;
mod grants;
#[cfg(feature = "stand-in-providers")]
mod graph_endpoint;
#[cfg(feature = "stand-in-providers")]
mod oauth1_endpoints;
#[cfg(feature = "stand-in-providers")]
mod oauth1_grants;
mod oauth2_endpoints;
mod openid;

use std::{collections::HashMap, sync::Arc};

use app::backend::{
    config::{Config, DemoProviderConfig},
    secret::Secret,
};
use axum::{
    extract::DefaultBodyLimit,
    routing::{get, post},
    Router,
};
#[cfg(feature = "stand-in-providers")]
use url::Url;

pub use grants::DemoIdentity;

use crate::rate_limit;

const MAX_BODY_BYTES: usize = 16 * 1024;
/// Redirect URIs are `{PUBLIC_URL}/callback/{provider}`; anything longer is not one (and
/// the provider keeps it with each grant).
const MAX_REDIRECT_URI_BYTES: usize = 512;

pub struct DemoProvider {
    clients: HashMap<String, Secret>,
    /// Redirect URIs must start with this: `{PUBLIC_URL}/callback/`.
    redirect_prefix: String,
    /// Signed OAuth 1.0a requests are checked against URLs on this origin.
    #[cfg(feature = "stand-in-providers")]
    public_url: Url,
    grants: grants::Grants,
    /// `{PUBLIC_URL}/demo-provider`: the `iss` of its ID tokens and answers.
    issuer: String,
    signing_key: openid::SigningKey,
    #[cfg(feature = "stand-in-providers")]
    oauth1: oauth1_grants::OAuth1Grants,
    /// Reachable by others (see `DemoProviderConfig::exposed`): the consent page warns.
    exposed: bool,
}

impl DemoProvider {
    /// Whether a client may be sent back to `uri` (OAuth 2 `redirect_uri`, OAuth 1.0a
    /// `oauth_callback`): one of this app's callbacks, of a size worth keeping.
    fn accepts_redirect_uri(&self, uri: &str) -> bool {
        uri.len() <= MAX_REDIRECT_URI_BYTES
            && uri.starts_with(&self.redirect_prefix)
            && url::Url::parse(uri).is_ok()
    }
}

/// The provider's routes. The pages a browser visits (consent, which stores a grant for
/// anyone who submits it) share the sign-in routes' rate limit numbers, in buckets of
/// their own; the back-channel endpoints authenticate the client instead, and all come
/// from the app's own address.
pub fn router<S: Clone + Send + Sync + 'static>(
    config: &DemoProviderConfig,
    app_config: &Config,
) -> Router<S> {
    let public_url = &app_config.public_url;
    let provider = Arc::new(DemoProvider {
        clients: config.clients.iter().cloned().collect(),
        redirect_prefix: public_url
            .join("/callback/")
            .expect("static path joins")
            .to_string(),
        #[cfg(feature = "stand-in-providers")]
        public_url: public_url.clone(),
        grants: grants::Grants::default(),
        issuer: app::backend::config::demo_issuer(public_url).to_string(),
        signing_key: openid::SigningKey::generate(),
        #[cfg(feature = "stand-in-providers")]
        oauth1: oauth1_grants::OAuth1Grants::default(),
        exposed: config.exposed,
    });
    if config.exposed {
        tracing::warn!(
            %public_url,
            "the demo provider is on at a public address: anyone can sign in as anyone"
        );
    }
    #[cfg_attr(not(feature = "stand-in-providers"), allow(unused_mut))]
    let mut consent_pages = Router::new().route(
        "/authorize",
        get(oauth2_endpoints::authorize_page).post(oauth2_endpoints::authorize_decision),
    );
    #[cfg(feature = "stand-in-providers")]
    {
        consent_pages = consent_pages
            .route(
                "/oauth1/authenticate",
                get(oauth1_endpoints::authenticate_page),
            )
            .route(
                "/oauth1/authorize",
                get(oauth1_endpoints::authenticate_page).post(oauth1_endpoints::authorize_decision),
            );
    }
    let consent_pages = rate_limit::per_client(consent_pages, app_config);
    #[cfg_attr(not(feature = "stand-in-providers"), allow(unused_mut))]
    let mut routes = Router::new()
        .merge(consent_pages)
        .route("/.well-known/openid-configuration", get(openid::discovery))
        .route("/jwks", get(openid::jwks))
        .route("/token", post(oauth2_endpoints::token))
        .route("/userinfo", get(oauth2_endpoints::userinfo));
    #[cfg(feature = "stand-in-providers")]
    {
        routes = routes
            .route("/graph/me", get(graph_endpoint::graph_me))
            .route(
                "/oauth1/request_token",
                post(oauth1_endpoints::request_token),
            )
            .route("/oauth1/access_token", post(oauth1_endpoints::access_token))
            .route(
                "/oauth1/verify_credentials.json",
                get(oauth1_endpoints::verify_credentials),
            );
    }
    routes
        .with_state(provider)
        // Its forms and token requests are a few hundred bytes.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
