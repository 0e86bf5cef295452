//! Talking to identity providers.

pub mod address_policy;
pub mod apple;
pub mod discovery;
pub mod http_client;
pub mod id_token;
pub mod oauth1_flow;
pub mod oauth1_signature;
pub mod oauth2_flow;
pub mod oidc_flow;
pub mod profile;
pub mod protocol;
pub mod providers;
pub mod tenants;
