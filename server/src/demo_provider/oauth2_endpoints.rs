//! The demo provider's OAuth 2 endpoints (RFC 6749 authorization code + RFC 7636 PKCE S256),
//! which answer as an OpenID Connect issuer too when asked for `openid` (see `openid`).

use std::sync::Arc;

use app::backend::secret::constant_time_eq;
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    response::{Html, IntoResponse, Response},
    Form, Json,
};
use base64::Engine;
use http::{header, HeaderMap, StatusCode};
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::grants::{CodeGrant, DemoIdentity};
use super::{consent_page, DemoProvider};

const MAX_NAME_CHARS: usize = 100;
/// The longest address SMTP allows (RFC 5321 with RFC 3696 errata).
const MAX_EMAIL_CHARS: usize = 254;
/// Nonces and scopes are kept with each grant; real ones are a few dozen bytes.
const MAX_NONCE_BYTES: usize = 256;
const MAX_SCOPE_BYTES: usize = 256;

/// The consent form's name and email, trimmed.
pub fn consented_identity_fields(
    name: &Option<String>,
    email: &Option<String>,
) -> (String, String) {
    (
        name.as_deref().unwrap_or_default().trim().to_owned(),
        email.as_deref().unwrap_or_default().trim().to_owned(),
    )
}

/// What is wrong with the consent form's name and email, if anything; the provider keeps
/// both until the app fetches them, so their size is capped.
pub fn identity_problem(name: &str, email: &str) -> Option<&'static str> {
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Some("Please enter a name of up to 100 characters.");
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Some("Please enter an email address of up to 254 characters, or none.");
    }
    None
}

#[derive(Deserialize, Default)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
    nonce: Option<String>,
}

#[derive(Clone)]
pub struct ValidAuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    pub nonce: Option<String>,
}

impl ValidAuthorizeRequest {
    fn is_openid(&self) -> bool {
        self.scope.split(' ').any(|scope| scope == "openid")
    }
}

/// Why an authorization request is refused: before the client and redirect URI are known
/// to be good we may only show a page (RFC 6749 §4.1.2.1); after, we tell the client.
enum Refusal {
    Page(&'static str),
    Redirect(&'static str),
}

fn validate(
    provider: &DemoProvider,
    params: &AuthorizeParams,
) -> Result<ValidAuthorizeRequest, (Refusal, Option<Box<ValidAuthorizeRequest>>)> {
    let client_id = params.client_id.clone().unwrap_or_default();
    if !provider.clients.contains_key(&client_id) {
        return Err((Refusal::Page("Unknown client_id."), None));
    }
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    if !provider.accepts_redirect_uri(&redirect_uri) {
        return Err((
            Refusal::Page("redirect_uri is not registered for this client."),
            None,
        ));
    }
    let request = ValidAuthorizeRequest {
        client_id,
        redirect_uri,
        state: params.state.clone(),
        code_challenge: params.code_challenge.clone().unwrap_or_default(),
        scope: params.scope.clone().unwrap_or_default(),
        nonce: params.nonce.clone(),
    };
    if params.response_type.as_deref() != Some("code") {
        return Err((
            Refusal::Redirect("unsupported_response_type"),
            Some(Box::new(request)),
        ));
    }
    // PKCE is required here: this provider only serves clients that can do it.
    let challenge_ok = (43..=128).contains(&request.code_challenge.len());
    let sizes_ok = request.scope.len() <= MAX_SCOPE_BYTES
        && request
            .nonce
            .as_ref()
            .is_none_or(|n| n.len() <= MAX_NONCE_BYTES);
    if params.code_challenge_method.as_deref() != Some("S256") || !challenge_ok || !sizes_ok {
        return Err((
            Refusal::Redirect("invalid_request"),
            Some(Box::new(request)),
        ));
    }
    Ok(request)
}

impl ValidAuthorizeRequest {
    fn consent_form(&self, exposed: bool) -> consent_page::ConsentForm<'_> {
        consent_page::ConsentForm {
            client_id: &self.client_id,
            action: "/demo-provider/authorize",
            hidden: vec![
                ("response_type", "code".into()),
                ("client_id", self.client_id.clone()),
                ("redirect_uri", self.redirect_uri.clone()),
                ("state", self.state.clone().unwrap_or_default()),
                ("code_challenge", self.code_challenge.clone()),
                ("code_challenge_method", "S256".into()),
                ("scope", self.scope.clone()),
                ("nonce", self.nonce.clone().unwrap_or_default()),
            ],
            exposed,
        }
    }
}

fn refuse(
    provider: &DemoProvider,
    refusal: Refusal,
    request: Option<ValidAuthorizeRequest>,
) -> Response {
    match (refusal, request) {
        (Refusal::Redirect(error), Some(request)) => {
            redirect_back(provider, &request, &[("error", error)])
        }
        (Refusal::Page(message), _) | (Refusal::Redirect(message), None) => (
            StatusCode::BAD_REQUEST,
            Html(consent_page::render_error(message)),
        )
            .into_response(),
    }
}

/// 302 to the client's redirect URI with `params`, the client's `state`, and who answers
/// (`iss`, RFC 9207).
fn redirect_back(
    provider: &DemoProvider,
    request: &ValidAuthorizeRequest,
    params: &[(&str, &str)],
) -> Response {
    let mut url = Url::parse(&request.redirect_uri).expect("validated redirect_uri");
    {
        let mut query = url.query_pairs_mut();
        query.extend_pairs(params);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &provider.issuer);
    }
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, url.as_str())
        .header(header::CACHE_CONTROL, "no-store")
        .body(axum::body::Body::empty())
        .expect("static response parts")
}

pub async fn authorize_page(
    State(provider): State<Arc<DemoProvider>>,
    params: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    match validate(&provider, &params) {
        Ok(request) => Html(consent_page::render(
            &request.consent_form(provider.exposed),
            "Demo User",
            "",
            None,
        ))
        .into_response(),
        Err((refusal, request)) => refuse(&provider, refusal, request.map(|r| *r)),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(flatten)]
    request: AuthorizeParams,
    name: Option<String>,
    email: Option<String>,
    decision: Option<String>,
}

pub async fn authorize_decision(
    State(provider): State<Arc<DemoProvider>>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let request = match validate(&provider, &form.request) {
        Ok(request) => request,
        Err((refusal, request)) => return refuse(&provider, refusal, request.map(|r| *r)),
    };
    if form.decision.as_deref() != Some("allow") {
        return redirect_back(
            &provider,
            &request,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request."),
            ],
        );
    }
    let (name, email) = consented_identity_fields(&form.name, &form.email);
    if let Some(problem) = identity_problem(&name, &email) {
        let page = consent_page::render(
            &request.consent_form(provider.exposed),
            &name,
            &email,
            Some(problem),
        );
        return (StatusCode::BAD_REQUEST, Html(page)).into_response();
    }
    let identity = DemoIdentity {
        name,
        email: (!email.is_empty()).then_some(email),
    };
    let code = provider.grants.issue_code(CodeGrant {
        openid: request.is_openid(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone().filter(|nonce| !nonce.is_empty()),
        identity,
    });
    redirect_back(&provider, &request, &[("code", &code)])
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn token_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error })),
    )
        .into_response()
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1: each part form-urlencoded) or the
/// request body.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| -> String {
            url::form_urlencoded::parse(format!("v={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Some((unescape(id), unescape(secret)));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

pub async fn token(
    State(provider): State<Arc<DemoProvider>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let Some((client_id, client_secret)) = client_credentials(&headers, &form) else {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let known = provider
        .clients
        .get(&client_id)
        .is_some_and(|secret| constant_time_eq(secret.expose(), &client_secret));
    if !known {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.grant_type.as_deref() != Some("authorization_code") {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(grant) = form
        .code
        .as_deref()
        .and_then(|c| provider.grants.redeem_code(c))
    else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.code_verifier.clone().unwrap_or_default();
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
    let pkce_ok =
        (43..=128).contains(&verifier.len()) && challenge.as_str() == grant.code_challenge;
    if grant.client_id != client_id
        || form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str())
        || !pkce_ok
    {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let mut answer = json!({
        "token_type": "bearer",
        "expires_in": 3600,
    });
    if grant.openid {
        answer["id_token"] = json!(provider.signing_key.id_token(
            &provider.issuer,
            &grant.client_id,
            grant.nonce.as_deref(),
            &grant.identity,
        ));
    }
    answer["access_token"] = json!(provider.grants.issue_token(grant.identity));
    ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response()
}

pub(super) fn bearer_identity(
    provider: &DemoProvider,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Option<DemoIdentity> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .or(query_token)?;
    provider.grants.identity_for_token(token.trim())
}

pub(super) fn invalid_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        Json(json!({ "error": "invalid_token" })),
    )
        .into_response()
}

/// OpenID Connect userinfo shape.
pub async fn userinfo(State(provider): State<Arc<DemoProvider>>, headers: HeaderMap) -> Response {
    let Some(identity) = bearer_identity(&provider, &headers, None) else {
        return invalid_token();
    };
    let mut body = json!({ "sub": identity.subject(), "name": identity.name });
    if let Some(email) = identity.email {
        // Typed in on the consent page: nobody verified it.
        body["email"] = Value::String(email);
        body["email_verified"] = Value::Bool(false);
    }
    Json(body).into_response()
}
