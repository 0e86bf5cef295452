//! A scriptable stand-in OpenID Connect issuer on 127.0.0.1: discovery, an authorization
//! endpoint without a UI (it answers every request at once with a code), a token endpoint
//! that checks the client's credentials and PKCE and refreshes tokens (`offline_access`),
//! revocation (RFC 7009), userinfo and the signing keys. What it
//! signs and says can be made wrong in each of the ways a real issuer, or an attacker
//! between it and us, could.
//!
//! The app discovers an issuer once when it starts and keeps the metadata for an hour, so
//! set up what `/.well-known/openid-configuration` says before starting the app.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use openidconnect::core::{
    CoreHmacKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};

// Test keys only (generated for the app's unit tests; they sign nothing real).
pub const KEY: &str = include_str!("../../../app/src/backend/oauth/testdata/id-token-test-key.pem");
pub const OTHER_KEY: &str =
    include_str!("../../../app/src/backend/oauth/testdata/id-token-other-test-key.pem");

/// The client the stand-in knows (see [`FakeIssuer::env`]).
pub const CLIENT_ID: &str = "corp-client";
pub const CLIENT_SECRET: &str = "corp-client-s3cr3t";
/// `sub` of the one person who signs in here.
pub const SUBJECT: &str = "248289761001";
/// The kid a token is signed under when [`IdTokenFault::UnknownKey`]: in no set served.
pub const STRAY_KID: &str = "k-stray";

/// One way the ID token in the token answer is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenFault {
    /// Signed with another key under the kid of the key served.
    ForeignKey,
    /// `aud` names another client.
    WrongAudience,
    /// `iss` names another issuer.
    WrongIssuer,
    /// `exp` ten minutes ago.
    Expired,
    /// The nonce of another sign-in.
    WrongNonce,
    /// No `nonce` claim.
    MissingNonce,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 keyed with the issuer's public key set (the classic algorithm confusion).
    Hs256WithPublicKey,
    /// A good signature by a key under a kid in no set ever served ([`STRAY_KID`]).
    UnknownKey,
    /// No `id_token` in the token answer at all.
    Missing,
}

/// What the `iss` parameter of the authorization answer says (RFC 9207).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssParam {
    /// The issuer's own address.
    Issuer,
    Omitted,
    Other(String),
}

struct Script {
    /// `None`: the metadata document; otherwise this status with a plain body.
    metadata_status: Option<u16>,
    /// The `issuer` the metadata document names (`None`: the truth, `base_url`).
    claimed_issuer: Option<String>,
    /// `authorization_response_iss_parameter_supported` (left out when `None`).
    iss_parameter_supported: Option<bool>,
    iss_param: IssParam,
    /// `token_endpoint_auth_methods_supported` (left out when `None`: Basic, by default).
    token_auth_methods: Option<Vec<String>>,
    id_token_fault: Option<IdTokenFault>,
    /// The key the ID token is signed with, and its kid.
    signing_key: (&'static str, String),
    /// What `/jwks` serves.
    jwks: Value,
    /// What `/userinfo` answers; `None`: a 500.
    userinfo: Option<Value>,
    /// Claims added to (or replacing) those of every ID token.
    extra_id_token_claims: Map<String, Value>,
    /// Fields added to (or replacing) those of the metadata document.
    document_fields: Map<String, Value>,
    /// How long the metadata document takes to come.
    metadata_delay: std::time::Duration,
    /// `expires_in` of each access token, in seconds.
    access_token_ttl: i64,
    /// A refresh answers with a new refresh token (the old one stops working).
    rotate_refresh_tokens: bool,
    /// How long a refresh takes to answer.
    refresh_delay: std::time::Duration,
    /// Decides whether a client secret is good (`None`: it must be [`CLIENT_SECRET`]);
    /// Apple's are JWTs the client signs.
    client_secret_check: Option<SecretCheck>,
}

type SecretCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// An authorization request answered with a code, until the code is used.
#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    /// `offline_access` asked for with `prompt=consent`: a refresh token comes too.
    offline: bool,
}

/// A token request as it arrived.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// Client id and secret from HTTP Basic, decoded (RFC 6749 §2.3.1).
    pub basic_credentials: Option<(String, String)>,
    pub form: HashMap<String, String>,
    /// `None` when tokens were issued; else the OAuth error answered.
    pub refused: Option<String>,
}

/// Everything the stand-in was asked, and the secrets it handed out (to look for in logs).
#[derive(Default)]
pub struct Seen {
    pub metadata_requests: usize,
    pub jwks_requests: usize,
    /// The query of each authorization request.
    pub authorize_requests: Vec<HashMap<String, String>>,
    pub token_requests: Vec<TokenRequest>,
    pub userinfo_authorizations: Vec<Option<String>>,
    pub codes: Vec<String>,
    pub access_tokens: Vec<String>,
    pub id_tokens: Vec<String>,
    pub refresh_tokens: Vec<String>,
    /// Refresh-token grants answered with new tokens.
    pub refreshes: usize,
    /// Each revocation request: the token and its hint.
    pub revocations: Vec<(String, Option<String>)>,
}

#[derive(Clone)]
struct Shared {
    base_url: String,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
    /// Access token -> the `sub` it is about.
    access: Arc<Mutex<HashMap<String, String>>>,
    /// Refresh tokens that still work.
    refresh: Arc<Mutex<std::collections::HashSet<String>>>,
}

pub struct FakeIssuer {
    /// The issuer identifier, exactly: `http://127.0.0.1:<port>`.
    pub base_url: String,
    script: Arc<Mutex<Script>>,
    pub seen: Arc<Mutex<Seen>>,
    reachable: Arc<AtomicBool>,
    access: Arc<Mutex<HashMap<String, String>>>,
    refresh: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// A key set of one RSA public key under `kid`.
pub fn key_set(pem: &str, kid: &str) -> Value {
    serde_json::to_value(CoreJsonWebKeySet::new(vec![
        rsa_key(pem, kid).as_verification_key()
    ]))
    .unwrap()
}

fn rsa_key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

/// The PKCE S256 challenge of `verifier`, or `None` if it is no valid verifier (RFC 7636
/// §4.1: 43 to 128 characters).
pub fn s256(verifier: &str) -> Option<String> {
    if !(43..=128).contains(&verifier.len()) {
        return None;
    }
    let verifier = PkceCodeVerifier::new(verifier.to_owned());
    Some(
        PkceCodeChallenge::from_code_verifier_sha256(&verifier)
            .as_str()
            .to_owned(),
    )
}

/// Client id and secret from an HTTP Basic header, each form-urlencoded (RFC 6749 §2.3.1).
pub fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let encoded = authorization.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| -> String {
        url::form_urlencoded::parse(part.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

impl FakeIssuer {
    pub async fn start() -> FakeIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script {
            metadata_status: None,
            claimed_issuer: None,
            iss_parameter_supported: Some(true),
            iss_param: IssParam::Issuer,
            token_auth_methods: None,
            id_token_fault: None,
            signing_key: (KEY, "k1".into()),
            jwks: key_set(KEY, "k1"),
            userinfo: Some(json!({
                "sub": SUBJECT,
                "name": "Ida Issuer",
                "email": "ida@corp.example",
                "email_verified": true
            })),
            extra_id_token_claims: Map::new(),
            document_fields: Map::new(),
            metadata_delay: std::time::Duration::ZERO,
            access_token_ttl: 3600,
            rotate_refresh_tokens: false,
            refresh_delay: std::time::Duration::ZERO,
            client_secret_check: None,
        }));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Shared {
            base_url: base_url.clone(),
            script: script.clone(),
            seen: seen.clone(),
            grants: Arc::default(),
            access: Arc::default(),
            refresh: Arc::default(),
        };
        let (access, refresh) = (shared.access.clone(), shared.refresh.clone());
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(metadata))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/userinfo", get(userinfo))
            .route("/jwks", get(jwks))
            // One request per connection, so that an issuer made unreachable is unreachable
            // at once, not only for connections the app opens afterwards.
            .layer(axum::middleware::map_response(
                |mut response: Response| async {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    response
                },
            ))
            .with_state(shared);
        let reachable = Arc::new(AtomicBool::new(true));
        let gate = Gate {
            listener,
            reachable: reachable.clone(),
        };
        tokio::spawn(async move { axum::serve(gate, router).await.unwrap() });
        FakeIssuer {
            base_url,
            script,
            seen,
            reachable,
            access,
            refresh,
        }
    }

    /// `expires_in` of the access tokens it hands out from now on.
    pub fn set_access_token_ttl(&self, seconds: i64) {
        self.script.lock().unwrap().access_token_ttl = seconds;
    }

    pub fn set_rotate_refresh_tokens(&self, rotate: bool) {
        self.script.lock().unwrap().rotate_refresh_tokens = rotate;
    }

    pub fn set_refresh_delay(&self, delay: std::time::Duration) {
        self.script.lock().unwrap().refresh_delay = delay;
    }

    /// Client secrets are good when `check` says so (Apple's signed ones), not by value.
    pub fn set_client_secret_check(&self, check: impl Fn(&str) -> bool + Send + Sync + 'static) {
        self.script.lock().unwrap().client_secret_check = Some(Arc::new(check));
    }

    /// The refresh token handed out last.
    pub fn last_refresh_token(&self) -> String {
        self.seen
            .lock()
            .unwrap()
            .refresh_tokens
            .last()
            .expect("a refresh token handed out")
            .clone()
    }

    /// The person takes the site's access back: every token handed out stops working.
    pub fn revoke_everything(&self) {
        self.access.lock().unwrap().clear();
        self.refresh.lock().unwrap().clear();
    }

    /// Configuration of a generic issuer `OAUTH_CORP_*` (label "Corp") pointing here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OAUTH_CORP_ISSUER", self.base_url.clone()),
            ("OAUTH_CORP_CLIENT_ID", CLIENT_ID.into()),
            ("OAUTH_CORP_CLIENT_SECRET", CLIENT_SECRET.into()),
            ("OAUTH_CORP_LABEL", "Corp".into()),
            ("OAUTH_HTTP_TIMEOUT_MS", "2000".into()),
        ]
    }

    /// The same for an issuer named `name` (`OAUTH_<NAME>_*`), without a label.
    pub fn env_named(&self, name: &str) -> Vec<(String, String)> {
        let prefix = format!("OAUTH_{}", name.to_ascii_uppercase());
        vec![
            (format!("{prefix}_ISSUER"), self.base_url.clone()),
            (format!("{prefix}_CLIENT_ID"), CLIENT_ID.into()),
            (format!("{prefix}_CLIENT_SECRET"), CLIENT_SECRET.into()),
        ]
    }

    /// The `issuer` the metadata document names (`None`: its own address, the truth).
    pub fn set_claimed_issuer(&self, issuer: Option<&str>) {
        self.script.lock().unwrap().claimed_issuer = issuer.map(str::to_owned);
    }

    /// The metadata document answers `status` with a plain body (`None`: the document).
    pub fn set_metadata_status(&self, status: Option<u16>) {
        self.script.lock().unwrap().metadata_status = status;
    }

    /// Whether connections are accepted at all: an unreachable issuer closes each one
    /// unanswered.
    pub fn set_reachable(&self, reachable: bool) {
        self.reachable.store(reachable, Ordering::SeqCst);
    }

    /// `authorization_response_iss_parameter_supported` in the metadata (`None`: absent).
    pub fn set_iss_parameter_supported(&self, supported: Option<bool>) {
        self.script.lock().unwrap().iss_parameter_supported = supported;
    }

    /// The `iss` parameter of authorization answers.
    pub fn set_iss_param(&self, iss: IssParam) {
        self.script.lock().unwrap().iss_param = iss;
    }

    /// `token_endpoint_auth_methods_supported` in the metadata (`None`: absent). The token
    /// endpoint accepts exactly the methods listed (only Basic when absent).
    pub fn set_token_auth_methods(&self, methods: Option<&[&str]>) {
        self.script.lock().unwrap().token_auth_methods =
            methods.map(|methods| methods.iter().map(|m| m.to_string()).collect());
    }

    /// What is wrong with the ID tokens issued from now on (`None`: nothing).
    pub fn set_id_token_fault(&self, fault: Option<IdTokenFault>) {
        self.script.lock().unwrap().id_token_fault = fault;
    }

    /// Claims added to (or replacing) the standard ones of every ID token.
    pub fn set_id_token_claims(&self, claims: Value) {
        let Value::Object(claims) = claims else {
            panic!("claims are a JSON object");
        };
        self.script.lock().unwrap().extra_id_token_claims = claims;
    }

    /// A field of the metadata document, e.g. an endpoint named elsewhere.
    pub fn set_document_field(&self, name: &str, value: Value) {
        self.script
            .lock()
            .unwrap()
            .document_fields
            .insert(name.into(), value);
    }

    /// How long the metadata document takes to come (a slow or far issuer).
    pub fn set_metadata_delay(&self, delay: std::time::Duration) {
        self.script.lock().unwrap().metadata_delay = delay;
    }

    /// Key rotation: serves only a new key, kid "k2", and signs with it.
    pub fn rotate_keys(&self) {
        let mut script = self.script.lock().unwrap();
        script.jwks = key_set(OTHER_KEY, "k2");
        script.signing_key = (OTHER_KEY, "k2".into());
    }

    /// What `/jwks` serves.
    pub fn set_jwks(&self, jwks: Value) {
        self.script.lock().unwrap().jwks = jwks;
    }

    /// The whole userinfo answer (`None`: a 500).
    pub fn set_userinfo(&self, userinfo: Option<Value>) {
        self.script.lock().unwrap().userinfo = userinfo;
    }

    /// One claim of the userinfo answer.
    pub fn set_userinfo_claim(&self, name: &str, value: Value) {
        let mut script = self.script.lock().unwrap();
        let userinfo = script.userinfo.get_or_insert_with(|| json!({}));
        userinfo[name] = value;
    }
}

/// Accepts connections only while the issuer is reachable; otherwise closes them unanswered.
struct Gate {
    listener: TcpListener,
    reachable: Arc<AtomicBool>,
}

impl axum::serve::Listener for Gate {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let (io, addr) = axum::serve::Listener::accept(&mut self.listener).await;
            if self.reachable.load(Ordering::SeqCst) {
                return (io, addr);
            }
            drop(io);
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
}

async fn metadata(State(shared): State<Shared>) -> Response {
    shared.seen.lock().unwrap().metadata_requests += 1;
    let delay = shared.script.lock().unwrap().metadata_delay;
    tokio::time::sleep(delay).await;
    let script = shared.script.lock().unwrap();
    if let Some(status) = script.metadata_status {
        return (
            StatusCode::from_u16(status).unwrap(),
            "metadata unavailable",
        )
            .into_response();
    }
    let base = &shared.base_url;
    let mut document = json!({
        "issuer": script.claimed_issuer.as_deref().unwrap_or(base),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "revocation_endpoint": format!("{base}/revoke"),
    });
    if let Some(supported) = script.iss_parameter_supported {
        document["authorization_response_iss_parameter_supported"] = json!(supported);
    }
    if let Some(methods) = &script.token_auth_methods {
        document["token_endpoint_auth_methods_supported"] = json!(methods);
    }
    for (name, value) in &script.document_fields {
        document[name] = value.clone();
    }
    Json(document).into_response()
}

async fn jwks(State(shared): State<Shared>) -> Response {
    shared.seen.lock().unwrap().jwks_requests += 1;
    let keys = shared.script.lock().unwrap().jwks.clone();
    json_response(StatusCode::OK, keys)
}

/// No UI: every well-formed request is answered at once with a fresh code.
async fn authorize(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared
        .seen
        .lock()
        .unwrap()
        .authorize_requests
        .push(query.clone());
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let Ok(mut redirect) = url::Url::parse(&param("redirect_uri")) else {
        return (StatusCode::BAD_REQUEST, "no valid redirect_uri").into_response();
    };
    if param("response_type") != "code"
        || param("client_id") != CLIENT_ID
        || param("code_challenge_method") != "S256"
        || param("code_challenge").is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            "needs response_type=code, our client_id and an S256 code_challenge",
        )
            .into_response();
    }
    let code = CsrfToken::new_random().secret().clone();
    shared.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            client_id: param("client_id"),
            redirect_uri: param("redirect_uri"),
            code_challenge: param("code_challenge"),
            nonce: query.get("nonce").cloned(),
            offline: param("scope")
                .split(' ')
                .any(|scope| scope == "offline_access")
                && param("prompt").split(' ').any(|prompt| prompt == "consent"),
        },
    );
    shared.seen.lock().unwrap().codes.push(code.clone());
    let iss = shared.script.lock().unwrap().iss_param.clone();
    {
        let mut pairs = redirect.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(state) = query.get("state") {
            pairs.append_pair("state", state);
        }
        match &iss {
            IssParam::Issuer => {
                pairs.append_pair("iss", &shared.base_url);
            }
            IssParam::Other(other) => {
                pairs.append_pair("iss", other);
            }
            IssParam::Omitted => {}
        }
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, redirect.to_string())],
    )
        .into_response()
}

async fn token(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let basic = authorization.as_deref().and_then(basic_credentials);
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) == Some("refresh_token") {
        let delay = shared.script.lock().unwrap().refresh_delay;
        tokio::time::sleep(delay).await;
    }
    let outcome = issue_tokens(&shared, basic.as_ref(), &form);
    let refused = outcome
        .as_ref()
        .err()
        .map(|(_, error, description)| format!("{error}: {description}"));
    shared
        .seen
        .lock()
        .unwrap()
        .token_requests
        .push(TokenRequest {
            authorization,
            basic_credentials: basic,
            form,
            refused,
        });
    match outcome {
        Ok(answer) => json_response(StatusCode::OK, answer),
        Err((status, error, description)) => oauth_error(status, error, &description),
    }
}

type Refusal = (StatusCode, &'static str, String);

fn issue_tokens(
    shared: &Shared,
    basic: Option<&(String, String)>,
    form: &HashMap<String, String>,
) -> Result<Value, Refusal> {
    let field = |name: &str| form.get(name).map(String::as_str);
    let (methods, secret_check) = {
        let script = shared.script.lock().unwrap();
        (
            script.token_auth_methods.clone(),
            script.client_secret_check.clone(),
        )
    };
    let allows = |method: &str| match &methods {
        None => method == "client_secret_basic",
        Some(methods) => methods.iter().any(|m| m == method),
    };
    let (client_id, client_secret) = match (basic, field("client_secret")) {
        (Some((id, secret)), None) if allows("client_secret_basic") => {
            (id.as_str(), secret.as_str())
        }
        (None, Some(secret)) if allows("client_secret_post") => {
            (field("client_id").unwrap_or_default(), secret)
        }
        _ => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication missing or not by a method this issuer takes".into(),
            ))
        }
    };
    let secret_good = match &secret_check {
        Some(check) => check(client_secret),
        None => client_secret == CLIENT_SECRET,
    };
    if client_id != CLIENT_ID || !secret_good {
        return Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret".into(),
        ));
    }
    let invalid_grant = |why: &str| (StatusCode::BAD_REQUEST, "invalid_grant", why.to_owned());
    match field("grant_type") {
        Some("authorization_code") => {}
        Some("refresh_token") => {
            let presented = field("refresh_token").unwrap_or_default();
            let rotate = shared.script.lock().unwrap().rotate_refresh_tokens;
            let mut refresh = shared.refresh.lock().unwrap();
            if !refresh.contains(presented) {
                return Err(invalid_grant("unknown or revoked refresh token"));
            }
            let next = rotate.then(|| {
                refresh.remove(presented);
                let next = CsrfToken::new_random().secret().clone();
                refresh.insert(next.clone());
                next
            });
            drop(refresh);
            let mut answer = access_token_answer(shared);
            let mut seen = shared.seen.lock().unwrap();
            seen.refreshes += 1;
            if let Some(next) = next {
                seen.refresh_tokens.push(next.clone());
                answer["refresh_token"] = json!(next);
            }
            return Ok(answer);
        }
        _ => {
            return Err((
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code and refresh_token".into(),
            ))
        }
    }
    // One use per code: taken out whatever happens next.
    let grant = field("code")
        .and_then(|code| shared.grants.lock().unwrap().remove(code))
        .ok_or_else(|| invalid_grant("unknown or already used code"))?;
    if grant.client_id != CLIENT_ID {
        return Err(invalid_grant("code issued to another client"));
    }
    if field("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    let verifier = field("code_verifier").unwrap_or_default();
    if s256(verifier).as_deref() != Some(grant.code_challenge.as_str()) {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let mut answer = access_token_answer(shared);
    let id_token = id_token(shared, &grant);
    let mut seen = shared.seen.lock().unwrap();
    if grant.offline {
        let refresh_token = CsrfToken::new_random().secret().clone();
        shared.refresh.lock().unwrap().insert(refresh_token.clone());
        seen.refresh_tokens.push(refresh_token.clone());
        answer["refresh_token"] = json!(refresh_token);
        answer["scope"] = json!("openid email profile offline_access");
    }
    if let Some(id_token) = id_token {
        seen.id_tokens.push(id_token.clone());
        answer["id_token"] = json!(id_token);
    }
    Ok(answer)
}

/// A new access token, known to userinfo from now on, as a token answer gives it.
fn access_token_answer(shared: &Shared) -> Value {
    let access_token = CsrfToken::new_random().secret().clone();
    shared
        .access
        .lock()
        .unwrap()
        .insert(access_token.clone(), SUBJECT.into());
    shared
        .seen
        .lock()
        .unwrap()
        .access_tokens
        .push(access_token.clone());
    let ttl = shared.script.lock().unwrap().access_token_ttl;
    json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
    })
}

/// RFC 7009: with the client's credentials (HTTP Basic), the token stops working; 200
/// whether or not it worked before.
async fn revoke(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(basic_credentials);
    if basic != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "who are you?");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let token = form.get("token").cloned().unwrap_or_default();
    shared.refresh.lock().unwrap().remove(&token);
    shared.access.lock().unwrap().remove(&token);
    shared
        .seen
        .lock()
        .unwrap()
        .revocations
        .push((token, form.get("token_type_hint").cloned()));
    StatusCode::OK.into_response()
}

/// The ID token for `grant`, as the script says: good, or wrong in one way.
fn id_token(shared: &Shared, grant: &Grant) -> Option<String> {
    let script = shared.script.lock().unwrap();
    let fault = script.id_token_fault;
    if fault == Some(IdTokenFault::Missing) {
        return None;
    }
    let now = now();
    let mut claims = json!({
        "iss": shared.base_url,
        "sub": SUBJECT,
        "aud": grant.client_id,
        "iat": now,
        "exp": now + 300,
    });
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    for (name, value) in &script.extra_id_token_claims {
        claims[name] = value.clone();
    }
    match fault {
        Some(IdTokenFault::WrongAudience) => claims["aud"] = json!("someone-else"),
        Some(IdTokenFault::WrongIssuer) => claims["iss"] = json!("https://evil.example"),
        Some(IdTokenFault::Expired) => {
            claims["iat"] = json!(now - 900);
            claims["exp"] = json!(now - 600);
        }
        Some(IdTokenFault::WrongNonce) => claims["nonce"] = json!("the-nonce-of-another-sign-in"),
        Some(IdTokenFault::MissingNonce) => {
            claims.as_object_mut().unwrap().remove("nonce");
        }
        _ => {}
    }
    let (pem, kid) = (script.signing_key.0, script.signing_key.1.as_str());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let jws = |header: Value, sign: &dyn Fn(&[u8]) -> Vec<u8>| {
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
        format!("{input}.{signature}")
    };
    let rs256 = |pem: &str, kid: &str| {
        let key = rsa_key(pem, kid);
        jws(
            json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
            &|input| {
                key.sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input)
                    .unwrap()
            },
        )
    };
    Some(match fault {
        Some(IdTokenFault::ForeignKey) => {
            let other = if pem == KEY { OTHER_KEY } else { KEY };
            rs256(other, kid)
        }
        Some(IdTokenFault::UnknownKey) => rs256(pem, STRAY_KID),
        Some(IdTokenFault::AlgNone) => jws(json!({"alg": "none", "kid": kid}), &|_| Vec::new()),
        Some(IdTokenFault::Hs256WithPublicKey) => {
            let public_keys = serde_json::to_vec(&script.jwks).unwrap();
            let key = CoreHmacKey::new(public_keys);
            jws(
                json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &|input| {
                    key.sign(&CoreJwsSigningAlgorithm::HmacSha256, input)
                        .unwrap()
                },
            )
        }
        _ => rs256(pem, kid),
    })
}

async fn userinfo(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    shared
        .seen
        .lock()
        .unwrap()
        .userinfo_authorizations
        .push(authorization.clone());
    let known = authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|token| shared.access.lock().unwrap().contains_key(token));
    if !known {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    match shared.script.lock().unwrap().userinfo.clone() {
        Some(claims) => json_response(StatusCode::OK, claims),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "userinfo down").into_response(),
    }
}
