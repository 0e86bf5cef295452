//! Provider tokens kept for calls on the person's behalf, sealed at rest (`cipher`) with
//! keys from the configuration or, on a loopback set-up, a key file (`keys`). Stored in
//! their own table, one row per identity (`db::provider_tokens`).

pub mod cipher;
pub mod keys;

use super::config::{Config, TokenEncryption};
use keys::{TokenKey, TokenKeys};

/// The keys this server seals and opens tokens with; on a loopback set-up without
/// `TOKEN_ENCRYPTION_KEY`, the key file beside the database, made on first use.
pub fn keys_for(config: &Config) -> Result<TokenKeys, String> {
    match &config.token_encryption {
        TokenEncryption::Given(keys) => Ok(keys.clone()),
        TokenEncryption::MadeUpOnLoopback => {
            match keys::key_file_beside(config.database_url.expose()) {
                Some(file) => Ok(TokenKeys::new(keys::load_or_create(&file)?, None)),
                None => {
                    tracing::warn!(
                        "provider tokens are sealed with a key made for this run only: set \
                         TOKEN_ENCRYPTION_KEY to read them after a restart"
                    );
                    Ok(TokenKeys::new(TokenKey::generate(), None))
                }
            }
        }
        // Nothing is kept, so nothing is sealed: any key will do.
        TokenEncryption::Unneeded => Ok(TokenKeys::new(TokenKey::generate(), None)),
    }
}
