//! The account page's server functions. Every change is a same-origin POST (the server
//! refuses cross-site ones) that works as a plain form: it answers with a redirect to the
//! account page carrying a notice, which a form post follows as a 302 and the router as a
//! navigation. Who is signed in is decided once, by `auth_user`.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::error::AppError;
use crate::models::AccountView;

/// What the account page shows; `None` when signed out.
#[server(output = Postcard)]
pub async fn get_account() -> Result<Option<AccountView>, AppError> {
    use crate::backend::{accounts, api_tokens, auth_user, context};
    let state = context::app_state()?;
    let session = context::session().await?;
    let result = async {
        let Some(user) = auth_user::from_session(&session).await? else {
            return Ok(None);
        };
        // A token made by the action that led here: shown in this answer, then forgotten.
        let cookie = &state.new_api_token_cookie;
        let new_api_token = api_tokens::just_created(cookie, &context::request_headers()?);
        if new_api_token.is_some() {
            context::set_cookie(cookie.removal());
        }
        accounts::view(&state, &session, &user, new_api_token).await
    }
    .await;
    if let Err(err) = &result {
        context::set_status(err.http_status());
    }
    result
}

/// What every account change starts with: a same-origin request of a signed-in browser.
/// Returns the state, the session, the user and the client's network.
#[cfg(feature = "ssr")]
async fn signed_in_change() -> Result<
    (
        crate::backend::state::AppState,
        tower_sessions::Session,
        crate::backend::auth_user::AuthUser,
        Option<String>,
    ),
    AppError,
> {
    use crate::backend::{auth_user, context};
    let state = context::app_state()?;
    context::require_same_origin(&state.config.origin())?;
    let session = context::session().await?;
    let user = auth_user::require(&session).await?;
    let network = context::client_network(&state);
    Ok((state, session, user, network))
}

/// Answers a change with the page to show next. A failure reaches a plain form post
/// (JavaScript off) as a page too: the sign-in page for a browser signed out meanwhile, the
/// account page with a notice otherwise (which, while the database is away, is itself the
/// readable 503); other callers get the error and its status.
#[cfg(feature = "ssr")]
fn respond(result: Result<String, AppError>) -> Result<(), AppError> {
    use crate::backend::context;
    use crate::models::Notice;
    let err = match result {
        Ok(to) => {
            context::redirect(&to);
            return Ok(());
        }
        Err(err) => err,
    };
    let from_a_form = context::request_headers()
        .ok()
        .and_then(|headers| headers.get(http::header::ACCEPT).cloned())
        .and_then(|accept| accept.to_str().ok().map(|a| a.contains("text/html")))
        .unwrap_or(false);
    let page = match &err {
        AppError::NotSignedIn => Some(crate::models::SIGN_IN_AND_BACK.to_owned()),
        AppError::Unavailable | AppError::Internal => Some(Notice::Unavailable.url(None)),
        AppError::SignInFailed { .. } => Some(Notice::ProviderFailed.url(None)),
        AppError::UnknownProvider => Some(Notice::NotFound.url(None)),
        _ => None,
    };
    match page {
        Some(page) if from_a_form => {
            context::redirect(&page);
            Ok(())
        }
        _ => {
            context::set_status(err.http_status());
            Err(err)
        }
    }
}

/// Starts linking another provider: the browser goes to the provider and comes back to
/// `/callback/{provider}`, which adds the identity to this user.
#[server(prefix = "/account", endpoint = "link")]
pub async fn start_link(provider: String) -> Result<(), AppError> {
    use crate::backend::{accounts, context};
    respond(
        async {
            let (state, _, user, _) = signed_in_change().await?;
            let (url, cookie) = accounts::start_link(&state, &user, &provider).await?;
            context::set_cookie(cookie);
            Ok(url.to_string())
        }
        .await,
    )
}

/// "Refresh from <Provider>": the method's name and picture read again at the provider.
#[server(prefix = "/account", endpoint = "refresh-profile")]
pub async fn refresh_profile(identity: i64) -> Result<(), AppError> {
    respond(
        async {
            let (state, _, user, _) = signed_in_change().await?;
            crate::backend::accounts::refresh_profile(&state, &user, identity).await
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "unlink")]
pub async fn unlink(identity: i64) -> Result<(), AppError> {
    respond(
        async {
            let (state, _, user, network) = signed_in_change().await?;
            crate::backend::accounts::unlink(&state, &user, identity, network.as_deref()).await
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "nickname")]
pub async fn set_nickname(nickname: String) -> Result<(), AppError> {
    respond(
        async {
            let (state, _, user, network) = signed_in_change().await?;
            crate::backend::accounts::set_nickname(&state, &user, &nickname, network.as_deref())
                .await
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "primary-email")]
pub async fn set_primary_email(email: String) -> Result<(), AppError> {
    respond(
        async {
            let (state, _, user, network) = signed_in_change().await?;
            crate::backend::accounts::set_primary_email(&state, &user, &email, network.as_deref())
                .await
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "sign-out-session")]
pub async fn sign_out_session(session: String) -> Result<(), AppError> {
    respond(
        async {
            let (state, current, user, network) = signed_in_change().await?;
            crate::backend::accounts::end_session(
                &state,
                &current,
                &user,
                &session,
                network.as_deref(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "sign-out-others")]
pub async fn sign_out_others() -> Result<(), AppError> {
    respond(
        async {
            let (state, _, user, network) = signed_in_change().await?;
            crate::backend::accounts::end_other_sessions(&state, &user, network.as_deref()).await
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "delete-account")]
pub async fn delete_account() -> Result<(), AppError> {
    respond(
        async {
            let (state, session, user, _) = signed_in_change().await?;
            crate::backend::accounts::delete(&state, &session, &user).await
        }
        .await,
    )
}

/// Makes a personal API token (`name`, `lifetime`: 30, 90, 365 or never), shown once on the
/// account page that follows.
#[server(prefix = "/account", endpoint = "api-tokens")]
pub async fn create_api_token(name: String, lifetime: String) -> Result<(), AppError> {
    use crate::backend::{api_tokens, context};
    respond(
        async {
            let (state, _, user, network) = signed_in_change().await?;
            let (to, cookie) = api_tokens::create(
                &state.db,
                &state.new_api_token_cookie,
                &user,
                &name,
                &lifetime,
                network.as_deref(),
            )
            .await?;
            if let Some(cookie) = cookie {
                context::set_cookie(cookie);
            }
            Ok(to)
        }
        .await,
    )
}

#[server(prefix = "/account", endpoint = "revoke-api-token")]
pub async fn revoke_api_token(token: i64) -> Result<(), AppError> {
    respond(
        async {
            let (state, _, user, network) = signed_in_change().await?;
            crate::backend::api_tokens::revoke(&state.db, &user, token, network.as_deref()).await
        }
        .await,
    )
}
