//! The account page's reads and actions, for the server functions in `api::account`:
//! each action answers with where to send the browser (the account page with a notice).

pub mod device;
pub mod nickname;
pub mod times;

use http::HeaderValue;
use tower_sessions::Session;
use url::Url;

use self::times::{format_time, format_unix};
use super::auth_session;
use super::auth_user::{self, AuthUser};
use super::db::{self, account_events, accounts};
use super::oauth::protocol;
use super::pending_sign_in::Intent;
use super::provider_access::{revoke, AccessError, ProviderAccess};
use super::sign_in;
use super::state::AppState;
use crate::error::AppError;
use crate::models::{
    AccountView, EmailStatus, EventView, KeptTokensView, NewApiToken, Notice, SessionView,
    SignInOption,
};

/// `new_api_token` is a token made by the action that led here, shown this once.
pub async fn view(
    state: &AppState,
    session: &Session,
    user: &AuthUser,
    new_api_token: Option<NewApiToken>,
) -> Result<Option<AccountView>, AppError> {
    let read = &state.db.read;
    // Usually read with the session already (`session_store`).
    let Some(current) = auth_user::current_user(read, &state.config, session).await? else {
        return Ok(None);
    };
    let linkable = state
        .config
        .providers
        .iter()
        .filter(|provider| {
            let issuer = protocol::identity_issuer(provider);
            !current
                .identities
                .iter()
                .any(|identity| identity.provider == provider.name || identity.issuer == issuer)
        })
        .map(|provider| SignInOption {
            provider: provider.name.clone(),
            label: provider.label.clone(),
            available: protocol::is_available(provider),
        })
        .collect();
    let mut verified_emails: Vec<String> = current
        .identities
        .iter()
        .filter(|identity| identity.email_status == EmailStatus::Verified)
        .filter_map(|identity| identity.email.clone())
        .collect();
    verified_emails.sort();
    verified_emails.dedup();
    let sessions = accounts::sessions_of(read, user.id)
        .await
        .map_err(AppError::db_failure("could not list the sessions"))?
        .into_iter()
        .map(|row| SessionView {
            this_device: row.key == user.session_key,
            handle: row.key,
            device: device::describe(row.user_agent.as_deref()),
            network: row.network,
            signed_in: format_unix(row.signed_in_at),
            last_active: format_unix(row.last_seen_at.or(row.signed_in_at)),
        })
        .collect();
    let events = account_events::recent(read, user.id)
        .await
        .map_err(AppError::db_failure(
            "could not read the account's activity",
        ))?
        .into_iter()
        .map(|event| {
            let detail = match event.detail {
                Some(name) if event.kind.names_a_provider() => {
                    Some(state.config.provider_label(&name).unwrap_or(name))
                }
                detail => detail,
            };
            EventView {
                at: format_time(event.at),
                text: event.kind.describe(detail.as_deref()),
                network: event.network,
            }
        })
        .collect();
    let api_tokens = super::api_tokens::list(&state.db, user.id).await?;
    // Asked only of a person with a method whose provider keeps tokens: the page costs
    // nobody else a query.
    let keeps_tokens = current.identities.iter().any(|identity| {
        state
            .config
            .provider(&identity.provider)
            .is_some_and(|provider| provider.keeps_tokens())
    });
    let kept_tokens = if keeps_tokens {
        db::provider_tokens::kept_for_user(read, user.id)
            .await
            .map_err(AppError::db_failure("could not read the kept tokens"))?
            .into_iter()
            .map(|(identity_id, needs_reconnection)| KeptTokensView {
                identity_id: identity_id.into(),
                needs_reconnection,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(AccountView {
        kept_tokens,
        api_tokens,
        new_api_token,
        user: current,
        linkable,
        verified_emails,
        sessions,
        events,
        signed_in_recently: user.signed_in_recently(),
    }))
}

/// "Refresh from <Provider>": reads the identity's name and picture there again with its
/// kept tokens (refreshed first if need be).
pub async fn refresh_profile(
    state: &AppState,
    user: &AuthUser,
    identity_id: i64,
) -> Result<String, AppError> {
    let Ok(identity_id) = i32::try_from(identity_id) else {
        return Ok(Notice::NotFound.url(None));
    };
    let read = async {
        let access = ProviderAccess::for_users_identity(state, user.id, identity_id).await?;
        let profile = access.read_profile().await?;
        db::identities::refresh_profile(&state.db, identity_id, &profile).await?;
        Ok::<_, AccessError>(access.provider.name.clone())
    };
    Ok(match read.await {
        Ok(provider) => Notice::ProfileRefreshed.url(Some(&provider)),
        Err(AccessError::NotKept) => Notice::NotFound.url(None),
        Err(AccessError::NeedsReconnection) => {
            let provider = db::identities::of_user(&state.db.read, user.id, identity_id)
                .await
                .ok()
                .flatten()
                .map(|identity| identity.provider);
            Notice::NeedsReconnection.url(provider.as_deref())
        }
        Err(AccessError::ProviderFailed) => Notice::ProviderFailed.url(None),
        Err(AccessError::Db(err)) => return Err(access_failure(AccessError::Db(err))),
    })
}

fn access_failure(err: AccessError) -> AppError {
    match err {
        AccessError::Db(err) => AppError::db_failure("could not read the kept tokens")(err),
        _ => AppError::Internal,
    }
}

/// Starts linking `provider` to the user: the provider's URL and the pending sign-in's
/// cookie, which records that this is a link for this user.
pub async fn start_link(
    state: &AppState,
    user: &AuthUser,
    provider: &str,
) -> Result<(Url, HeaderValue), AppError> {
    let intent = Intent::Link { user_id: user.id };
    sign_in::start(state, provider, false, Some("/account"), intent).await
}

pub async fn unlink(
    state: &AppState,
    user: &AuthUser,
    identity_id: i64,
    network: Option<&str>,
) -> Result<String, AppError> {
    let Ok(identity_id) = i32::try_from(identity_id) else {
        return Ok(Notice::NotFound.url(None));
    };
    let doomed = match db::identities::of_user(&state.db.read, user.id, identity_id).await {
        Ok(Some(identity)) => revoke::read(state, [(identity.id, identity.provider)]).await,
        Ok(None) => Ok(Vec::new()),
        Err(err) => Err(err.into()),
    }
    .map_err(access_failure)?;
    let outcome = accounts::unlink_identity(&state.db, user.id, identity_id, network)
        .await
        .map_err(AppError::db_failure("could not unlink"))?;
    Ok(match outcome {
        accounts::UnlinkOutcome::Unlinked { provider } => {
            tracing::info!(user_id = user.id, provider, "unlinked");
            revoke::in_background(state, doomed);
            Notice::Unlinked.url(Some(&provider))
        }
        accounts::UnlinkOutcome::LastMethod => Notice::LastMethod.url(None),
        accounts::UnlinkOutcome::NotFound => Notice::NotFound.url(None),
    })
}

/// Signs out one of the user's sessions (this one included, which then goes home).
pub async fn end_session(
    state: &AppState,
    session: &Session,
    user: &AuthUser,
    handle: &str,
    network: Option<&str>,
) -> Result<String, AppError> {
    if handle == user.session_key {
        auth_session::sign_out(session).await?;
        return Ok("/".to_owned());
    }
    let ended = accounts::end_session(&state.db, user.id, handle, network)
        .await
        .map_err(AppError::db_failure("could not end a session"))?;
    Ok(if ended {
        tracing::info!(
            user_id = user.id,
            "session signed out from the account page"
        );
        Notice::SessionEnded.url(None)
    } else {
        Notice::NotFound.url(None)
    })
}

pub async fn end_other_sessions(
    state: &AppState,
    user: &AuthUser,
    network: Option<&str>,
) -> Result<String, AppError> {
    let ended = accounts::end_other_sessions(&state.db, user.id, &user.session_key, network)
        .await
        .map_err(AppError::db_failure("could not end the other sessions"))?;
    tracing::info!(user_id = user.id, ended, "signed out everywhere else");
    Ok(Notice::OtherSessionsEnded.url(None))
}

pub async fn set_nickname(
    state: &AppState,
    user: &AuthUser,
    raw: &str,
    network: Option<&str>,
) -> Result<String, AppError> {
    let Some(nickname) = nickname::checked(raw) else {
        return Ok(Notice::NicknameInvalid.url(None));
    };
    accounts::set_nickname(&state.db, user.id, &nickname, network)
        .await
        .map_err(AppError::db_failure("could not save the nickname"))?;
    Ok(Notice::NicknameSaved.url(None))
}

/// Makes one of the user's verified addresses the primary one.
pub async fn set_primary_email(
    state: &AppState,
    user: &AuthUser,
    email: &str,
    network: Option<&str>,
) -> Result<String, AppError> {
    let saved = accounts::set_primary_email(&state.db, user.id, email, network)
        .await
        .map_err(AppError::db_failure("could not save the primary email"))?;
    Ok(if saved {
        Notice::PrimaryEmailSaved.url(None)
    } else {
        Notice::NotFound.url(None)
    })
}

/// Deletes the account if the person signed in recently: the user, identities (with
/// their tokens), activity and every session; this browser's session ends with it.
pub async fn delete(
    state: &AppState,
    session: &Session,
    user: &AuthUser,
) -> Result<String, AppError> {
    if !user.signed_in_recently() {
        return Ok(format!(
            "/account/delete?notice={}",
            Notice::SignInAgain.code()
        ));
    }
    let identities = db::identities::all_of_user(&state.db.read, user.id)
        .await
        .map_err(AppError::db_failure("could not read the identities"))?;
    let doomed = revoke::read(
        state,
        identities
            .into_iter()
            .map(|identity| (identity.id, identity.provider)),
    )
    .await
    .map_err(access_failure)?;
    accounts::delete_user(&state.db, user.id)
        .await
        .map_err(AppError::db_failure("could not delete the account"))?;
    revoke::in_background(state, doomed);
    // Its row is gone already; this expires the cookie.
    auth_session::sign_out(session).await?;
    tracing::info!(user_id = user.id, "account deleted");
    Ok("/account/deleted".to_owned())
}
