//! Server-only code: configuration, persistence, sessions and the provider flows.
//! Compiled only with the `ssr` feature; the browser bundle never sees it.

pub mod accounts;
pub mod api_tokens;
pub mod auth_session;
pub mod auth_user;
pub mod bundle;
pub mod client_ip;
pub mod config;
pub mod context;
pub mod csp;
pub mod db;
pub mod doctor;
pub mod metrics;
pub mod oauth;
pub mod pending_sign_in;
pub mod provider_access;
pub mod provider_tokens;
pub mod query_guard;
pub mod return_to;
pub mod same_origin;
pub mod sealed_cookie;
pub mod secret;
pub mod session_store;
pub mod sign_in;
pub mod sign_in_claims;
pub mod state;
