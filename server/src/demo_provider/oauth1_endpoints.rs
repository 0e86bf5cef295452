//! The demo provider's Twitter-shaped OAuth 1.0a endpoints (RFC 5849): request token,
//! authenticate/authorize consent page, access token, verify_credentials. Signatures,
//! timestamps and nonces are checked strictly; request tokens and verifiers are single use.

use std::sync::Arc;

use app::backend::{oauth::oauth1_signature as signature, secret::constant_time_eq};
use axum::{
    extract::{rejection::QueryRejection, OriginalUri, Query, State},
    response::{Html, IntoResponse, Response},
    Form,
};
use http::{header, HeaderMap, Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{
    consent_page,
    grants::DemoIdentity,
    oauth1_grants::{OAuth1Grants, PendingAuthorization, VerifiedToken},
    oauth2_endpoints::{consented_identity_fields, identity_problem},
    DemoProvider,
};

/// How far a request's `oauth_timestamp` may be from our clock (oauthlib uses 600 s).
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// Remembered until the timestamp window passes; real nonces are 32 characters or so.
const MAX_NONCE_BYTES: usize = 64;

/// `timestamp` is the client's: any i64. `abs_diff` cannot overflow, where `(now - ts).abs()`
/// panicked (debug) or wrapped (release) for timestamps near `i64::MIN`/`MAX`.
fn within_window(now: i64, timestamp: i64) -> bool {
    now.abs_diff(timestamp) <= TIMESTAMP_WINDOW_SECS as u64
}

fn unauthorized(reason: &'static str) -> Response {
    (StatusCode::UNAUTHORIZED, reason).into_response()
}

fn form_response(pairs: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    (
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        body,
    )
        .into_response()
}

/// Which token the request must be signed with.
enum SignedWith {
    ConsumerOnly,
    RequestToken,
    AccessToken,
}

struct VerifiedRequest {
    consumer_key: String,
    protocol: Vec<(String, String)>,
    token: Option<VerifiedToken>,
}

impl VerifiedRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.protocol
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Checks a signed request the way a strict provider does.
fn verify(
    provider: &DemoProvider,
    grants: &OAuth1Grants,
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    signed_with: SignedWith,
) -> Result<VerifiedRequest, &'static str> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("missing Authorization")?;
    let mut protocol =
        signature::parse_authorization_header(header).ok_or("malformed Authorization")?;
    let position = protocol
        .iter()
        .position(|(k, _)| k == "oauth_signature")
        .ok_or("missing oauth_signature")?;
    let (_, received_signature) = protocol.remove(position);
    let get = |name: &str| {
        protocol
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if get("oauth_signature_method").as_deref() != Some("HMAC-SHA1") {
        return Err("unsupported signature method");
    }
    if get("oauth_version").is_some_and(|v| v != "1.0") {
        return Err("unsupported version");
    }
    let consumer_key = get("oauth_consumer_key").ok_or("missing consumer key")?;
    let consumer_secret = provider
        .clients
        .get(&consumer_key)
        .ok_or("unknown consumer key")?;
    let timestamp: i64 = get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or("bad timestamp")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if !within_window(now, timestamp) {
        return Err("timestamp out of window");
    }
    let nonce = get("oauth_nonce")
        .filter(|n| !n.is_empty() && n.len() <= MAX_NONCE_BYTES)
        .ok_or("missing or oversized nonce")?;
    let token = match signed_with {
        SignedWith::ConsumerOnly => None,
        SignedWith::RequestToken => Some(
            grants
                .request_token(&get("oauth_token").unwrap_or_default())
                .ok_or("unknown request token")?,
        ),
        SignedWith::AccessToken => Some(
            grants
                .access_token(&get("oauth_token").unwrap_or_default())
                .ok_or("unknown access token")?,
        ),
    };
    if token
        .as_ref()
        .is_some_and(|t| t.consumer_key != consumer_key)
    {
        return Err("token belongs to another consumer");
    }
    let url = provider
        .public_url
        .join(&uri.to_string())
        .map_err(|_| "bad request URI")?;
    let base = signature::signature_base_string(method.as_str(), &url, &protocol);
    let expected = signature::hmac_sha1(
        &base,
        consumer_secret.expose(),
        token.as_ref().map(|t| t.secret.as_str()),
    );
    if !constant_time_eq(&expected, &received_signature) {
        return Err("invalid signature");
    }
    // Only a correctly signed request uses up its nonce.
    if !grants.use_nonce(&consumer_key, timestamp, &nonce) {
        return Err("nonce already used");
    }
    Ok(VerifiedRequest {
        consumer_key,
        protocol,
        token,
    })
}

fn unusable_request_token() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(consent_page::render_error(
            "This request token is unknown, used or expired.",
        )),
    )
        .into_response()
}

fn grants(provider: &DemoProvider) -> &OAuth1Grants {
    &provider.oauth1
}

pub async fn request_token(
    State(provider): State<Arc<DemoProvider>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let request = match verify(
        &provider,
        grants(&provider),
        &Method::POST,
        &uri,
        &headers,
        SignedWith::ConsumerOnly,
    ) {
        Ok(request) => request,
        Err(reason) => return unauthorized(reason),
    };
    let callback = request.param("oauth_callback").unwrap_or_default();
    if !provider.accepts_redirect_uri(callback) {
        return (StatusCode::BAD_REQUEST, "oauth_callback is not registered").into_response();
    }
    let (token, secret) = grants(&provider).issue_request_token(&request.consumer_key, callback);
    form_response(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", "true"),
    ])
}

#[derive(Deserialize, Default)]
pub struct AuthenticateQuery {
    oauth_token: Option<String>,
}

/// The consent page for a request token waiting for the person's decision.
fn consent_form<'a>(
    provider: &DemoProvider,
    pending: &'a PendingAuthorization,
    token: String,
) -> consent_page::ConsentForm<'a> {
    consent_page::ConsentForm {
        client_id: &pending.consumer_key,
        action: "/demo-provider/oauth1/authorize",
        hidden: vec![("oauth_token", token)],
        exposed: provider.exposed,
    }
}

/// `authenticate` and `authorize` both show the consent page; this provider always asks.
pub async fn authenticate_page(
    State(provider): State<Arc<DemoProvider>>,
    query: Result<Query<AuthenticateQuery>, QueryRejection>,
) -> Response {
    let token = query
        .ok()
        .and_then(|Query(q)| q.oauth_token)
        .unwrap_or_default();
    let Some(pending) = grants(&provider).pending_authorization(&token) else {
        return unusable_request_token();
    };
    let form = consent_form(&provider, &pending, token);
    Html(consent_page::render(&form, "Demo User", "", None)).into_response()
}

#[derive(Deserialize)]
pub struct DecisionForm {
    oauth_token: Option<String>,
    name: Option<String>,
    email: Option<String>,
    decision: Option<String>,
}

pub async fn authorize_decision(
    State(provider): State<Arc<DemoProvider>>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let token = form.oauth_token.clone().unwrap_or_default();
    let grants = grants(&provider);
    let Some(pending) = grants.pending_authorization(&token) else {
        return unusable_request_token();
    };
    let mut callback = Url::parse(&pending.callback).expect("validated at request_token");
    if form.decision.as_deref() != Some("allow") {
        grants.forget_request_token(&token);
        callback.query_pairs_mut().append_pair("denied", &token);
    } else {
        let (name, email) = consented_identity_fields(&form.name, &form.email);
        if let Some(problem) = identity_problem(&name, &email) {
            let consent = consent_form(&provider, &pending, token);
            let page = consent_page::render(&consent, &name, &email, Some(problem));
            return (StatusCode::BAD_REQUEST, Html(page)).into_response();
        }
        let identity = DemoIdentity {
            name,
            email: (!email.is_empty()).then_some(email),
        };
        let Some(verifier) = grants.authorize(&token, identity) else {
            return (StatusCode::BAD_REQUEST, "request token already used").into_response();
        };
        callback
            .query_pairs_mut()
            .append_pair("oauth_token", &token)
            .append_pair("oauth_verifier", &verifier);
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, callback.to_string())],
    )
        .into_response()
}

pub async fn access_token(
    State(provider): State<Arc<DemoProvider>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let grants = grants(&provider);
    let request = match verify(
        &provider,
        grants,
        &Method::POST,
        &uri,
        &headers,
        SignedWith::RequestToken,
    ) {
        Ok(request) => request,
        Err(reason) => return unauthorized(reason),
    };
    let token = request.token.as_ref().expect("signed with a request token");
    let verifier = request.param("oauth_verifier").unwrap_or_default();
    // Redeeming removes the request token whatever the verifier says: single use.
    let Some(identity) = grants.redeem_request_token(&token.token, verifier) else {
        return unauthorized("invalid or used verifier");
    };
    let user_id = identity.numeric_id();
    let screen_name = screen_name(&identity);
    let (access, secret) = grants.issue_access_token(&request.consumer_key, identity);
    form_response(&[
        ("oauth_token", &access),
        ("oauth_token_secret", &secret),
        ("user_id", &user_id),
        ("screen_name", &screen_name),
    ])
}

/// Twitter handles: letters, digits and underscores, at most 15.
fn screen_name(identity: &DemoIdentity) -> String {
    identity
        .subject()
        .replace('-', "_")
        .chars()
        .take(15)
        .collect()
}

pub async fn verify_credentials(
    State(provider): State<Arc<DemoProvider>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let grants = grants(&provider);
    let request = match verify(
        &provider,
        grants,
        &Method::GET,
        &uri,
        &headers,
        SignedWith::AccessToken,
    ) {
        Ok(request) => request,
        Err(reason) => return unauthorized(reason),
    };
    let identity = request
        .token
        .and_then(|t| t.identity)
        .expect("access tokens carry their identity");
    let id = identity.numeric_id();
    let mut body = json!({
        "id": id.parse::<u64>().unwrap_or_default(),
        "id_str": id,
        "name": identity.name,
        "screen_name": screen_name(&identity),
    });
    if let Some(email) = &identity.email {
        body["email"] = json!(email);
    }
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timestamp_window_holds_at_its_edges_and_at_the_extremes_of_i64() {
        let now = 1_700_000_000;
        assert!(within_window(now, now - TIMESTAMP_WINDOW_SECS));
        assert!(within_window(now, now + TIMESTAMP_WINDOW_SECS));
        assert!(!within_window(now, now - TIMESTAMP_WINDOW_SECS - 1));
        assert!(!within_window(now, now + TIMESTAMP_WINDOW_SECS + 1));
        assert!(!within_window(now, i64::MIN));
        assert!(!within_window(now, i64::MAX));
        assert!(!within_window(-now, i64::MAX));
    }
}
