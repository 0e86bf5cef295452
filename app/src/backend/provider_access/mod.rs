//! Calls to a provider on a signed-in person's behalf, with the tokens their sign-in kept
//! (`OAUTH_<NAME>_KEEP_TOKENS`): [`ProviderAccess`] gives an authorised request for (user,
//! provider), its OAuth 2 access token refreshed first when it has expired or is about to,
//! by one caller at a time across instances (`refresh`). Kept tokens are revoked at the
//! provider when the person unlinks it or deletes their account (`revoke`).
//!
//! ```ignore
//! let github = ProviderAccess::for_user(&state, user_id, "github").await?;
//! let url = Url::parse("https://api.github.com/user/repos")?;
//! let repos = github.send(github.request(Method::GET, url)).await?;
//! ```

mod refresh;
pub mod revoke;

use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use url::Url;

use super::config::{OAuth1Settings, OAuth2Settings, ProtocolSettings, ProviderConfig};
use super::db::entities::identities;
use super::db::{self, provider_tokens};
use super::oauth::profile::Profile;
use super::oauth::{oauth1_flow, oauth2_flow, oidc_flow};
use super::secret::Secret;
use super::state::AppState;

/// Why no authorised request could be made, or its answer used.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The person has no identity with this provider, or nothing is kept for it.
    #[error("no tokens are kept for this provider")]
    NotKept,
    /// The provider refused the kept tokens (revoked, or expired for good): only the
    /// person signing in there again helps ("Reconnect").
    #[error("the provider no longer accepts the kept tokens")]
    NeedsReconnection,
    /// The provider could not be reached or failed; worth trying again later.
    #[error("the provider could not be reached")]
    ProviderFailed,
    #[error("the database failed: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// How a request is authorised.
enum Credentials {
    Bearer(Secret),
    OAuth1 { token: Secret, secret: Secret },
}

/// A person's usable access to one provider: their identity there and its tokens, fresh.
pub struct ProviderAccess<'a> {
    state: &'a AppState,
    pub provider: &'a ProviderConfig,
    pub identity: identities::Model,
    credentials: Credentials,
    /// The kept row's version these tokens were read at (see `refresh`).
    version: i64,
}

impl<'a> ProviderAccess<'a> {
    /// The access of `user_id`'s identity with the configured provider `provider`.
    pub async fn for_user(
        state: &'a AppState,
        user_id: i32,
        provider: &str,
    ) -> Result<Self, AccessError> {
        let identity = db::identities::of_user_with_provider(&state.db.read, user_id, provider)
            .await?
            .ok_or(AccessError::NotKept)?;
        Self::for_identity(state, identity).await
    }

    /// The access of one of `user_id`'s identities, by its id.
    pub async fn for_users_identity(
        state: &'a AppState,
        user_id: i32,
        identity_id: i32,
    ) -> Result<Self, AccessError> {
        let identity = db::identities::of_user(&state.db.read, user_id, identity_id)
            .await?
            .ok_or(AccessError::NotKept)?;
        Self::for_identity(state, identity).await
    }

    async fn for_identity(
        state: &'a AppState,
        identity: identities::Model,
    ) -> Result<Self, AccessError> {
        let provider = state
            .config
            .provider(&identity.provider)
            .filter(|provider| provider.keeps_tokens())
            .ok_or(AccessError::NotKept)?;
        let kept = refresh::usable_tokens(state, provider, identity.id).await?;
        let tokens = kept.tokens;
        let credentials = match (tokens.access_token, tokens.token_secret) {
            (Some(token), Some(secret)) => Credentials::OAuth1 { token, secret },
            (Some(token), None) => Credentials::Bearer(token),
            (None, _) => return Err(AccessError::NotKept),
        };
        Ok(Self {
            state,
            provider,
            identity,
            credentials,
            version: kept.version,
        })
    }

    /// A request carrying the person's authorisation: a bearer token, or for OAuth 1.0a a
    /// signature over the method, the URL and its query (not a body). It goes through the
    /// providers' client: no redirects followed, private addresses refused but the
    /// operator's own.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let authorization = match &self.credentials {
            Credentials::Bearer(token) => format!("Bearer {}", token.expose()),
            Credentials::OAuth1 { token, secret } => {
                oauth1_flow::signed_authorization(self.provider, &method, &url, token, secret)
            }
        };
        self.state
            .http
            .request(method, url)
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, "application/json")
    }

    /// Sends `request` (from [`Self::request`]). A 401 answer means the provider no longer
    /// takes the token: the identity is marked as needing reconnection.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, AccessError> {
        let response = request.send().await.map_err(|err| {
            tracing::warn!(
                provider = self.provider.name,
                error = %super::oauth::http_client::with_causes(&err),
                "call on the person's behalf failed"
            );
            AccessError::ProviderFailed
        })?;
        if response.status() == StatusCode::UNAUTHORIZED {
            tracing::info!(
                provider = self.provider.name,
                identity_id = self.identity.id,
                "the provider refused a kept token"
            );
            provider_tokens::mark_refused(&self.state.db.write, self.identity.id, self.version)
                .await?;
            return Err(AccessError::NeedsReconnection);
        }
        Ok(response)
    }

    /// The person's profile there now, read with the kept token from the endpoint a
    /// sign-in reads it from; only if it is still about this identity.
    pub async fn read_profile(&self) -> Result<Profile, AccessError> {
        let name = self.provider.name.as_str();
        let failed = |err: &dyn std::fmt::Display| {
            tracing::warn!(provider = name, error = %err, "profile unreadable");
            AccessError::ProviderFailed
        };
        let profile = match &self.provider.protocol {
            ProtocolSettings::OAuth2(OAuth2Settings { endpoints, .. })
            | ProtocolSettings::OAuth1(OAuth1Settings { endpoints, .. }) => {
                let url = oauth2_flow::userinfo_url(endpoints);
                let response = self.send(self.request(Method::GET, url)).await?;
                oauth2_flow::read_profile(name, &endpoints.map_profile, response)
                    .await
                    .map_err(|err| failed(&err))?
            }
            ProtocolSettings::OpenIdConnect(oidc) => {
                let metadata = oidc_flow::metadata(&self.state.http, self.provider, oidc)
                    .await
                    .map_err(|_| AccessError::ProviderFailed)?;
                let url = metadata
                    .userinfo_endpoint()
                    .ok_or_else(|| failed(&"the issuer publishes no userinfo endpoint"))?
                    .url()
                    .clone();
                let response = self.send(self.request(Method::GET, url)).await?;
                let claims = oauth2_flow::read_userinfo_json(name, response)
                    .await
                    .map_err(|err| failed(&err))?;
                oidc_flow::profile_from_userinfo(oidc, &self.identity.provider_user_id, claims)
                    .map_err(|err| failed(&err))?
            }
        };
        if profile.provider_user_id != self.identity.provider_user_id {
            return Err(failed(&"the profile is about someone else"));
        }
        Ok(profile)
    }
}
