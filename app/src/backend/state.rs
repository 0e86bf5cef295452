//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use governor::Quota;
use leptos::config::LeptosOptions;

use super::config::Config;
use super::db::Db;
use super::oauth::{http_client, protocol};
use super::pending_sign_in::PendingCookie;
use super::provider_tokens::keys::TokenKeys;
use super::sealed_cookie::SealedCookie;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    /// Shared connection pool for provider calls; holds no per-flow data.
    pub http: http_client::ProviderClient,
    /// Seals and opens the cookie of a sign-in in progress.
    pub pending_cookie: Arc<PendingCookie>,
    /// Seals and opens the provider tokens that are kept.
    pub token_keys: Arc<TokenKeys>,
    /// Carries a new API token to the one page that shows it.
    pub new_api_token_cookie: Arc<SealedCookie>,
    /// Sign-in starts that call a provider, for the whole instance (see
    /// `sign_in::spend_provider_quota`); `None` when unlimited.
    pub provider_call_budget: Option<Arc<governor::DefaultDirectRateLimiter>>,
}

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        db: Db,
        config: Config,
        token_keys: TokenKeys,
    ) -> Self {
        let http = protocol::provider_client(&config);
        let pending_cookie = Arc::new(PendingCookie::new(&config.secret_key, config.is_https()));
        let new_api_token_cookie = Arc::new(super::api_tokens::shown_once_cookie(
            &config.secret_key,
            config.is_https(),
        ));
        let provider_call_budget = config.request_tokens_per_minute.map(|per_minute| {
            Arc::new(governor::RateLimiter::direct(Quota::per_minute(per_minute)))
        });
        Self {
            pending_cookie,
            new_api_token_cookie,
            token_keys: Arc::new(token_keys),
            provider_call_budget,
            leptos_options,
            db,
            config: Arc::new(config),
            http,
        }
    }

    /// The pages' CSP `form-action` sources (see `csp::form_action_sources`).
    pub fn form_action(&self) -> String {
        super::csp::form_action_sources(&self.config)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
