//! Starting and finishing a sign-in. The pending sign-in (state, PKCE verifier, where to
//! go next) lives in the browser, in an encrypted cookie (see `pending_sign_in`), is used
//! once (claimed in the database at the callback), and expires.

use std::time::Instant;

use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;
use tower_sessions::Session;
use url::Url;

use super::auth_session::{self, Device, OldRecord};
use super::auth_user;
use super::config::ProviderConfig;
use super::db::accounts::{self, LinkOutcome};
use super::db::users::{self, SignInOutcome};
use super::metrics;
use super::oauth::{profile::Profile, protocol};
use super::pending_sign_in::{Intent, PendingSignIn};
use super::return_to::safe_next;
use super::secret::constant_time_eq;
use super::session_store::storage_key;
use super::sign_in_claims::{self, Claim};
use super::state::AppState;
use crate::error::{AppError, FailureKind};
use crate::models::{CallbackParams, Notice};

pub use super::pending_sign_in::PENDING_TTL_SECS;
/// Longest callback parameter we look at; real codes and states are far shorter.
const MAX_PARAM_LEN: usize = 2048;

/// Starts a sign-in: the provider URL to send the browser to, and the `Set-Cookie` value
/// that keeps the pending sign-in in the browser. Nothing is written to the database.
pub async fn start(
    state: &AppState,
    provider: &str,
    remember: bool,
    next: Option<&str>,
    intent: Intent,
) -> Result<(Url, HeaderValue), AppError> {
    let provider = state
        .config
        .provider(provider)
        .ok_or(AppError::UnknownProvider)?;
    let redirect_uri = state.config.redirect_uri(&provider.name);
    let started = async {
        spend_provider_quota(state, provider)?;
        let began = Instant::now();
        let started = protocol::start(&state.http, provider, &redirect_uri).await;
        if protocol::start_calls_provider(provider) {
            metrics::provider_called(
                &provider.name,
                "start",
                provider_call(&started),
                began.elapsed(),
            );
        }
        started
    }
    .await;
    let (proof, url) = match started {
        Ok(started) => started,
        Err(err) => {
            metrics::sign_in_start_failed(&provider.name, err.label());
            return Err(err);
        }
    };
    metrics::sign_in_started(&provider.name);
    let pending = PendingSignIn {
        provider: provider.name.clone(),
        proof,
        remember,
        next: safe_next(next),
        started_at: OffsetDateTime::now_utc().unix_timestamp(),
        intent,
    };
    Ok((url, state.pending_cookie.seal(&pending)))
}

/// How a step's provider call went, from its result: the provider is to blame for
/// `ProviderFailed` only; a cancellation was the provider's answer, not a call.
fn provider_call<T>(result: &Result<T, AppError>) -> metrics::ProviderCall {
    match result {
        Ok(_) => metrics::ProviderCall::Answered,
        Err(AppError::Cancelled) => metrics::ProviderCall::NotMade,
        Err(AppError::SignInFailed {
            kind: FailureKind::ProviderFailed,
            ..
        }) => metrics::ProviderCall::Failed,
        Err(_) => metrics::ProviderCall::Answered,
    }
}

/// A start that calls the provider (Twitter's request token) draws on an instance-wide
/// budget: the per-client and per-network limits bound one attacker's network, this bounds
/// a flood from everywhere, which would otherwise spend the app's quota at the provider
/// (and get the app throttled there for everyone).
fn spend_provider_quota(state: &AppState, provider: &ProviderConfig) -> Result<(), AppError> {
    let Some(budget) = &state.provider_call_budget else {
        return Ok(());
    };
    if protocol::start_calls_provider(provider) && budget.check().is_err() {
        tracing::warn!(
            provider = provider.name,
            "sign-in starts refused: SIGN_IN_REQUEST_TOKENS_PER_MINUTE used up"
        );
        return Err(AppError::Unavailable);
    }
    Ok(())
}

/// Completes the sign-in the provider sent back. Returns where to send the browser.
///
/// Anyone can send a browser to the callback (a link on another site is a top-level
/// navigation, which carries the cookies), so an answer may act on the pending sign-in
/// only once it has shown that it belongs to it: its `state` (OAuth 2) or request token
/// (OAuth 1.0a) must match. Until then nothing changes, so a forged `error=access_denied`
/// or a malformed answer cannot cancel the person's sign-in. After that the pending
/// sign-in is claimed (one callback only) and used up whatever the outcome: `set_cookie`
/// receives the cookie's removal. On failure nothing is written, and a browser that was
/// not signed in is left without a session: only a completed sign-in makes one.
pub async fn finish(
    state: &AppState,
    session: &Session,
    request_headers: &HeaderMap,
    device: Device,
    provider_name: &str,
    params: &CallbackParams,
    set_cookie: impl FnOnce(HeaderValue),
) -> Result<String, AppError> {
    let provider = state
        .config
        .provider(provider_name)
        .ok_or(AppError::UnknownProvider)?;
    let began = Instant::now();
    let answered = finish_with(
        state,
        session,
        request_headers,
        device,
        provider,
        params,
        set_cookie,
    )
    .await;
    let failure = answered.as_ref().err().map(AppError::label);
    metrics::callback_answered(provider_name, failure, began.elapsed());
    answered
}

async fn finish_with(
    state: &AppState,
    session: &Session,
    request_headers: &HeaderMap,
    device: Device,
    provider: &ProviderConfig,
    params: &CallbackParams,
    set_cookie: impl FnOnce(HeaderValue),
) -> Result<String, AppError> {
    let provider_name = provider.name.as_str();
    check_param_sizes(params)?;
    let Some(pending) = state.pending_cookie.open(request_headers) else {
        return Err(AppError::bad_request(
            "No sign-in was in progress in this browser, or it has expired. Please start again.",
        ));
    };
    check_binding(&pending, provider_name, params)?;
    set_cookie(state.pending_cookie.removal());
    if pending.is_too_old() {
        return Err(too_slow());
    }
    let claim = sign_in_claims::claim(&state.db, pending.proof.binding(), pending.claim_expiry())
        .await
        .map_err(AppError::db_failure("could not claim the pending sign-in"))?;
    if claim == Claim::AlreadyTaken {
        // Another request is completing (or has completed) this sign-in; its outcome is
        // the browser's, so this one leaves the session alone.
        return Err(AppError::bad_request(
            "This sign-in answer has already been used.",
        ));
    }
    complete(state, session, device, provider, params, pending).await
}

/// Whether the answer belongs to this browser's pending sign-in.
fn check_binding(
    pending: &PendingSignIn,
    provider_name: &str,
    params: &CallbackParams,
) -> Result<(), AppError> {
    if pending.provider != provider_name {
        return Err(AppError::bad_request(
            "The answer came from a different provider than the one you chose.",
        ));
    }
    let (received, mismatch) = pending.proof.answered_binding(params);
    if !matches_pending(pending.proof.binding(), received) {
        return Err(AppError::bad_request(format!(
            "The sign-in answer does not belong to this browser ({mismatch})."
        )));
    }
    Ok(())
}

/// The rest of a claimed sign-in: the protocol's own steps (the provider's verdict, the
/// code or verifier exchange, the profile), then the user, or the link.
async fn complete(
    state: &AppState,
    session: &Session,
    device: Device,
    provider: &ProviderConfig,
    params: &CallbackParams,
    pending: PendingSignIn,
) -> Result<String, AppError> {
    let provider_name = provider.name.as_str();
    let redirect_uri = state.config.redirect_uri(provider_name);
    let began = Instant::now();
    let finished =
        protocol::finish(&state.http, provider, &redirect_uri, &pending.proof, params).await;
    metrics::provider_called(
        provider_name,
        "callback",
        provider_call(&finished),
        began.elapsed(),
    );
    let (profile, tokens) = finished?;
    let issuer = protocol::identity_issuer(provider);
    if let Intent::Link { user_id } = pending.intent {
        return link(
            state, session, &device, provider, &issuer, user_id, &profile, &tokens,
        )
        .await;
    }

    // The session's id is cycled below; its old record goes in the sign-in's transaction.
    let replaced_session = session.id().map(|id| storage_key(&id));
    let attempt = users::SignInAttempt {
        provider: provider_name,
        issuer: &issuer,
        profile: &profile,
        tokens: &tokens,
        token_keys: &state.token_keys,
        replaced_session: replaced_session.as_deref(),
        network: device.network.as_deref(),
        link_by_verified_email: state.config.link_by_verified_email,
    };
    let outcome = users::sign_in_identity(&state.db, &attempt)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, provider = provider_name, "could not save the sign-in");
            AppError::from_db(&err)
        })?;
    let user_id = match outcome {
        SignInOutcome::SignedIn { user_id } => user_id,
        SignInOutcome::AddressTaken { last_provider } => {
            tracing::info!(
                provider = provider_name,
                "sign-in refused: its verified address has an account"
            );
            let last = state
                .config
                .provider_label(&last_provider)
                .unwrap_or(last_provider);
            return Err(AppError::conflict(format!(
                "An account with this email address already exists. You signed in with {last} \
                 last time: sign in with {last}, then link {} from your account page.",
                provider.label
            )));
        }
    };
    auth_session::sign_in(
        session,
        user_id,
        pending.remember,
        device,
        OldRecord::AlreadyDeleted,
    )
    .await?;
    tracing::info!(provider = provider_name, user_id, "signed in");
    Ok(pending.next)
}

/// Adds the identity to the user who started the link, if this browser is still signed in
/// as them: a link finished in a browser signed out or signed in as someone else (a
/// forced or stale link) changes nothing. Returns the account page with its notice.
#[allow(clippy::too_many_arguments)]
async fn link(
    state: &AppState,
    session: &Session,
    device: &Device,
    provider: &ProviderConfig,
    issuer: &str,
    user_id: i32,
    profile: &Profile,
    tokens: &users::ProviderTokens,
) -> Result<String, AppError> {
    let signed_in = auth_user::from_session(session).await?;
    if signed_in.map(|user| user.id) != Some(user_id) {
        tracing::warn!(
            provider = provider.name,
            "link refused: the browser is no longer signed in as its user"
        );
        return Err(AppError::bad_request(
            "You were signed out, or signed in as someone else, while linking. Nothing was \
             changed: sign in and link again from your account page.",
        ));
    }
    let outcome = accounts::link_identity(
        &state.db,
        user_id,
        &provider.name,
        issuer,
        profile,
        tokens,
        &state.token_keys,
        device.network.as_deref(),
    )
    .await
    .map_err(|err| {
        tracing::error!(error = %err, provider = provider.name, "could not save the link");
        AppError::from_db(&err)
    })?;
    let notice = match outcome {
        LinkOutcome::Linked => Notice::Linked,
        LinkOutcome::AlreadyLinked => Notice::AlreadyLinked,
        LinkOutcome::BelongsToAnother => {
            tracing::info!(
                provider = provider.name,
                user_id,
                "link refused: another account's identity"
            );
            return Err(AppError::conflict(format!(
                "This {} account already signs in to another account here, so it was not \
                 linked to yours.",
                provider.label
            )));
        }
    };
    tracing::info!(provider = provider.name, user_id, ?outcome, "linked");
    Ok(notice.url(Some(&provider.name)))
}

fn too_slow() -> AppError {
    AppError::bad_request("The sign-in took too long. Please start again.")
}

/// Refuses an answer with an oversized or NUL-laden parameter before it is matched to the
/// pending sign-in (so a malformed answer cannot use it up).
fn check_param_sizes(params: &CallbackParams) -> Result<(), AppError> {
    // Every parameter, whichever protocol: each is read (or shown in a message) somewhere.
    // Named one by one, so that a parameter added to `CallbackParams` must be added here.
    let CallbackParams {
        code,
        state,
        error,
        iss,
        user,
        oauth_token,
        oauth_verifier,
        denied,
    } = params;
    let bad = [
        code,
        state,
        error,
        iss,
        user,
        oauth_token,
        oauth_verifier,
        denied,
    ]
    .into_iter()
    .filter_map(|v| v.as_deref())
    .any(|v| v.len() > MAX_PARAM_LEN || v.contains('\0'));
    if bad {
        return Err(AppError::bad_request("The sign-in answer was malformed."));
    }
    Ok(())
}

/// The callback's value against the one the pending sign-in kept; absent never matches.
fn matches_pending(expected: &str, received: Option<&str>) -> bool {
    received.is_some_and(|received| constant_time_eq(expected, received))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_must_match_exactly() {
        assert!(matches_pending("abc", Some("abc")));
        assert!(!matches_pending("abc", Some("abd")));
        assert!(!matches_pending("abc", Some("")));
        assert!(!matches_pending("abc", None));
    }

    #[test]
    fn oversized_or_nul_parameters_are_refused() {
        let ok = CallbackParams {
            code: Some("c".into()),
            state: Some("s".into()),
            ..Default::default()
        };
        assert!(check_param_sizes(&ok).is_ok());
        let big = CallbackParams {
            code: Some("c".repeat(MAX_PARAM_LEN + 1)),
            ..Default::default()
        };
        assert_eq!(check_param_sizes(&big).unwrap_err().status(), 400);
        let nul = CallbackParams {
            state: Some("a\0b".into()),
            ..Default::default()
        };
        assert_eq!(check_param_sizes(&nul).unwrap_err().status(), 400);
        let oauth1 = [
            CallbackParams {
                oauth_token: Some("t".repeat(MAX_PARAM_LEN + 1)),
                ..Default::default()
            },
            CallbackParams {
                oauth_verifier: Some("v".repeat(MAX_PARAM_LEN + 1)),
                ..Default::default()
            },
            CallbackParams {
                denied: Some("d\0".into()),
                ..Default::default()
            },
        ];
        for params in oauth1 {
            assert_eq!(check_param_sizes(&params).unwrap_err().status(), 400);
        }
    }

    /// `iss` is compared with the issuer's identifier (RFC 9207): checked like the rest.
    #[test]
    fn oversized_or_nul_iss_is_refused() {
        let at_limit = CallbackParams {
            iss: Some("i".repeat(MAX_PARAM_LEN)),
            ..Default::default()
        };
        assert!(check_param_sizes(&at_limit).is_ok());
        for iss in ["i".repeat(MAX_PARAM_LEN + 1), "https://id.example\0".into()] {
            let params = CallbackParams {
                code: Some("c".into()),
                state: Some("s".into()),
                iss: Some(iss),
                ..Default::default()
            };
            assert_eq!(check_param_sizes(&params).unwrap_err().status(), 400);
        }
    }
}
