//! Reaching server state from inside server functions and SSR.

use leptos::prelude::use_context;
use tower_sessions::Session;

use super::state::AppState;
use crate::error::AppError;

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|err| {
        tracing::error!(error = %err, "no session layer in front of this request");
        AppError::Internal
    })
}

/// The headers of the request being answered.
pub fn request_headers() -> Result<http::HeaderMap, AppError> {
    use_context::<http::request::Parts>()
        .map(|parts| parts.headers)
        .ok_or_else(|| {
            tracing::error!("request parts missing from the Leptos context");
            AppError::Internal
        })
}

/// The client's approximate network (see `client_ip::approximate_network`), from the
/// connection's peer and, behind a trusted proxy, `X-Forwarded-For`.
pub fn client_network(state: &AppState) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    let forwarded_for: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let client =
        super::client_ip::client_address(peer, &forwarded_for, &state.config.trusted_proxies);
    Some(super::client_ip::approximate_network(client))
}

/// The browser's own description of itself.
pub fn user_agent() -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    parts
        .headers
        .get(http::header::USER_AGENT)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Sends the browser elsewhere once the server function returns: a 302 for a plain form
/// post (JavaScript off), the router's navigation with it.
pub fn redirect(to: &str) {
    leptos_axum::redirect(to);
}

/// Adds a `Set-Cookie` to the response being produced, whatever its outcome (the sign-in
/// routes copy it onto their redirect or error page).
pub fn set_cookie(value: http::HeaderValue) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// Sets the status of the response being produced (a page or a server-function call).
pub fn set_status(status: http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// Refuses state-changing requests that a browser sent on behalf of another site
/// (`Sec-Fetch-Site: cross-site`, or a foreign `Origin`).
pub fn require_same_origin(expected_origin: &str) -> Result<(), AppError> {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return Err(AppError::Internal);
    };
    if super::same_origin::is_cross_site(&parts.headers, expected_origin) {
        set_status(http::StatusCode::FORBIDDEN);
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// A message for the page being rendered, provided by the sign-in routes when they answer
/// with the page itself (an error) instead of a redirect.
#[derive(Clone, Debug)]
pub struct PageFlash(pub crate::models::Flash);
