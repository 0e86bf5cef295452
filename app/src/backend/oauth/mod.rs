//! Talking to identity providers.

pub mod http_client;
pub mod oauth2_flow;
pub mod profile;
pub mod providers;
