//! `GET /authorize/{provider}` and `GET /callback/{provider}`: thin handlers that run the
//! `start_sign_in` / `finish_sign_in` server functions and turn their outcome into a 302,
//! or into the start page with a message and a 4xx/5xx status.

use app::api::{finish_sign_in, start_sign_in};
use app::backend::{query_guard::well_formed_query, state::AppState};
use app::error::AppError;
use app::models::CallbackParams;
use axum::{
    body::Body,
    extract::{rejection::QueryRejection, Path, Query, Request, State},
    response::Response,
};
use http::{header, request::Parts, HeaderValue, StatusCode};
use serde::Deserialize;

use crate::leptos_context::{render_error_page, run_server_fn};

pub fn is_sign_in_path(path: &str) -> bool {
    path.starts_with("/authorize/") || path.starts_with("/callback/")
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    /// The "Keep me signed in" checkbox: `on` when ticked, absent otherwise.
    remember: Option<String>,
    next: Option<String>,
}

pub async fn authorize(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    query: Result<Query<AuthorizeQuery>, QueryRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let outcome = match query.ok().filter(|_| well_formed(&parts.uri)) {
        None => Err(malformed()),
        Some(Query(query)) => {
            let remember = query.remember.as_deref() == Some("on");
            let (result, response) = run_server_fn(&state, parts.clone(), || {
                start_sign_in(provider, remember, query.next)
            })
            .await;
            result.map(|()| response)
        }
    };
    respond(&state, parts, outcome).await
}

pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    query: Result<Query<CallbackParams>, QueryRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let outcome = match query.ok().filter(|_| well_formed(&parts.uri)) {
        // Left alone: only an answer that proves it belongs to the pending sign-in may end
        // it (see `sign_in::finish`), and a malformed one proves nothing.
        None => Err(malformed()),
        Some(Query(params)) => {
            let (result, response) =
                run_server_fn(&state, parts.clone(), || finish_sign_in(provider, params)).await;
            result.map(|()| response)
        }
    };
    respond(&state, parts, outcome).await
}

/// See `query_guard`: non-UTF-8 escapes, NUL bytes and oversized queries are refused.
fn well_formed(uri: &http::Uri) -> bool {
    well_formed_query(uri.query())
}

fn malformed() -> AppError {
    AppError::bad_request("The sign-in request was malformed.")
}

/// A redirect to wherever the server function pointed, or the page with the error.
async fn respond(
    state: &AppState,
    parts: Parts,
    outcome: Result<leptos_axum::ResponseOptions, AppError>,
) -> Response {
    let response = match outcome {
        Ok(response_options) => {
            let location = response_options
                .0
                .read()
                .ok()
                .and_then(|parts| parts.headers.get(header::LOCATION).cloned())
                .unwrap_or(HeaderValue::from_static("/"));
            Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .expect("static response parts")
        }
        Err(err) => render_error_page(state, parts, &err).await,
    };
    with_sign_in_headers(response)
}

/// Codes and states sit in these URLs: never cache them, never leak them in a Referer.
fn with_sign_in_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
