//! Server functions: the sign-in flows, the current user and logout. In the browser these
//! are HTTP calls; on the server they run directly, reaching state through context.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::error::AppError;
use crate::models::{CallbackParams, CurrentUser};

pub mod account;

/// The signed-in user, or `None`.
#[server(output = Postcard)]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    use crate::backend::{auth_user, context};
    let state = context::app_state()?;
    let session = context::session().await?;
    let user = auth_user::current_user(&state.db.read, &state.config, &session).await;
    if let Err(err) = &user {
        // The page that shows the error carries its status (503 while the database is away).
        context::set_status(err.http_status());
    }
    user
}

/// Starts a sign-in: keeps state and PKCE verifier in an encrypted cookie, then redirects
/// the browser to the provider. Carried by `GET /authorize/{provider}`.
#[server]
pub async fn start_sign_in(
    provider: String,
    remember: bool,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{context, pending_sign_in::Intent, sign_in};
    let state = context::app_state()?;
    let (url, cookie) =
        sign_in::start(&state, &provider, remember, next.as_deref(), Intent::SignIn).await?;
    context::set_cookie(cookie);
    leptos_axum::redirect(url.as_str());
    Ok(())
}

/// Finishes a sign-in with what the provider sent back, then redirects to where the person
/// was going. Carried by `GET /callback/{provider}`.
#[server]
pub async fn finish_sign_in(provider: String, params: CallbackParams) -> Result<(), AppError> {
    use crate::backend::{auth_session::Device, context, sign_in};
    let state = context::app_state()?;
    let session = context::session().await?;
    let headers = context::request_headers()?;
    let device = Device::new(
        context::user_agent().as_deref(),
        context::client_network(&state),
    );
    let next = sign_in::finish(
        &state,
        &session,
        &headers,
        device,
        &provider,
        &params,
        context::set_cookie,
    )
    .await?;
    leptos_axum::redirect(&next);
    Ok(())
}

/// `POST /logout`: ends the session on the server and expires the cookie.
#[server(prefix = "", endpoint = "logout", output = Postcard)]
pub async fn logout() -> Result<(), AppError> {
    use crate::backend::{auth_session, context};
    let state = context::app_state()?;
    context::require_same_origin(&state.config.origin())?;
    let session = context::session().await?;
    auth_session::sign_out(&session).await
}
