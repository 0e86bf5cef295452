//! The OAuth 1.0a sign-in flow (RFC 5849, as Twitter speaks it), in its protocol steps:
//! request token -> authorize redirect -> access token -> verify credentials. Every request
//! is signed with HMAC-SHA1 by `oauth1_signature`. Tokens and secrets stay in the caller's
//! session and locals, never in shared objects.

use rand::distr::{Alphanumeric, SampleString};
use reqwest::{header, Method, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::http_client::{self, with_causes, ProviderClient, ReadError};
use super::oauth1_signature as signature;
use super::oauth2_flow::{read_failure, read_profile, transport_failure, userinfo_url};
use super::profile::Profile;
use super::protocol::ClientCheck;
use crate::backend::config::{Endpoints, OAuth1Settings, ProviderConfig};
use crate::backend::db::users::ProviderTokens;
use crate::backend::secret::Secret;
use crate::error::AppError;
use crate::models::CallbackParams;

/// Largest token-endpoint body we read; real ones are a few hundred bytes.
const MAX_TOKEN_RESPONSE_BYTES: usize = 16 * 1024;

/// What an OAuth 1.0a sign-in keeps in the browser's session between the redirect to the
/// provider and the callback.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    /// Also the value that ties the callback to this browser: its `oauth_token` (or
    /// `denied`, when the person says no) must be this.
    pub request_token: String,
    pub request_token_secret: String,
}

/// Starts a sign-in: a request token bound to our callback, and where to send the browser.
pub async fn start(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oauth1: &OAuth1Settings,
    callback: &Url,
) -> Result<(Pending, Url), AppError> {
    let request = request_token(http, provider, oauth1, callback).await?;
    let url = authorize_url(oauth1, &request.token);
    let pending = Pending {
        request_token: request.token,
        request_token_secret: request.secret.expose().to_owned(),
    };
    Ok((pending, url))
}

/// Finishes a sign-in whose answer has been matched to `pending` (its request token): the
/// person's verdict, the verifier exchange, the profile. The access token and secret are
/// kept: Twitter's are what later API calls on the person's behalf need.
pub async fn finish(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oauth1: &OAuth1Settings,
    pending: &Pending,
    params: &CallbackParams,
) -> Result<(Profile, ProviderTokens), AppError> {
    if params.denied.is_some() {
        return Err(AppError::Cancelled);
    }
    let verifier = params
        .oauth_verifier
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AppError::bad_request("The provider sent no verifier."))?;
    let access = access_token(
        http,
        provider,
        &oauth1.endpoints.token_url,
        &pending.request_token,
        &Secret::new(pending.request_token_secret.clone()),
        verifier,
    )
    .await?;
    let profile = fetch_profile(http, provider, &oauth1.endpoints, &access).await?;
    let tokens = ProviderTokens {
        access_token: Some(access.token),
        token_secret: Some(access.secret),
        ..ProviderTokens::NONE
    };
    Ok((profile, tokens))
}

/// A temporary credential: the token goes to the browser, the secret stays with us.
pub struct RequestToken {
    pub token: String,
    pub secret: Secret,
}

pub struct AccessToken {
    pub token: Secret,
    pub secret: Secret,
}

/// The `Authorization` header of a call on the person's behalf with their kept token and
/// secret. The signature covers the method, the URL and its query, not a body.
pub fn signed_authorization(
    provider: &ProviderConfig,
    method: &Method,
    url: &Url,
    token: &Secret,
    token_secret: &Secret,
) -> String {
    authorization(
        provider,
        method,
        url,
        Some((token.expose(), token_secret.expose())),
        &[],
    )
}

/// The `Authorization` header for one request. `token` is `(token, token_secret)`.
fn authorization(
    provider: &ProviderConfig,
    method: &Method,
    url: &Url,
    token: Option<(&str, &str)>,
    protocol_extra: &[(&str, &str)],
) -> String {
    let mut oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), provider.client_id.clone()),
        (
            "oauth_nonce".into(),
            Alphanumeric.sample_string(&mut rand::rng(), 32),
        ),
        ("oauth_signature_method".into(), "HMAC-SHA1".into()),
        (
            "oauth_timestamp".into(),
            OffsetDateTime::now_utc().unix_timestamp().to_string(),
        ),
        ("oauth_version".into(), "1.0".into()),
    ];
    if let Some((token, _)) = token {
        oauth.push(("oauth_token".into(), token.to_owned()));
    }
    oauth.extend(
        protocol_extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let base = signature::signature_base_string(method.as_str(), url, &oauth);
    let client_secret = provider.client_secret.current();
    let signed = signature::hmac_sha1(
        &base,
        client_secret.expose(),
        token.map(|(_, secret)| secret),
    );
    oauth.push(("oauth_signature".into(), signed));
    signature::authorization_header(&oauth)
}

/// Asks for a request token bound to our callback, as a sign-in would, and reads the
/// answer as a verdict on the registration: Twitter says 401 to an unknown consumer key or
/// a wrong secret, 403 to a callback URL it was not given.
pub async fn check_client(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oauth1: &OAuth1Settings,
    callback: &Url,
) -> ClientCheck {
    let extra = [("oauth_callback", callback.as_str())];
    let (status, body) =
        match signed_post(http, provider, &oauth1.request_token_url, None, &extra).await {
            Ok(answer) => answer,
            Err(err) => return ClientCheck::Unreachable(with_causes(&err)),
        };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    match status {
        StatusCode::OK if field(&fields, "oauth_callback_confirmed") == Some("true") => {
            ClientCheck::Accepted
        }
        StatusCode::OK | StatusCode::FORBIDDEN => ClientCheck::CallbackRefused,
        StatusCode::UNAUTHORIZED => ClientCheck::CredentialsRefused,
        other => ClientCheck::Unclear(format!("HTTP {other}")),
    }
}

/// POSTs a signed, body-less request and reads the answer, at most
/// `MAX_TOKEN_RESPONSE_BYTES` of it.
async fn signed_post(
    http: &ProviderClient,
    provider: &ProviderConfig,
    url: &Url,
    token: Option<(&str, &str)>,
    protocol_extra: &[(&str, &str)],
) -> Result<(StatusCode, Vec<u8>), ReadError> {
    let auth = authorization(provider, &Method::POST, url, token, protocol_extra);
    let response = http
        .post(url.clone())
        .header(header::AUTHORIZATION, auth)
        .header(header::CONTENT_LENGTH, "0")
        .send()
        .await?;
    let status = response.status();
    let body = http_client::read_capped(response, MAX_TOKEN_RESPONSE_BYTES).await?;
    Ok((status, body))
}

/// POSTs a signed, body-less request to a token endpoint and reads the form-encoded answer.
async fn token_endpoint(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoint: &'static str,
    url: &Url,
    token: Option<(&str, &str)>,
    protocol_extra: &[(&str, &str)],
) -> Result<Vec<(String, String)>, AppError> {
    let name = provider.name.as_str();
    let (status, body) = signed_post(http, provider, url, token, protocol_extra)
        .await
        .map_err(|err| read_failure(name, endpoint, &err))?;
    if status != StatusCode::OK {
        tracing::warn!(provider = name, endpoint, %status, "provider refused");
        // At request_token nothing the person did can be wrong: any refusal is the
        // provider's or our configuration's (e.g. a wrong consumer secret).
        return Err(if status.is_client_error() && endpoint != "request_token" {
            AppError::bad_request("The provider did not accept the sign-in. Please try again.")
        } else {
            AppError::provider_failed("The provider failed to answer the sign-in.")
        });
    }
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn unreadable(provider: &str, endpoint: &str) -> AppError {
    tracing::warn!(provider, endpoint, "token response lacks required fields");
    AppError::provider_failed("The provider's answer was not understood.")
}

/// Step 1 (RFC 5849 §2.1): a request token bound to our callback URL.
async fn request_token(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oauth1: &OAuth1Settings,
    callback: &Url,
) -> Result<RequestToken, AppError> {
    let name = provider.name.as_str();
    let fields = token_endpoint(
        http,
        provider,
        "request_token",
        &oauth1.request_token_url,
        None,
        &[("oauth_callback", callback.as_str())],
    )
    .await?;
    // Without the confirmation the provider did not take our callback (RFC 5849 §2.1).
    if field(&fields, "oauth_callback_confirmed") != Some("true") {
        tracing::warn!(provider = name, "oauth_callback_confirmed is not true");
        return Err(AppError::provider_failed(
            "The provider did not confirm the sign-in callback.",
        ));
    }
    match (
        field(&fields, "oauth_token"),
        field(&fields, "oauth_token_secret"),
    ) {
        (Some(token), Some(secret)) => Ok(RequestToken {
            token: token.to_owned(),
            secret: Secret::new(secret),
        }),
        _ => Err(unreadable(name, "request_token")),
    }
}

/// Step 2: where to send the browser. `force_login` makes the provider ask every time.
fn authorize_url(oauth1: &OAuth1Settings, request_token: &str) -> Url {
    let mut url = oauth1.endpoints.authorize_url.clone();
    url.query_pairs_mut()
        .append_pair("oauth_token", request_token);
    if oauth1.force_login {
        url.query_pairs_mut().append_pair("force_login", "true");
    }
    url
}

/// Step 3 (§2.3): trade the authorized request token and its verifier for an access token.
async fn access_token(
    http: &ProviderClient,
    provider: &ProviderConfig,
    access_token_url: &Url,
    request_token: &str,
    request_token_secret: &Secret,
    verifier: &str,
) -> Result<AccessToken, AppError> {
    let fields = token_endpoint(
        http,
        provider,
        "access_token",
        access_token_url,
        Some((request_token, request_token_secret.expose())),
        &[("oauth_verifier", verifier)],
    )
    .await?;
    match (
        field(&fields, "oauth_token"),
        field(&fields, "oauth_token_secret"),
    ) {
        (Some(token), Some(secret)) => Ok(AccessToken {
            token: Secret::new(token),
            secret: Secret::new(secret),
        }),
        _ => Err(unreadable(&provider.name, "access_token")),
    }
}

/// Step 4: who signed in, from a request signed with the access token.
async fn fetch_profile(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    access: &AccessToken,
) -> Result<Profile, AppError> {
    let url = userinfo_url(endpoints);
    let auth = authorization(
        provider,
        &Method::GET,
        &url,
        Some((access.token.expose(), access.secret.expose())),
        &[],
    );
    let response = http
        .get(url)
        .header(header::AUTHORIZATION, auth)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| transport_failure(&provider.name, "userinfo", &err))?;
    read_profile(&provider.name, &endpoints.map_profile, response).await
}
