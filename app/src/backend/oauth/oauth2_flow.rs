//! The OAuth 2 authorization-code flow with PKCE, in its protocol steps: build the
//! authorization URL, exchange the code at the token endpoint, read the user's profile.
//! Per-flow values (state, verifier, tokens) live in the caller's session and locals only,
//! never in shared objects (security.md §4).

use oauth2::basic::{BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::address_policy::Refused;
use super::http_client::{self, with_causes, ProviderClient, ReadError};
use super::profile::{Profile, ProfileReader};
use super::protocol::ClientCheck;
use crate::backend::config::{Endpoints, OAuth2Settings, ProviderConfig};
use crate::backend::db::users::ProviderTokens;
use crate::backend::secret::Secret;
use crate::error::AppError;
use crate::models::CallbackParams;

const TOKEN_ENDPOINT_FAILED: &str =
    "The provider's token endpoint failed or sent an answer we could not read.";
/// The provider says this site's registration with it does not match its settings.
const MISCONFIGURED: &str =
    "This site's sign-in with the provider is not set up correctly. Please tell the site's operator.";

/// Largest user-info body we read.
const MAX_USERINFO_BYTES: usize = 256 * 1024;
/// Largest token-endpoint body we read; real ones are a few hundred bytes (an OpenID
/// Connect one with an ID token a few kilobytes).
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// What an OAuth 2 sign-in keeps in the browser's session between the redirect to the
/// provider and the callback.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    /// Also the value that ties the callback to this browser.
    pub csrf_state: String,
    pub pkce_verifier: String,
}

/// Where and how an OAuth 2 client meets its provider: a preset's fixed endpoints, or
/// those an OpenID Connect issuer published.
pub struct TokenEndpoints<'a> {
    pub authorize_url: &'a Url,
    pub token_url: &'a Url,
    /// How the client authenticates at the token endpoint.
    pub token_auth: AuthType,
}

impl OAuth2Settings {
    pub fn token_endpoints(&self) -> TokenEndpoints<'_> {
        TokenEndpoints {
            authorize_url: &self.endpoints.authorize_url,
            token_url: &self.endpoints.token_url,
            token_auth: self.token_auth.clone(),
        }
    }
}

/// Starts a sign-in: where to send the browser, and what to keep for the way back.
pub fn start(
    provider: &ProviderConfig,
    oauth2: &OAuth2Settings,
    redirect_uri: &Url,
) -> (Pending, Url) {
    // One string as configured (Facebook wants commas); none at all when empty.
    let scopes = (!oauth2.scope.is_empty()).then(|| Scope::new(oauth2.scope.clone()));
    authorization_request(
        provider,
        &oauth2.token_endpoints(),
        redirect_uri,
        scopes,
        &[],
    )
}

/// The authorization request with a fresh `state` and PKCE S256 challenge, `scopes` and
/// `extra` parameters (an OpenID Connect `nonce`).
pub fn authorization_request(
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
    redirect_uri: &Url,
    scopes: impl IntoIterator<Item = Scope>,
    extra: &[(&str, &str)],
) -> (Pending, Url) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client: TokenClient<BasicTokenResponse> = client(provider, endpoints, redirect_uri);
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes)
        .set_pkce_challenge(challenge);
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, csrf_state) = request.url();
    let pending = Pending {
        csrf_state: csrf_state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    };
    (pending, url)
}

/// Finishes a sign-in whose answer has been matched to `pending` (its `state`): the
/// provider's own verdict, the code exchange, the profile.
pub async fn finish(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oauth2: &OAuth2Settings,
    redirect_uri: &Url,
    pending: &Pending,
    params: &CallbackParams,
) -> Result<(Profile, ProviderTokens), AppError> {
    let code = authorization_code(provider, redirect_uri, params)?;
    let token: BasicTokenResponse = exchange_code(
        http,
        provider,
        &oauth2.token_endpoints(),
        redirect_uri,
        code,
        &pending.pkce_verifier,
    )
    .await?;
    let access_token = Secret::new(token.access_token().secret().clone());
    let mut profile = fetch_profile(http, &provider.name, &oauth2.endpoints, &access_token).await?;
    // GitHub's public address is unverified; its verified primary one, when it has one,
    // is the address worth keeping (and the only kind that ever matches another sign-in).
    if let Some(emails_url) = &oauth2.emails_url {
        if let Some(verified) =
            verified_primary_email(http, provider, emails_url, &access_token).await
        {
            profile.email = Some(verified);
            profile.email_status = super::profile::EmailStatus::Verified;
        }
    }
    Ok((profile, kept_tokens(provider, &token)))
}

/// What a sign-in keeps of the token answer: everything a later call needs when the
/// provider keeps tokens; otherwise nothing (the token was used once, to read the profile).
pub fn kept_tokens<T: TokenResponse>(provider: &ProviderConfig, token: &T) -> ProviderTokens {
    if !provider.keeps_tokens() {
        return ProviderTokens::NONE;
    }
    tokens_of(token)
}

/// The tokens in a token endpoint's answer (a code's or a refresh's).
pub fn tokens_of<T: TokenResponse>(token: &T) -> ProviderTokens {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ProviderTokens {
        access_token: Some(Secret::new(token.access_token().secret().clone())),
        token_secret: None,
        refresh_token: token
            .refresh_token()
            .map(|refresh| Secret::new(refresh.secret().clone())),
        expires_at: token.expires_in().map(|lifetime| {
            now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
        }),
        scopes: token.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|scope| scope.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    }
}

/// The person's verified primary address from a GitHub-style emails endpoint. Without one,
/// or if the endpoint fails, the sign-in goes on without an email: it is not what
/// identifies the person, and a readable sign-in beats a refused one.
async fn verified_primary_email(
    http: &ProviderClient,
    provider: &ProviderConfig,
    emails_url: &Url,
    access_token: &Secret,
) -> Option<String> {
    let name = provider.name.as_str();
    let json = optional_json(http, name, "emails", emails_url.clone(), access_token)
        .await
        .inspect_err(
            |err| tracing::warn!(provider = name, error = %err, "emails endpoint unreachable"),
        )
        .ok()??;
    super::profile::verified_primary_email(&json)
}

/// An answer worth having but not needed to sign in (GitHub's addresses, an issuer's
/// userinfo), read with the access token: its JSON, or `None` (logged) when the endpoint
/// refuses or answers something unreadable. A transport failure is the caller's to weigh.
pub async fn optional_json(
    http: &ProviderClient,
    provider: &str,
    endpoint: &'static str,
    url: Url,
    access_token: &Secret,
) -> Result<Option<serde_json::Value>, reqwest::Error> {
    let response = send_with_token(http, url, access_token).await?;
    if !response.status().is_success() {
        tracing::warn!(provider, endpoint, status = %response.status(), "endpoint refused");
        return Ok(None);
    }
    let Ok(body) = http_client::read_capped(response, MAX_USERINFO_BYTES).await else {
        tracing::warn!(provider, endpoint, "answer unreadable");
        return Ok(None);
    };
    Ok(serde_json::from_slice(&body)
        .inspect_err(|_| tracing::warn!(provider, endpoint, "answer is not JSON"))
        .ok())
}

/// The code in the provider's answer, or the error the answer reports instead.
pub fn authorization_code<'a>(
    provider: &ProviderConfig,
    redirect_uri: &Url,
    params: &'a CallbackParams,
) -> Result<&'a str, AppError> {
    if let Some(error) = params.error.as_deref() {
        if error == "redirect_uri_mismatch" {
            // GitHub sends the browser back with this when the app's registered callback
            // differs from ours.
            log_unregistered_callback(&provider.name, redirect_uri);
            return Err(AppError::provider_failed(MISCONFIGURED));
        }
        return Err(provider_error(error));
    }
    params
        .code
        .as_deref()
        .filter(|code| !code.is_empty())
        .ok_or_else(|| AppError::bad_request("The provider sent no authorization code."))
}

/// `error=access_denied` is the person saying no (`user_cancelled_authorize` at Apple);
/// anything else is the provider failing.
fn provider_error(error: &str) -> AppError {
    if matches!(error, "access_denied" | "user_cancelled_authorize") {
        return AppError::Cancelled;
    }
    let code: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    AppError::provider_failed(format!("The provider reported an error ({code})."))
}

/// An OAuth 2 client whose token answers read as `T` (an OpenID Connect one carries an
/// ID token).
type TokenClient<T> = oauth2::Client<
    BasicErrorResponse,
    T,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn client<T: TokenResponse>(
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
    redirect_uri: &Url,
) -> TokenClient<T> {
    client_without_callback(provider, endpoints)
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
}

/// The client as a refresh or a revocation needs it: no callback involved.
fn client_without_callback<T: TokenResponse>(
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
) -> TokenClient<T> {
    oauth2::Client::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            provider.client_secret.current().expose().to_owned(),
        ))
        .set_auth_uri(AuthUrl::from_url(endpoints.authorize_url.clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token_url.clone()))
        .set_auth_type(endpoints.token_auth.clone())
}

/// Why a refresh gave no new access token.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshFailure {
    /// The provider refused the refresh token (`invalid_grant`: revoked, expired, or the
    /// person took the access back): only signing in there again helps.
    Refused,
    /// No answer, or one that says the provider failed: worth trying again later.
    Failed,
}

/// Trades the refresh token for new tokens at the token endpoint (RFC 6749 §6).
pub async fn refresh(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
    refresh_token: &Secret,
) -> Result<ProviderTokens, RefreshFailure> {
    let name = provider.name.as_str();
    let refresh_token = RefreshToken::new(refresh_token.expose().to_owned());
    let answer: Result<BasicTokenResponse, _> = client_without_callback(provider, endpoints)
        .exchange_refresh_token(&refresh_token)
        .request_async(&http_client::CappedOAuth2Client {
            http,
            max: MAX_TOKEN_RESPONSE_BYTES,
            provider_named_urls: false,
        })
        .await;
    match answer {
        Ok(token) => Ok(tokens_of(&token)),
        Err(err) => match oauth_error_code(&err).as_deref() {
            Some(code @ ("invalid_grant" | "unauthorized_client")) => {
                tracing::info!(
                    provider = name,
                    error = code,
                    "the provider refused a refresh"
                );
                Err(RefreshFailure::Refused)
            }
            Some(code) => {
                tracing::warn!(provider = name, error = code, "refresh failed");
                Err(RefreshFailure::Failed)
            }
            None => {
                tracing::warn!(provider = name, error = %with_causes(&err), "refresh failed");
                Err(RefreshFailure::Failed)
            }
        },
    }
}

/// Asks the provider to revoke `token` (RFC 7009 §2.1) at its revocation endpoint, with
/// the client's credentials as its token endpoint takes them. Written here rather than
/// with `oauth2`'s `revoke_token`, which refuses any http:// endpoint, a local issuer's too.
pub async fn revoke(
    http: &ProviderClient,
    provider: &ProviderConfig,
    token_auth: &AuthType,
    revocation_url: &Url,
    token: &Secret,
    token_type_hint: &str,
) -> Result<(), String> {
    http.policy()
        .check_url(revocation_url)
        .map_err(|err| err.to_string())?;
    let mut form = vec![
        ("token", token.expose()),
        ("token_type_hint", token_type_hint),
    ];
    let mut request = http.post(revocation_url.clone());
    let client_secret = provider.client_secret.current();
    match token_auth {
        // RFC 6749 §2.3.1: each part form-encoded before Basic encodes the pair.
        AuthType::BasicAuth => {
            let encode = |part: &str| {
                url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>()
            };
            request = request.basic_auth(
                encode(&provider.client_id),
                Some(encode(client_secret.expose())),
            );
        }
        _ => {
            form.push(("client_id", &provider.client_id));
            form.push(("client_secret", client_secret.expose()));
        }
    }
    // §2.2: 200 whether or not the token was still valid.
    send_expecting_success(request.form(&form)).await
}

/// Sends a request whose answer says only yes or no (a revocation): why not, as one line.
pub async fn send_expecting_success(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|err| with_causes(&err))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", response.status()))
    }
}

/// Trades the authorization code (and the PKCE verifier) for the token answer.
pub async fn exchange_code<T: TokenResponse>(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
    redirect_uri: &Url,
    code: &str,
    pkce_verifier: &str,
) -> Result<T, AppError> {
    let name = provider.name.as_str();
    let verifier = PkceCodeVerifier::new(pkce_verifier.to_owned());
    request_token(http, provider, endpoints, redirect_uri, code, verifier)
        .await
        .map_err(|err| {
            if let Some(code) = oauth_error_code(&err) {
                return token_error(provider, redirect_uri, &code);
            }
            match err {
                RequestTokenError::Request(err) => read_failure(name, "token", &err),
                // A 5xx with a non-JSON body, a wrong content type and bad JSON alike
                // (oauth2 reports them without the status).
                other => {
                    tracing::warn!(provider = name, error = %other, "token response unreadable");
                    AppError::provider_failed(TOKEN_ENDPOINT_FAILED)
                }
            }
        })
}

type TokenRequestError = RequestTokenError<http_client::ReadError, BasicErrorResponse>;

/// The OAuth error code of a failed token request, wherever the provider put it: an error
/// status with an error body, or (GitHub) a 200 with one, which oauth2 then fails to read
/// as a token.
fn oauth_error_code(err: &TokenRequestError) -> Option<String> {
    match err {
        RequestTokenError::ServerResponse(response) => Some(response.error().as_ref().to_owned()),
        RequestTokenError::Parse(_, body) => serde_json::from_slice::<BasicErrorResponse>(body)
            .ok()
            .map(|response| response.error().as_ref().to_owned()),
        _ => None,
    }
}

/// Offers the token endpoint a made-up code with the client's credentials: a provider that
/// knows the client refuses only the code (`invalid_grant`).
pub async fn check_client(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
    redirect_uri: &Url,
) -> ClientCheck {
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    let made_up_code = "social-signin-doctor-made-up-code";
    let result: Result<BasicTokenResponse, _> = request_token(
        http,
        provider,
        endpoints,
        redirect_uri,
        made_up_code,
        verifier,
    )
    .await;
    let err = match result {
        // A provider that hands out tokens for any code is not one to sign people in with.
        Ok(_) => return ClientCheck::Unclear("a token for a made-up code".into()),
        Err(err) => err,
    };
    match oauth_error_code(&err) {
        Some(code) => match TokenErrorKind::of(&code) {
            TokenErrorKind::CodeRefused => ClientCheck::Accepted,
            TokenErrorKind::ClientRefused => ClientCheck::CredentialsRefused,
            TokenErrorKind::CallbackRefused => ClientCheck::CallbackRefused,
            TokenErrorKind::ProviderFailed => ClientCheck::Unclear(format!("error {code}")),
        },
        None => match err {
            RequestTokenError::Request(err) => ClientCheck::Unreachable(with_causes(&err)),
            other => ClientCheck::Unclear(other.to_string()),
        },
    }
}

/// Trades `code` (and the PKCE verifier) at the token endpoint, with the client's
/// credentials; the sign-in and the set-up check both ask this way.
async fn request_token<T: TokenResponse>(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoints: &TokenEndpoints<'_>,
    redirect_uri: &Url,
    code: &str,
    verifier: PkceCodeVerifier,
) -> Result<T, TokenRequestError> {
    client(provider, endpoints, redirect_uri)
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(verifier)
        .request_async(&http_client::CappedOAuth2Client {
            http,
            max: MAX_TOKEN_RESPONSE_BYTES,
            provider_named_urls: false,
        })
        .await
}

/// What a token endpoint's OAuth error code says, in the standard's words or GitHub's.
enum TokenErrorKind {
    /// The code itself was refused (expired, used, not ours): the client is known.
    CodeRefused,
    /// Client id or secret refused.
    ClientRefused,
    /// The redirect URI is not registered.
    CallbackRefused,
    /// `server_error` and the like: the provider failing.
    ProviderFailed,
}

impl TokenErrorKind {
    fn of(code: &str) -> Self {
        match code {
            "invalid_grant" | "bad_verification_code" => Self::CodeRefused,
            "invalid_client" | "unauthorized_client" | "incorrect_client_credentials" => {
                Self::ClientRefused
            }
            "redirect_uri_mismatch" => Self::CallbackRefused,
            _ => Self::ProviderFailed,
        }
    }
}

/// What a token endpoint's OAuth error code means for the person, and for the operator: the
/// log names the setting to fix when the error says the set-up is wrong.
fn token_error(provider: &ProviderConfig, redirect_uri: &Url, code: &str) -> AppError {
    let name = provider.name.as_str();
    match TokenErrorKind::of(code) {
        TokenErrorKind::CodeRefused => {
            tracing::warn!(
                provider = name,
                error = code,
                "token endpoint refused the code"
            );
            AppError::bad_request("The provider did not accept the sign-in. Please try again.")
        }
        TokenErrorKind::ClientRefused => {
            match provider.settings_prefix.as_deref() {
                Some(settings) => tracing::error!(
                    provider = name,
                    error = code,
                    "the provider refused our client credentials: check {settings}_CLIENT_ID \
                     and {settings}_CLIENT_SECRET"
                ),
                None => tracing::error!(provider = name, error = code, "client refused"),
            }
            AppError::provider_failed(MISCONFIGURED)
        }
        TokenErrorKind::CallbackRefused => {
            log_unregistered_callback(name, redirect_uri);
            AppError::provider_failed(MISCONFIGURED)
        }
        TokenErrorKind::ProviderFailed => {
            tracing::warn!(provider = name, error = code, "token endpoint failed");
            AppError::provider_failed(TOKEN_ENDPOINT_FAILED)
        }
    }
}

fn log_unregistered_callback(provider: &str, redirect_uri: &Url) {
    tracing::error!(
        provider,
        callback = %redirect_uri,
        "the provider does not accept our callback URL: register it with the provider \
         (or set PUBLIC_URL to the address the site is really served at)"
    );
}

/// Reads the signed-in person's profile with the access token.
async fn fetch_profile(
    http: &ProviderClient,
    provider: &str,
    endpoints: &Endpoints,
    access_token: &Secret,
) -> Result<Profile, AppError> {
    let response = bearer_get(http, provider, userinfo_url(endpoints), access_token).await?;
    read_profile(provider, &endpoints.map_profile, response).await
}

/// A GET with the access token, as a userinfo endpoint wants it.
async fn bearer_get(
    http: &ProviderClient,
    provider: &str,
    url: Url,
    access_token: &Secret,
) -> Result<reqwest::Response, AppError> {
    send_with_token(http, url, access_token)
        .await
        .map_err(|err| transport_failure(provider, "userinfo", &err))
}

async fn send_with_token(
    http: &ProviderClient,
    url: Url,
    access_token: &Secret,
) -> Result<reqwest::Response, reqwest::Error> {
    http.get(url)
        .bearer_auth(access_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
}

/// The userinfo URL with the provider's extra query (e.g. Facebook's `fields`).
pub fn userinfo_url(endpoints: &Endpoints) -> Url {
    let mut url = endpoints.userinfo_url.clone();
    if !endpoints.userinfo_query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(&endpoints.userinfo_query);
    }
    url
}

/// Checks a userinfo response, whichever protocol fetched it, and reads it with
/// `map_profile`.
pub async fn read_profile(
    name: &str,
    map_profile: &ProfileReader,
    response: reqwest::Response,
) -> Result<Profile, AppError> {
    let json = read_userinfo_json(name, response).await?;
    map_profile.read(&json).map_err(|err| {
        tracing::warn!(provider = name, error = %err, "userinfo unusable");
        AppError::provider_failed(err.to_string())
    })
}

/// A userinfo answer's JSON: a success status, a body of at most [`MAX_USERINFO_BYTES`].
pub async fn read_userinfo_json(
    name: &str,
    response: reqwest::Response,
) -> Result<serde_json::Value, AppError> {
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
    serde_json::from_slice(&body).map_err(|err| {
        tracing::warn!(provider = name, error = %err, "userinfo response is not JSON");
        AppError::provider_failed("The provider's profile response was not understood.")
    })
}

/// A body that could not be read: too large, cut off by the transport, or never asked for
/// (an address the policy refuses).
pub fn read_failure(provider: &str, endpoint: &str, err: &ReadError) -> AppError {
    match err {
        ReadError::Transport(err) => transport_failure(provider, endpoint, err),
        ReadError::TooLarge(max) => {
            tracing::warn!(provider, endpoint, max, "provider answer too large");
            AppError::provider_failed("The provider's answer was too large.")
        }
        ReadError::Refused(refused) => address_refused(provider, endpoint, refused),
    }
}

/// Every transport problem (a timeout, a refused or failed connection, an address the
/// policy refuses) shows the person the same 502 "could not be reached": a different page for
/// each would tell whoever named the address whether it answered (a port scanner). The log
/// says which it was. `reqwest::Error`'s display includes the URL, which never carries a
/// secret here (codes travel in bodies).
pub fn transport_failure(provider: &str, endpoint: &str, err: &reqwest::Error) -> AppError {
    if err.is_timeout() {
        tracing::warn!(provider, endpoint, "provider timed out");
    } else if let Some(refused) = find_cause::<Refused>(err) {
        return address_refused(provider, endpoint, refused);
    } else {
        tracing::warn!(provider, endpoint, error = %with_causes(err), "provider unreachable");
    }
    unreachable_provider()
}

/// The address policy refused the provider's address: before sending (an IP literal) or
/// when resolving its name. The person sees what any unreachable provider shows.
fn address_refused(provider: &str, endpoint: &str, refused: &Refused) -> AppError {
    tracing::warn!(provider, endpoint, reason = %refused, "provider address refused");
    unreachable_provider()
}

/// The one message for a provider that could not be reached, whatever the reason.
pub fn unreachable_provider() -> AppError {
    AppError::provider_failed("Could not reach the provider.")
}

/// The first error of type `E` in `err`'s chain of causes.
fn find_cause<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_is_a_cancellation_and_other_errors_are_failures() {
        assert_eq!(provider_error("access_denied"), AppError::Cancelled);
        assert_eq!(
            provider_error("user_cancelled_authorize"),
            AppError::Cancelled
        );
        let err = provider_error("server_error<script>");
        assert_eq!(err.status(), 502);
        assert_eq!(
            err.to_flash().detail.as_deref(),
            Some("The provider reported an error (server_errorscript).")
        );
    }
}
