//! A fast stand-in for Facebook (OAuth 2) and Twitter (OAuth 1.0a): it approves at once
//! and checks nothing, so that the benchmark measures the app, not a provider. The person
//! signing in is named by `login_hint` on the authorize URL and travels in the code or
//! verifier.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use serde_json::json;
use std::collections::HashMap;

#[derive(Clone)]
struct StandIn {
    twitter_callback: Arc<String>,
    tokens: Arc<AtomicU64>,
}

pub fn router(app_base: &str) -> Router {
    let state = StandIn {
        twitter_callback: Arc::new(format!("{app_base}/callback/twitter")),
        tokens: Arc::new(AtomicU64::new(0)),
    };
    Router::new()
        .route("/fb/authorize", get(fb_authorize))
        .route("/fb/token", post(fb_token))
        .route("/fb/me", get(fb_me))
        .route("/tw/request_token", post(tw_request_token))
        .route("/tw/authenticate", get(tw_authenticate))
        .route("/tw/access_token", post(tw_access_token))
        .route("/tw/verify_credentials.json", get(tw_verify_credentials))
        .with_state(state)
}

/// The app's configuration pointing Facebook and Twitter here.
pub fn app_env(stand_in_base: &str) -> Vec<(String, String)> {
    let p = stand_in_base;
    [
        ("OAUTH_FACEBOOK_CLIENT_ID", "bench".to_owned()),
        ("OAUTH_FACEBOOK_CLIENT_SECRET", "bench-secret".to_owned()),
        ("OAUTH_FACEBOOK_AUTHORIZE_URL", format!("{p}/fb/authorize")),
        ("OAUTH_FACEBOOK_TOKEN_URL", format!("{p}/fb/token")),
        ("OAUTH_FACEBOOK_USERINFO_URL", format!("{p}/fb/me")),
        ("OAUTH_TWITTER_CLIENT_ID", "bench".to_owned()),
        ("OAUTH_TWITTER_CLIENT_SECRET", "bench-secret".to_owned()),
        (
            "OAUTH_TWITTER_REQUEST_TOKEN_URL",
            format!("{p}/tw/request_token"),
        ),
        (
            "OAUTH_TWITTER_AUTHORIZE_URL",
            format!("{p}/tw/authenticate"),
        ),
        (
            "OAUTH_TWITTER_ACCESS_TOKEN_URL",
            format!("{p}/tw/access_token"),
        ),
        (
            "OAUTH_TWITTER_USERINFO_URL",
            format!("{p}/tw/verify_credentials.json"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

async fn fb_authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(redirect_uri), Some(state), Some(user)) =
        (q.get("redirect_uri"), q.get("state"), q.get("login_hint"))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut url = url::Url::parse(redirect_uri).expect("redirect_uri");
    url.query_pairs_mut()
        .append_pair("code", &format!("code-{user}"))
        .append_pair("state", state);
    redirect(url.as_str())
}

async fn fb_token(body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let Some(user) = form.get("code").and_then(|c| c.strip_prefix("code-")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    axum::Json(json!({"access_token": format!("at-{user}"), "token_type": "bearer"}))
        .into_response()
}

/// The Graph API takes the token as a Bearer header (our app) or as `access_token` in the
/// query (node-oauth, under passport-facebook).
async fn fb_me(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(q.get("access_token").map(String::as_str))
        .and_then(|token| token.strip_prefix("at-"))
        .map(str::to_owned);
    match user {
        Some(user) => {
            axum::Json(json!({"id": user, "name": format!("User {user}")})).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// `name="value"` out of an OAuth 1.0a Authorization header (our values need no decoding).
fn oauth_param(headers: &HeaderMap, name: &str) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let start = auth.find(&format!("{name}=\""))? + name.len() + 2;
    let end = auth[start..].find('"')? + start;
    Some(auth[start..end].to_owned())
}

async fn tw_request_token(State(s): State<StandIn>) -> Response {
    let n = s.tokens.fetch_add(1, Ordering::Relaxed);
    form(format!(
        "oauth_token=rt{n}&oauth_token_secret=rts{n}&oauth_callback_confirmed=true"
    ))
}

async fn tw_authenticate(
    State(s): State<StandIn>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(token), Some(user)) = (q.get("oauth_token"), q.get("login_hint")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut url = url::Url::parse(&s.twitter_callback).expect("callback");
    url.query_pairs_mut()
        .append_pair("oauth_token", token)
        .append_pair("oauth_verifier", &format!("v-{user}"));
    redirect(url.as_str())
}

async fn tw_access_token(headers: HeaderMap) -> Response {
    match oauth_param(&headers, "oauth_verifier")
        .and_then(|v| v.strip_prefix("v-").map(str::to_owned))
    {
        Some(user) => form(format!(
            "oauth_token=at-{user}&oauth_token_secret=ats-{user}"
        )),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn tw_verify_credentials(headers: HeaderMap) -> Response {
    match oauth_param(&headers, "oauth_token")
        .and_then(|t| t.strip_prefix("at-").map(str::to_owned))
    {
        Some(user) => axum::Json(json!({"id_str": user, "screen_name": format!("User {user}")}))
            .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

fn form(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        body,
    )
        .into_response()
}
