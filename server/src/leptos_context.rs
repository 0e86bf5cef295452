//! Running server functions and rendering pages from our own axum handlers, with the
//! context leptos_axum would provide (request parts, response options, app state).

use std::future::Future;

use app::backend::{context::PageFlash, state::AppState};
use app::error::AppError;
use app::shell;
use axum::{body::Body, response::Response};
use http::{request::Parts, Request};
use leptos::prelude::{provide_context, Owner};
use leptos::reactive::computed::ScopedFuture;
use leptos_axum::ResponseOptions;

/// Runs `f` (typically a server function called directly) inside a fresh reactive owner
/// with `Parts`, `ResponseOptions` and `AppState` in context.
pub async fn run_server_fn<T, Fut>(
    state: &AppState,
    parts: Parts,
    f: impl FnOnce() -> Fut,
) -> (T, ResponseOptions)
where
    Fut: Future<Output = T>,
{
    let owner = Owner::new();
    let response_options = ResponseOptions::default();
    let future = owner.with(|| {
        provide_context(parts);
        provide_context(response_options.clone());
        provide_context(state.clone());
        ScopedFuture::new(f())
    });
    (future.await, response_options)
}

/// Answers with the app's own page, showing `error` as its flash message, with the
/// error's status code.
pub async fn render_error_page(state: &AppState, parts: Parts, error: &AppError) -> Response {
    let flash = PageFlash(error.to_flash());
    let context_state = state.clone();
    let leptos_options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(context_state.clone());
            provide_context(flash.clone());
            leptos::nonce::provide_nonce();
        },
        move || shell(leptos_options.clone()),
    );
    let mut response = render(Request::from_parts(parts, Body::empty())).await;
    *response.status_mut() = error.http_status();
    response
}
