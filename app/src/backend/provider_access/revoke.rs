//! Revoking kept tokens at the provider when the person unlinks it or deletes their
//! account: best effort and logged (the tokens are deleted here in any case), after the
//! change is saved, so that no provider's slowness holds the person's page.

use super::AccessError;
use crate::backend::config::{OidcSettings, ProtocolSettings, ProviderConfig};
use crate::backend::db::provider_tokens;
use crate::backend::db::users::ProviderTokens;
use crate::backend::oauth::{oauth2_flow, oidc_flow};
use crate::backend::secret::Secret;
use crate::backend::state::AppState;

/// Tokens to revoke, read before their identity is deleted.
pub struct Doomed {
    provider: String,
    identity_id: i32,
    tokens: ProviderTokens,
}

/// The kept tokens of these identities of `provider` names, opened.
pub async fn read(
    state: &AppState,
    identities: impl IntoIterator<Item = (i32, String)>,
) -> Result<Vec<Doomed>, AccessError> {
    let mut doomed = Vec::new();
    for (identity_id, provider) in identities {
        if let Some(kept) =
            provider_tokens::read(&state.db.read, &state.token_keys, identity_id).await?
        {
            doomed.push(Doomed {
                provider,
                identity_id,
                tokens: kept.tokens,
            });
        }
    }
    Ok(doomed)
}

/// Revokes each at its provider, in the background.
pub fn in_background(state: &AppState, doomed: Vec<Doomed>) {
    if doomed.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for one in doomed {
            revoke(&state, one).await;
        }
    });
}

/// Where the provider offers revocation: an OpenID Connect issuer's `revocation_endpoint`
/// (RFC 7009), GitHub's grant deletion. Others offer none we call: their tokens are only
/// deleted here.
async fn revoke(state: &AppState, doomed: Doomed) {
    let Some(provider) = state.config.provider(&doomed.provider) else {
        return;
    };
    match &provider.protocol {
        ProtocolSettings::OpenIdConnect(oidc) => {
            revoke_at_issuer(state, provider, oidc, doomed).await
        }
        ProtocolSettings::OAuth2(oauth2) => {
            if let (Some(grant_url), Some(token)) = (&oauth2.grant_url, &doomed.tokens.access_token)
            {
                let outcome = delete_grant(state, provider, grant_url, token).await;
                log_outcome(provider, &doomed, "grant", outcome);
            }
        }
        ProtocolSettings::OAuth1(_) => {}
    }
}

/// GitHub's `DELETE /applications/{client_id}/grant`: the app's credentials (HTTP Basic)
/// and the access token in a JSON body; the person's authorisation of the app ends, every
/// token of it with it. 204 when done.
async fn delete_grant(
    state: &AppState,
    provider: &ProviderConfig,
    grant_url: &url::Url,
    access_token: &Secret,
) -> Result<(), String> {
    let request = state
        .http
        .delete(grant_url.clone())
        .basic_auth(
            &provider.client_id,
            Some(provider.client_secret.current().expose()),
        )
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .json(&serde_json::json!({ "access_token": access_token.expose() }));
    oauth2_flow::send_expecting_success(request).await
}

fn log_outcome(
    provider: &ProviderConfig,
    doomed: &Doomed,
    token: &str,
    outcome: Result<(), String>,
) {
    let name = provider.name.as_str();
    match outcome {
        Ok(()) => tracing::info!(
            provider = name,
            identity_id = doomed.identity_id,
            token,
            "kept token revoked at the provider"
        ),
        Err(err) => tracing::warn!(
            provider = name,
            identity_id = doomed.identity_id,
            token,
            error = %err,
            "kept token not revoked at the provider"
        ),
    }
}

/// At the issuer's `revocation_endpoint`: the refresh token first (which ends the grant at
/// most issuers), then the access token.
async fn revoke_at_issuer(
    state: &AppState,
    provider: &ProviderConfig,
    oidc: &OidcSettings,
    doomed: Doomed,
) {
    let name = provider.name.as_str();
    let Ok(metadata) = oidc_flow::metadata(&state.http, provider, oidc).await else {
        tracing::warn!(
            provider = name,
            "tokens not revoked: the issuer is unreachable"
        );
        return;
    };
    let Some(revocation_url) = metadata.additional_metadata().revocation_endpoint.clone() else {
        return;
    };
    let Ok(endpoints) = oidc_flow::token_endpoints(provider, &metadata) else {
        return;
    };
    let tokens = [
        (&doomed.tokens.refresh_token, "refresh_token"),
        (&doomed.tokens.access_token, "access_token"),
    ];
    for (token, hint) in tokens {
        let Some(token) = token else { continue };
        let outcome = oauth2_flow::revoke(
            &state.http,
            provider,
            &endpoints.token_auth,
            &revocation_url,
            token,
            hint,
        )
        .await;
        log_outcome(provider, &doomed, hint, outcome);
    }
}
