//! A scriptable stand-in for Facebook's token and Graph endpoints on 127.0.0.1, for the
//! failures a real provider produces now and then.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use futures::StreamExt;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub enum TokenMode {
    Ok,
    Status500,
    BadJson,
    Html,
    /// 302 to the fake's own `/elsewhere`, which counts its visitors.
    Redirect,
    Slow(Duration),
    InvalidGrant,
    /// A 500 whose body is an OAuth error (`server_error`), as a provider in trouble sends.
    ServerErrorJson,
    /// A JSON-looking 200 that never ends (see [`endless_body`]).
    Endless,
    /// An OAuth error body (`{"error": ...}`) with this status; GitHub sends them with 200.
    OAuthError {
        status: u16,
        error: &'static str,
    },
}

#[derive(Clone, Debug)]
pub enum UserinfoMode {
    Profile(Value),
    Status500,
    NotJson,
    Endless,
}

/// How the OAuth 1.0a request-token endpoint answers.
#[derive(Clone, Debug)]
pub enum RequestTokenMode {
    Status500,
    /// A token, its secret and `oauth_callback_confirmed=true`.
    Granted,
    /// A token, but `oauth_callback_confirmed=false`.
    Unconfirmed,
    Endless,
}

pub struct Script {
    pub token: TokenMode,
    pub userinfo: UserinfoMode,
    pub request_token: RequestTokenMode,
    /// GitHub's `/user/emails`: a JSON answer, or `None` for a 500.
    pub emails: Option<Value>,
}

#[derive(Default)]
pub struct Seen {
    pub token_bodies: Vec<String>,
    pub token_auth_headers: Vec<Option<String>>,
    pub userinfo_uris: Vec<String>,
    pub userinfo_auth_headers: Vec<Option<String>>,
    pub emails_auth_headers: Vec<Option<String>>,
    /// Calls of the request-token endpoint: what spends a Twitter app's quota.
    pub request_tokens: usize,
    /// GitHub's grant deletions: the `Authorization` header and the JSON body.
    pub grant_deletions: Vec<(Option<String>, Value)>,
}

pub struct FakeProvider {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
    pub seen: Arc<Mutex<Seen>>,
    pub elsewhere_hits: Arc<AtomicUsize>,
    /// Bytes of endless bodies that the app actually pulled.
    pub endless_bytes_sent: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct FakeState {
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
    elsewhere_hits: Arc<AtomicUsize>,
    endless_bytes_sent: Arc<AtomicUsize>,
    base_url: String,
}

pub const ACCESS_TOKEN: &str = "fake-access-token-4f9a";

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script {
            token: TokenMode::Ok,
            userinfo: UserinfoMode::Profile(json!({
                "id": "10153000000000001", "name": "Fay Book", "email": "fay@example.com"
            })),
            request_token: RequestTokenMode::Status500,
            emails: Some(json!([])),
        }));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let elsewhere_hits = Arc::new(AtomicUsize::new(0));
        let endless_bytes_sent = Arc::new(AtomicUsize::new(0));
        let state = FakeState {
            script: script.clone(),
            seen: seen.clone(),
            elsewhere_hits: elsewhere_hits.clone(),
            endless_bytes_sent: endless_bytes_sent.clone(),
            base_url: base_url.clone(),
        };
        let router = Router::new()
            .route("/oauth/access_token", post(token))
            .route("/me", get(userinfo))
            .route("/elsewhere", get(elsewhere).post(elsewhere))
            .route("/oauth/request_token", post(request_token))
            .route("/user/emails", get(emails))
            .route(
                "/applications/gh-client-id/grant",
                axum::routing::delete(delete_grant),
            )
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeProvider {
            base_url,
            script,
            seen,
            elsewhere_hits,
            endless_bytes_sent,
        }
    }

    pub fn set_token(&self, mode: TokenMode) {
        self.script.lock().unwrap().token = mode;
    }

    pub fn set_request_token(&self, mode: RequestTokenMode) {
        self.script.lock().unwrap().request_token = mode;
    }

    /// Configuration pointing the app's Twitter provider here.
    pub fn twitter_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OAUTH_TWITTER_CLIENT_ID", "tw-consumer".into()),
            ("OAUTH_TWITTER_CLIENT_SECRET", "tw-consumer-secret".into()),
            (
                "OAUTH_TWITTER_REQUEST_TOKEN_URL",
                format!("{}/oauth/request_token", self.base_url),
            ),
            (
                "OAUTH_TWITTER_AUTHORIZE_URL",
                format!("{}/oauth/authenticate", self.base_url),
            ),
            (
                "OAUTH_TWITTER_ACCESS_TOKEN_URL",
                format!("{}/oauth/access_token", self.base_url),
            ),
            (
                "OAUTH_TWITTER_USERINFO_URL",
                format!("{}/verify", self.base_url),
            ),
            ("OAUTH_HTTP_TIMEOUT_MS", "500".into()),
        ]
    }

    pub fn set_emails(&self, answer: Option<Value>) {
        self.script.lock().unwrap().emails = answer;
    }

    /// Configuration pointing the app's GitHub provider here.
    pub fn github_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OAUTH_GITHUB_CLIENT_ID", "gh-client-id".into()),
            (
                "OAUTH_GITHUB_CLIENT_SECRET",
                "gh-client-secret-s3cr3t".into(),
            ),
            (
                "OAUTH_GITHUB_AUTHORIZE_URL",
                format!("{}/login/oauth/authorize", self.base_url),
            ),
            (
                "OAUTH_GITHUB_TOKEN_URL",
                format!("{}/oauth/access_token", self.base_url),
            ),
            ("OAUTH_GITHUB_USERINFO_URL", format!("{}/me", self.base_url)),
            (
                "OAUTH_GITHUB_EMAILS_URL",
                format!("{}/user/emails", self.base_url),
            ),
            (
                "OAUTH_GITHUB_GRANT_URL",
                format!("{}/applications/gh-client-id/grant", self.base_url),
            ),
            ("OAUTH_HTTP_TIMEOUT_MS", "500".into()),
        ]
    }

    pub fn set_userinfo(&self, mode: UserinfoMode) {
        self.script.lock().unwrap().userinfo = mode;
    }

    /// Configuration pointing the app's Facebook provider here.
    pub fn facebook_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OAUTH_FACEBOOK_CLIENT_ID", "fb-client-id".into()),
            (
                "OAUTH_FACEBOOK_CLIENT_SECRET",
                "fb-client-secret-s3cr3t".into(),
            ),
            (
                "OAUTH_FACEBOOK_AUTHORIZE_URL",
                format!("{}/dialog/oauth", self.base_url),
            ),
            (
                "OAUTH_FACEBOOK_TOKEN_URL",
                format!("{}/oauth/access_token", self.base_url),
            ),
            (
                "OAUTH_FACEBOOK_USERINFO_URL",
                format!("{}/me", self.base_url),
            ),
            ("OAUTH_HTTP_TIMEOUT_MS", "500".into()),
        ]
    }
}

fn auth_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn token(State(state): State<FakeState>, headers: HeaderMap, body: String) -> Response {
    {
        let mut seen = state.seen.lock().unwrap();
        seen.token_bodies.push(body);
        seen.token_auth_headers.push(auth_header(&headers));
    }
    let mode = state.script.lock().unwrap().token.clone();
    match mode {
        TokenMode::Ok => (
            [("content-type", "application/json")],
            json!({"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 5183944})
                .to_string(),
        )
            .into_response(),
        TokenMode::Status500 => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        TokenMode::BadJson => (
            [("content-type", "application/json")],
            "{\"access_token\": ",
        )
            .into_response(),
        TokenMode::Html => (
            [("content-type", "text/html")],
            "<html><body>Sorry, something went wrong.</body></html>",
        )
            .into_response(),
        TokenMode::Redirect => (
            StatusCode::FOUND,
            [("location", format!("{}/elsewhere", state.base_url))],
        )
            .into_response(),
        TokenMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (
                [("content-type", "application/json")],
                json!({"access_token": ACCESS_TOKEN, "token_type": "bearer"}).to_string(),
            )
                .into_response()
        }
        TokenMode::ServerErrorJson => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "application/json")],
            json!({"error": "server_error"}).to_string(),
        )
            .into_response(),
        TokenMode::Endless => endless_body(&state, "{\"access_token\": \""),
        TokenMode::OAuthError { status, error } => (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            json!({"error": error}).to_string(),
        )
            .into_response(),
        TokenMode::InvalidGrant => (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            json!({"error": "invalid_grant", "error_description": "code was already redeemed"})
                .to_string(),
        )
            .into_response(),
    }
}

async fn userinfo(State(state): State<FakeState>, uri: Uri, headers: HeaderMap) -> Response {
    {
        let mut seen = state.seen.lock().unwrap();
        seen.userinfo_uris.push(uri.to_string());
        seen.userinfo_auth_headers.push(auth_header(&headers));
    }
    let mode = state.script.lock().unwrap().userinfo.clone();
    match mode {
        UserinfoMode::Profile(json) => {
            ([("content-type", "application/json")], json.to_string()).into_response()
        }
        UserinfoMode::Status500 => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        UserinfoMode::NotJson => "<html>not json</html>".into_response(),
        UserinfoMode::Endless => endless_body(&state, "{\"name\": \""),
    }
}

async fn emails(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    state
        .seen
        .lock()
        .unwrap()
        .emails_auth_headers
        .push(auth_header(&headers));
    match state.script.lock().unwrap().emails.clone() {
        Some(json) => ([("content-type", "application/json")], json.to_string()).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
    }
}

async fn request_token(State(state): State<FakeState>) -> Response {
    state.seen.lock().unwrap().request_tokens += 1;
    let mode = state.script.lock().unwrap().request_token.clone();
    match mode {
        RequestTokenMode::Granted => {
            "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=true".into_response()
        }
        RequestTokenMode::Status500 => {
            (StatusCode::INTERNAL_SERVER_ERROR, "over capacity").into_response()
        }
        RequestTokenMode::Unconfirmed => {
            "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=false".into_response()
        }
        RequestTokenMode::Endless => endless_body(&state, "oauth_token="),
    }
}

async fn elsewhere(State(state): State<FakeState>) -> Response {
    state.elsewhere_hits.fetch_add(1, Ordering::SeqCst);
    json!({"access_token": "stolen", "token_type": "bearer"})
        .to_string()
        .into_response()
}

/// Up to 256 MiB after `prefix`, in 64 KiB chunks, without a `Content-Length`: a reader
/// that does not stop early takes it all. Counts the bytes actually handed to the socket.
fn endless_body(state: &FakeState, prefix: &'static str) -> Response {
    const CHUNK: usize = 64 * 1024;
    let sent = state.endless_bytes_sent.clone();
    let chunks = futures::stream::iter(0..4096).map(move |i| {
        let chunk = if i == 0 {
            prefix.as_bytes().to_vec()
        } else {
            vec![b'a'; CHUNK]
        };
        sent.fetch_add(chunk.len(), Ordering::SeqCst);
        Ok::<_, std::io::Error>(chunk)
    });
    (
        [("content-type", "application/json")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// GitHub's `DELETE /applications/{client_id}/grant`: recorded, answered 204.
async fn delete_grant(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_str(&body).unwrap_or(Value::Null);
    state
        .seen
        .lock()
        .unwrap()
        .grant_deletions
        .push((authorization, body));
    StatusCode::NO_CONTENT.into_response()
}
