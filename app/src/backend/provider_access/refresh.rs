//! An OAuth 2 access token refreshed once, however many callers find it expired at once,
//! on however many instances: each reads the kept row's `version`; one moves it while
//! claiming the refresh (compare-and-swap), the others wait for the row to change and use
//! what the winner stored. A claim expires, so a claimer that died is taken over.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::AccessError;
use crate::backend::config::{ProtocolSettings, ProviderConfig};
use crate::backend::db::provider_tokens::{self, Kept, RefreshEnd};
use crate::backend::db::users::ProviderTokens;
use crate::backend::oauth::oauth2_flow::{self, RefreshFailure};
use crate::backend::oauth::oidc_flow;
use crate::backend::secret::Secret;
use crate::backend::state::AppState;

/// A token that expires within this is refreshed before use: a call made with it should
/// not fail halfway for want of a few seconds.
const REFRESH_MARGIN_SECS: i64 = 60;
/// How often a caller waiting for another's refresh looks at the row again.
const WAIT_STEP: Duration = Duration::from_millis(50);

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn needs_refresh(tokens: &ProviderTokens, now: i64) -> bool {
    tokens
        .expires_at
        .is_some_and(|expires_at| expires_at - now <= REFRESH_MARGIN_SECS)
}

/// The identity's kept tokens, with an access token that is not about to expire.
pub(super) async fn usable_tokens(
    state: &AppState,
    provider: &ProviderConfig,
    identity_id: i32,
) -> Result<Kept, AccessError> {
    // A claim lasts as long as a refresh can: the provider's time-out, and some.
    let claim_secs = state.config.http_timeout.as_secs() as i64 + 5;
    let give_up_at = Instant::now() + Duration::from_secs(claim_secs as u64 + 5);
    let mut waited_for_another = false;
    loop {
        let kept = provider_tokens::read(&state.db.read, &state.token_keys, identity_id)
            .await?
            .ok_or(AccessError::NotKept)?;
        if kept.needs_reconnection {
            return Err(AccessError::NeedsReconnection);
        }
        let now = now();
        if !needs_refresh(&kept.tokens, now) {
            if kept.stale_key {
                // Moved to the current key as they are used (a refresh does it too).
                let resealed = provider_tokens::reseal_if_unchanged(
                    &state.db.write,
                    &state.token_keys,
                    identity_id,
                    kept.version,
                    &kept.tokens,
                )
                .await?;
                if !resealed {
                    continue; // Changed meanwhile: read what is there now.
                }
                return Ok(Kept {
                    version: kept.version + 1,
                    stale_key: false,
                    ..kept
                });
            }
            return Ok(kept);
        }
        let Some(refresh_token) = kept.tokens.refresh_token.clone() else {
            // Nothing renews it: usable until it expires, then only the person can.
            if kept.tokens.expires_at.is_some_and(|at| at <= now) {
                provider_tokens::mark_refused(&state.db.write, identity_id, kept.version).await?;
                return Err(AccessError::NeedsReconnection);
            }
            return Ok(kept);
        };
        if kept.refreshing_until.is_some_and(|until| until > now) {
            // Another caller is refreshing: wait for its tokens.
            if Instant::now() >= give_up_at {
                return Err(AccessError::ProviderFailed);
            }
            waited_for_another = true;
            tokio::time::sleep(WAIT_STEP).await;
            continue;
        }
        if waited_for_another {
            // The refresh waited for ended without new tokens: the provider is failing,
            // and one failed attempt is enough for now.
            return Err(AccessError::ProviderFailed);
        }
        let claimed_at = kept.version;
        if !provider_tokens::claim_refresh(
            &state.db.write,
            identity_id,
            claimed_at,
            now + claim_secs,
        )
        .await?
        {
            continue; // Someone else moved it first: read what they did.
        }
        let claimed = claimed_at + 1;
        // What the provider did not send again stays, sealed anew with the rest.
        let outcome = ask_provider(state, provider, &refresh_token)
            .await
            .map(|fresh| ProviderTokens {
                refresh_token: fresh.refresh_token.or(kept.tokens.refresh_token),
                scopes: fresh.scopes.or(kept.tokens.scopes),
                ..fresh
            });
        let end = match &outcome {
            Ok(fresh) => RefreshEnd::Refreshed(fresh),
            Err(RefreshFailure::Refused) => RefreshEnd::Refused,
            Err(RefreshFailure::Failed) => RefreshEnd::GaveUp,
        };
        let ended = provider_tokens::end_refresh(
            &state.db.write,
            &state.token_keys,
            identity_id,
            claimed,
            end,
        )
        .await?;
        return match outcome {
            // A sign-in kept newer tokens meanwhile: use those.
            Ok(_) if !ended => continue,
            Ok(fresh) => {
                tracing::info!(provider = provider.name, identity_id, "tokens refreshed");
                Ok(Kept {
                    identity_id,
                    tokens: fresh,
                    version: claimed + 1,
                    refreshing_until: None,
                    needs_reconnection: false,
                    stale_key: false,
                })
            }
            Err(RefreshFailure::Refused) => Err(AccessError::NeedsReconnection),
            Err(RefreshFailure::Failed) => Err(AccessError::ProviderFailed),
        };
    }
}

/// The refresh-token grant at the provider's token endpoint.
async fn ask_provider(
    state: &AppState,
    provider: &ProviderConfig,
    refresh_token: &Secret,
) -> Result<ProviderTokens, RefreshFailure> {
    let http = &state.http;
    match &provider.protocol {
        ProtocolSettings::OAuth2(oauth2) => {
            oauth2_flow::refresh(http, provider, &oauth2.token_endpoints(), refresh_token).await
        }
        ProtocolSettings::OpenIdConnect(oidc) => {
            let metadata = oidc_flow::metadata(http, provider, oidc)
                .await
                .map_err(|_| RefreshFailure::Failed)?;
            let endpoints = oidc_flow::token_endpoints(provider, &metadata)
                .map_err(|_| RefreshFailure::Failed)?;
            oauth2_flow::refresh(http, provider, &endpoints, refresh_token).await
        }
        // OAuth 1.0a tokens do not expire: nothing to refresh.
        ProtocolSettings::OAuth1(_) => Err(RefreshFailure::Failed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshed_only_within_the_margin_of_a_known_expiry() {
        let expiring = |expires_at| ProviderTokens {
            expires_at,
            ..ProviderTokens::NONE
        };
        assert!(!needs_refresh(&expiring(None), 1_000));
        assert!(!needs_refresh(&expiring(Some(1_061)), 1_000));
        assert!(needs_refresh(&expiring(Some(1_060)), 1_000));
        assert!(needs_refresh(&expiring(Some(900)), 1_000));
    }
}
