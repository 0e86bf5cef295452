//! `GET /authorize/{provider}` and `GET /callback/{provider}`: thin handlers that run the
//! `start_sign_in` / `finish_sign_in` server functions and turn their outcome into a 302,
//! or into the start page with a message and a 4xx/5xx status. `POST /callback/{provider}`
//! takes the answer of a provider that answers by form post (Apple) and hands it on.

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
        None => (Err(malformed()), None),
        Some(Query(query)) => {
            let remember = query.remember.as_deref() == Some("on");
            let (result, response) = run_server_fn(&state, parts.clone(), || {
                start_sign_in(provider, remember, query.next)
            })
            .await;
            (result, Some(response))
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
        None => (Err(malformed()), None),
        Some(Query(params)) => {
            let (result, response) =
                run_server_fn(&state, parts.clone(), || finish_sign_in(provider, params)).await;
            (result, Some(response))
        }
    };
    respond(&state, parts, outcome).await
}

/// What a form-post answer may carry on to the GET callback; anything else is dropped.
#[derive(Deserialize)]
pub struct FormPostAnswer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
    user: Option<String>,
}

/// A provider's answer posted by the browser from the provider's page (Apple's
/// `response_mode=form_post`). That POST is cross-site, so it carries no `SameSite=Lax`
/// cookie: the pending sign-in cannot be found from here. It is answered with a 303 to the
/// GET callback with the same fields, which the browser follows as a top-level GET with
/// its cookies, where `state` ties it to this browser's sign-in as every answer is. Nothing
/// is read or written here; `no-referrer` and `no-store` keep the code out of Referers and
/// caches. Only providers that answer this way take it (405 for the others).
pub async fn form_post_callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    form: Result<axum::Form<FormPostAnswer>, axum::extract::rejection::FormRejection>,
) -> Response {
    let answers_by_form_post = state
        .config
        .provider(&provider)
        .is_some_and(app::backend::oauth::protocol::answers_by_form_post);
    if !answers_by_form_post {
        return with_sign_in_headers(
            Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .header(header::ALLOW, "GET")
                .body(Body::empty())
                .expect("static response parts"),
        );
    }
    let Ok(axum::Form(answer)) = form else {
        return with_sign_in_headers(
            Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .body(Body::from("The sign-in answer was malformed."))
                .expect("static response parts"),
        );
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("code", answer.code),
        ("state", answer.state),
        ("error", answer.error),
        ("iss", answer.iss),
        ("user", answer.user),
    ] {
        if let Some(value) = value {
            query.append_pair(name, &value);
        }
    }
    // The provider's name is one configured here (looked up above): safe in a path.
    let location = format!("/callback/{provider}?{}", query.finish());
    with_sign_in_headers(
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .expect("a configured provider's name and an encoded query make a valid header"),
    )
}

/// See `query_guard`: non-UTF-8 escapes, NUL bytes and oversized queries are refused.
fn well_formed(uri: &http::Uri) -> bool {
    well_formed_query(uri.query())
}

fn malformed() -> AppError {
    AppError::bad_request("The sign-in request was malformed.")
}

/// A redirect to wherever the server function pointed, or the page with the error; with
/// the cookies the server function set either way (the pending sign-in's, or its removal).
async fn respond(
    state: &AppState,
    parts: Parts,
    (result, response_options): (Result<(), AppError>, Option<leptos_axum::ResponseOptions>),
) -> Response {
    let set_by_server_fn = response_options
        .as_ref()
        .and_then(|options| options.0.read().ok().map(|parts| parts.headers.clone()))
        .unwrap_or_default();
    let mut response = match result {
        Ok(()) => {
            let location = set_by_server_fn
                .get(header::LOCATION)
                .cloned()
                .unwrap_or(HeaderValue::from_static("/"));
            Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .expect("static response parts")
        }
        Err(err) => render_error_page(state, parts, &err).await,
    };
    for cookie in set_by_server_fn.get_all(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
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
