//! The OAuth 2 authorization-code flow with PKCE, in its protocol steps: build the
//! authorization URL, exchange the code at the token endpoint, read the user's profile.
//! Per-flow values (state, verifier, tokens) live in the caller's session and locals only,
//! never in shared objects (security.md §4).

use oauth2::{
    basic::{BasicClient, BasicErrorResponseType},
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use url::Url;

use super::http_client::{self, ReadError};
use super::profile::Profile;
use crate::backend::config::{OAuth2Settings, ProviderConfig};
use crate::backend::secret::Secret;
use crate::error::AppError;

const TOKEN_ENDPOINT_FAILED: &str =
    "The provider's token endpoint failed or sent an answer we could not read.";

/// Largest user-info body we read.
const MAX_USERINFO_BYTES: usize = 256 * 1024;
/// Largest token-endpoint body we read; real ones are a few hundred bytes (an OpenID
/// Connect one with an ID token a few kilobytes).
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Where to send the browser, and what to remember to check the way back.
pub struct AuthorizeRequest {
    pub url: Url,
    pub csrf_state: String,
    pub pkce_verifier: String,
}

fn client(
    provider: &ProviderConfig,
    oauth2: &OAuth2Settings,
    redirect_uri: &Url,
) -> oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            provider.client_secret.expose().to_owned(),
        ))
        .set_auth_uri(AuthUrl::from_url(provider.authorize_url.clone()))
        .set_token_uri(TokenUrl::from_url(provider.token_url.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
        .set_auth_type(oauth2.token_auth.clone())
}

/// Step 1: the provider's authorization URL with a fresh `state` and PKCE S256 challenge.
pub fn authorize_request(
    provider: &ProviderConfig,
    oauth2: &OAuth2Settings,
    redirect_uri: &Url,
) -> AuthorizeRequest {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf_state) = client(provider, oauth2, redirect_uri)
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new(oauth2.scope.to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    AuthorizeRequest {
        url,
        csrf_state: csrf_state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    }
}

/// Step 2: trade the authorization code (and the PKCE verifier) for an access token.
pub async fn exchange_code(
    http: &reqwest::Client,
    provider: &ProviderConfig,
    oauth2: &OAuth2Settings,
    redirect_uri: &Url,
    code: &str,
    pkce_verifier: &str,
) -> Result<Secret, AppError> {
    let name = provider.spec.name;
    let token = client(provider, oauth2, redirect_uri)
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&http_client::CappedOAuth2Client {
            http,
            max: MAX_TOKEN_RESPONSE_BYTES,
        })
        .await
        .map_err(|err| match err {
            // Only `invalid_grant` says the code itself was refused (expired, used, not
            // ours): the person may try again. Any other OAuth error body (`server_error`,
            // `invalid_client`, ...) is the provider or our registration failing: a 502,
            // as for Twitter.
            RequestTokenError::ServerResponse(response)
                if *response.error() == BasicErrorResponseType::InvalidGrant =>
            {
                tracing::warn!(provider = name, "token endpoint refused the code");
                AppError::bad_request("The provider did not accept the sign-in. Please try again.")
            }
            RequestTokenError::ServerResponse(response) => {
                tracing::warn!(provider = name, error = %response.error(), "token endpoint failed");
                AppError::provider_failed(TOKEN_ENDPOINT_FAILED)
            }
            RequestTokenError::Request(err) => read_failure(name, "token", &err),
            // oauth2 reports a 5xx with a non-JSON body, a wrong content type and bad
            // JSON alike (Parse/Other), without the status; one message covers them.
            RequestTokenError::Parse(err, _body) => {
                tracing::warn!(provider = name, error = %err, "token response unreadable");
                AppError::provider_failed(TOKEN_ENDPOINT_FAILED)
            }
            other => {
                tracing::warn!(provider = name, error = %other, "token request failed");
                AppError::provider_failed(TOKEN_ENDPOINT_FAILED)
            }
        })?;
    Ok(Secret::new(token.access_token().secret().clone()))
}

/// Step 3: read the signed-in person's profile with the access token.
pub async fn fetch_profile(
    http: &reqwest::Client,
    provider: &ProviderConfig,
    access_token: &Secret,
) -> Result<Profile, AppError> {
    let response = http
        .get(userinfo_url(provider))
        .bearer_auth(access_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| transport_failure(provider.spec.name, "userinfo", &err))?;
    read_profile(provider, response).await
}

/// The userinfo URL with the provider's extra query (e.g. Facebook's `fields`).
pub fn userinfo_url(provider: &ProviderConfig) -> Url {
    let mut url = provider.userinfo_url.clone();
    if !provider.spec.userinfo_query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(provider.spec.userinfo_query);
    }
    url
}

/// Checks and maps a userinfo response, whichever protocol fetched it.
pub async fn read_profile(
    provider: &ProviderConfig,
    response: reqwest::Response,
) -> Result<Profile, AppError> {
    let name = provider.spec.name;
    let status = response.status();
    if !status.is_success() {
        tracing::warn!(provider = name, %status, "userinfo endpoint refused");
        return Err(AppError::provider_failed(
            "The provider would not share your profile.",
        ));
    }
    let body = http_client::read_capped(response, MAX_USERINFO_BYTES)
        .await
        .map_err(|err| read_failure(name, "userinfo", &err))?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|err| {
        tracing::warn!(provider = name, error = %err, "userinfo response is not JSON");
        AppError::provider_failed("The provider's profile response was not understood.")
    })?;
    (provider.spec.map_profile)(&json).map_err(|err| {
        tracing::warn!(provider = name, error = %err, "userinfo unusable");
        AppError::provider_failed(err.to_string())
    })
}

/// A body that could not be read: too large, or cut off by the transport.
pub fn read_failure(provider: &str, endpoint: &str, err: &ReadError) -> AppError {
    match err {
        ReadError::Transport(err) => transport_failure(provider, endpoint, err),
        ReadError::TooLarge(max) => {
            tracing::warn!(provider, endpoint, max, "provider answer too large");
            AppError::provider_failed("The provider's answer was too large.")
        }
    }
}

/// Timeouts become 504, every other transport problem 502. `reqwest::Error`'s display
/// includes the URL, which never carries a secret here (codes travel in bodies).
pub fn transport_failure(provider: &str, endpoint: &str, err: &reqwest::Error) -> AppError {
    if err.is_timeout() {
        tracing::warn!(provider, endpoint, "provider timed out");
        AppError::provider_timed_out("The provider did not answer in time.")
    } else {
        tracing::warn!(provider, endpoint, error = %err, "provider unreachable");
        AppError::provider_failed("Could not reach the provider.")
    }
}
