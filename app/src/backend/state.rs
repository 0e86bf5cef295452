//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::config::Config;
use super::db::Db;
use super::oauth::http_client;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    /// Shared connection pool for provider calls; holds no per-flow data.
    pub http: reqwest::Client,
    /// The pages' CSP `form-action` sources, worked out once from the configuration.
    pub form_action: Arc<str>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db, config: Config) -> Self {
        let http = http_client::build(config.http_timeout);
        let form_action = super::csp::form_action_sources(&config).into();
        Self {
            leptos_options,
            db,
            config: Arc::new(config),
            http,
            form_action,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
