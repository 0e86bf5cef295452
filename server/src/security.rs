//! Request and response hardening applied to every route: cross-site requests may not
//! change state, and every response carries the security headers.

use app::backend::{
    csp::DEFAULT_CSP,
    same_origin::{is_cross_site, is_embedded_by_another_site},
};
use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use http::{header, HeaderValue, Method, StatusCode};

/// Where cross-site requests that are not safe methods are refused, and the one exception.
#[derive(Clone)]
pub struct CrossSitePolicy {
    /// This site's origin (`PUBLIC_URL`'s).
    pub origin: String,
    /// `/callback/{name}` of the providers that answer by form post (Apple's): their answer
    /// is a cross-site POST by design. It changes nothing there: it is only turned into a
    /// GET of the same callback (see `routes::sign_in::form_post_callback`), which another
    /// site could send the browser to anyway.
    pub form_post_callbacks: std::sync::Arc<[String]>,
}

/// OWASP CSRF: a browser sending a state-changing request on behalf of another site
/// (`Sec-Fetch-Site: cross-site`, or a foreign `Origin`) gets 403, whatever the route but
/// the form-post callbacks of `CrossSitePolicy`.
pub async fn reject_cross_site(
    State(policy): State<CrossSitePolicy>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let form_post_callback = *request.method() == Method::POST
        && policy
            .form_post_callbacks
            .iter()
            .any(|path| path == request.uri().path());
    if !safe && !form_post_callback && is_cross_site(request.headers(), &policy.origin) {
        tracing::info!(method = %request.method(), path = request.uri().path(), "cross-site request refused");
        return refusal(
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        );
    }
    next.run(request).await
}

/// `/authorize/*` and `/callback/*` loaded by another site's page as an image, script,
/// iframe or fetch (`is_embedded_by_another_site`) are refused before any session is touched
/// or any provider called: an `<img src=".../authorize/twitter">` or a hidden iframe would
/// otherwise make every visitor's browser store a session, replace their sign-in in progress
/// and have us call Twitter. Top-level navigations stay allowed: the provider sends people
/// back to `/callback` that way, and a "Sign in" link on another site is legitimate (the
/// person sees the provider's page, and the callback must match this browser's own pending
/// sign-in).
pub async fn refuse_embedded_sign_in(request: Request, next: Next) -> Response {
    if is_embedded_by_another_site(request.headers()) {
        tracing::info!(
            path = request.uri().path(),
            "embedded cross-site sign-in request refused"
        );
        return refusal(
            StatusCode::FORBIDDEN,
            "Sign-in cannot be started or finished from inside another site's page.",
        );
    }
    next.run(request).await
}

/// The sign-in server functions (`start_sign_in`, `finish_sign_in`) run only inside the
/// `/authorize` and `/callback` handlers, behind their rate limit, query guard, embedding
/// check and `no-store`/`no-referrer` headers. Leptos also mounts every server function as
/// a public HTTP endpoint under `/api/...`; for these two that would be a side door around
/// all of it (a loop of `start_sign_in` for Twitter is a loop of signed calls to Twitter),
/// so their endpoints answer 404 whatever the method or body.
pub async fn hide_sign_in_server_fns(request: Request, next: Next) -> Response {
    use app::api::{FinishSignIn, StartSignIn};
    use leptos::server_fn::ServerFn;
    let path = request.uri().path();
    if path == <StartSignIn as ServerFn>::PATH || path == <FinishSignIn as ServerFn>::PATH {
        return refusal(StatusCode::NOT_FOUND, "Not found.");
    }
    next.run(request).await
}

/// A minimal page saying why a request was refused (the app's own pages need a session and
/// a render; these answers must not).
fn refusal(status: StatusCode, message: &'static str) -> Response {
    let title = status.canonical_reason().unwrap_or("Refused");
    let page = format!("<!DOCTYPE html><title>{title}</title><p>{message}</p>");
    (status, Html(page)).into_response()
}

/// Two years; not `includeSubDomains` or `preload`, which commit the operator's whole domain.
const HSTS: &str = "max-age=63072000";

/// Adds the headers every response should carry, keeping any a handler set itself; over
/// https (`PUBLIC_URL`), HSTS too, so browsers never try plain http again.
pub async fn security_headers(
    State(https): State<bool>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::CONTENT_SECURITY_POLICY, DEFAULT_CSP),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    // Pages show who is signed in: never keep them in a shared or back-button cache.
    if is_html {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}
