//! `/account`: profile, sign-in methods, where you're signed in, recent activity, and the
//! way to delete the account. Rendered fully on the server (`SsrMode::Async`); every action
//! is a plain form posting to a server function, so it all works without JavaScript.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::{components::Redirect, hooks::use_query_map};

use crate::api::account::{
    get_account, CreateApiToken, RefreshProfile, RevokeApiToken, SetNickname, SetPrimaryEmail,
    SignOutOthers, SignOutSession, StartLink, Unlink,
};
use crate::components::{
    avatar::Avatar, flash::FlashMessage, provider_mark::ProviderMark,
    sign_in_options::SignInOptions,
};
use crate::models::{
    AccountView, ApiTokenView, EmailStatus, KeptTokensView, LinkedIdentity, NewApiToken, Notice,
    TokenLifetime, SIGN_IN_AND_BACK,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    view! { <SignedInAccount render=|account| view! { <Account account/> }.into_any()/> }
}

/// Loads the signed-in person's account and renders it with `render`; a signed-out visitor
/// is sent to sign in and back.
#[component]
pub fn SignedInAccount(render: fn(AccountView) -> AnyView) -> impl IntoView {
    let account = Resource::new_serde_wb(|| (), |_| get_account());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Some(account)) => render(account),
                    Ok(None) => view! { <Redirect path=SIGN_IN_AND_BACK/> }.into_any(),
                    Err(err) => view! {
                        <p class="flash flash-error" role="alert">{err.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// The notice an action sent the browser here with (`?notice=…&provider=…`).
fn notice_flash() -> Option<crate::models::Flash> {
    let query = use_query_map().get_untracked();
    let notice = Notice::from_code(&query.get("notice")?)?;
    let label = query.get("provider").and_then(|name| {
        SignInOptions::get()
            .into_iter()
            .find(|option| option.provider == name)
            .map(|option| option.label)
    });
    Some(notice.flash(label.as_deref()))
}

#[component]
fn Account(account: AccountView) -> impl IntoView {
    let flash = notice_flash();
    let AccountView {
        user,
        linkable,
        verified_emails,
        sessions,
        events,
        api_tokens,
        new_api_token,
        kept_tokens,
        ..
    } = account;
    let primary = user.email.clone();
    let can_unlink = user.identities.len() > 1;
    view! {
        <h1 class="page-title">"Your account"</h1>
        {flash.map(|flash| view! { <FlashMessage flash/> })}
        <section class="card account-section" aria-labelledby="profile-title">
            <h2 id="profile-title">"Profile"</h2>
            <div class="profile">
                <Avatar user=user.clone() large=true/>
                <form method="post" action=SetNickname::PATH class="nickname-form">
                    <label for="nickname">"Nickname"</label>
                    <input
                        id="nickname"
                        name="nickname"
                        type="text"
                        value=user.nickname.clone()
                        maxlength="64"
                        required
                        autocomplete="nickname"
                    />
                    <button type="submit" class="btn btn-secondary">"Save"</button>
                </form>
            </div>
            {if verified_emails.is_empty() {
                view! {
                    <p class="primary-email muted">
                        "No verified email address yet: link a provider that verifies yours."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <form method="post" action=SetPrimaryEmail::PATH class="primary-email">
                        <label for="primary-email">"Primary email"</label>
                        <select id="primary-email" name="email">
                            {verified_emails
                                .into_iter()
                                .map(|email| {
                                    let selected = primary.as_deref() == Some(email.as_str());
                                    view! { <option value=email.clone() selected=selected>{email.clone()}</option> }
                                })
                                .collect_view()}
                        </select>
                        <button type="submit" class="btn btn-secondary">"Make primary"</button>
                    </form>
                }
                .into_any()
            }}
        </section>

        <section class="card account-section" aria-labelledby="methods-title">
            <h2 id="methods-title">"Sign-in methods"</h2>
            <ul class="methods">
                {user
                    .identities
                    .into_iter()
                    .map(|identity| {
                        let kept = kept_tokens
                            .iter()
                            .find(|kept| kept.identity_id == identity.id)
                            .copied();
                        view! { <Method identity can_unlink kept/> }
                    })
                    .collect_view()}
            </ul>
            {(!linkable.is_empty())
                .then(|| {
                    view! {
                        <div class="link-buttons">
                            {linkable
                                .into_iter()
                                .map(|option| {
                                    view! {
                                        <form method="post" action=StartLink::PATH>
                                            <input type="hidden" name="provider" value=option.provider.clone()/>
                                            <button type="submit" class=format!("btn btn-provider btn-{}", option.provider)>
                                                <ProviderMark provider=option.provider.clone()/>
                                                {format!("Link {}", option.label)}
                                            </button>
                                        </form>
                                    }
                                })
                                .collect_view()}
                        </div>
                    }
                })}
        </section>

        <section class="card account-section" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Where you're signed in"</h2>
            <ul class="sessions">
                {sessions
                    .into_iter()
                    .map(|session| {
                        view! {
                            <li class="session" data-this-device=session.this_device.to_string()>
                                <div>
                                    <strong>{session.device.clone()}</strong>
                                    {session.this_device.then(|| view! { <span class="badge badge-this">"This device"</span> })}
                                    <div class="muted">
                                        {session.network.clone().map(|network| format!("{network} · "))}
                                        {format!("Signed in {} · Last active {}", session.signed_in, session.last_active)}
                                    </div>
                                </div>
                                <form method="post" action=SignOutSession::PATH>
                                    <input type="hidden" name="session" value=session.handle.clone()/>
                                    <button type="submit" class="btn btn-secondary">"Sign out"</button>
                                </form>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <form method="post" action=SignOutOthers::PATH>
                <button type="submit" class="btn btn-secondary">"Sign out everywhere else"</button>
            </form>
        </section>

        <section class="card account-section" aria-labelledby="activity-title">
            <h2 id="activity-title">"Recent activity"</h2>
            <ul class="activity">
                {events
                    .into_iter()
                    .map(|event| {
                        view! {
                            <li>
                                <span>{event.text}</span>
                                <span class="muted">
                                    {format!(" · {}", event.at)}
                                    {event.network.map(|network| format!(" · {network}"))}
                                </span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>

        <ApiTokens tokens=api_tokens new_token=new_api_token/>

        <section class="card account-section danger" aria-labelledby="delete-title">
            <h2 id="delete-title">"Delete account"</h2>
            <p class="muted">"Removes your account, its sign-in methods and every session, on every device."</p>
            <a href="/account/delete" class="btn btn-danger">"Delete account…"</a>
        </section>
    }
}

#[component]
fn Method(
    identity: LinkedIdentity,
    can_unlink: bool,
    kept: Option<KeptTokensView>,
) -> impl IntoView {
    let status = match identity.email_status {
        EmailStatus::Verified => "verified",
        EmailStatus::Unverified => "not verified",
        EmailStatus::SelfAsserted => "typed in, not checked",
    };
    let linked = crate::models::format_unix_date(identity.linked_at);
    let used = identity
        .last_used_at
        .map(crate::models::format_unix_date)
        .unwrap_or_else(|| "never".into());
    view! {
        <li class="method" data-provider=identity.provider.clone()>
            <ProviderMark provider=identity.provider.clone()/>
            <div class="method-text">
                <strong>{identity.describe()}</strong>
                {identity.email.clone().map(|email| view! {
                    <div class="muted">{format!("{email} ({status})")}</div>
                })}
                <div class="muted">{format!("Linked {linked} · Last used {used}")}</div>
                {kept
                    .filter(|kept| kept.needs_reconnection)
                    .map(|_| view! {
                        <div class="muted">
                            {format!("{} no longer accepts this site's access.", identity.label)}
                        </div>
                    })}
            </div>
            {kept.map(|kept| {
                if kept.needs_reconnection {
                    view! {
                        <form method="post" action=StartLink::PATH>
                            <input type="hidden" name="provider" value=identity.provider.clone()/>
                            <button type="submit" class="btn btn-secondary">
                                {format!("Reconnect {}", identity.label)}
                            </button>
                        </form>
                    }
                    .into_any()
                } else {
                    view! {
                        <form method="post" action=RefreshProfile::PATH>
                            <input type="hidden" name="identity" value=identity.id.to_string()/>
                            <button type="submit" class="btn btn-secondary">
                                {format!("Refresh from {}", identity.label)}
                            </button>
                        </form>
                    }
                    .into_any()
                }
            })}
            {can_unlink.then(|| view! {
                <form method="post" action=Unlink::PATH>
                    <input type="hidden" name="identity" value=identity.id.to_string()/>
                    <button type="submit" class="btn btn-secondary" aria-label=format!("Unlink {}", identity.label)>
                        "Unlink"
                    </button>
                </form>
            })}
        </li>
    }
}

/// Personal API tokens: the one just made (shown once), the list, and the form to make one.
#[component]
fn ApiTokens(tokens: Vec<ApiTokenView>, new_token: Option<NewApiToken>) -> impl IntoView {
    view! {
        <section id="api-tokens" class="card account-section" aria-labelledby="api-tokens-title">
            <h2 id="api-tokens-title">"API tokens"</h2>
            <p class="muted">
                "A token lets a script read your account as you, with "
                <code>"Authorization: Bearer <token>"</code>
                " (for example on "<code>"/api/me"</code>"). It cannot change anything."
            </p>
            {new_token.map(|new_token| view! {
                <div class="new-token" role="status">
                    <label for="new-token-value">{format!("Your new token “{}”", new_token.name)}</label>
                    <input
                        id="new-token-value"
                        type="text"
                        readonly
                        value=new_token.token
                        autocomplete="off"
                        spellcheck="false"
                    />
                    <p class="muted">"Copy it now: it is not stored here and will not be shown again."</p>
                </div>
            })}
            {(!tokens.is_empty()).then(|| view! {
                <ul class="api-tokens">
                    {tokens.into_iter().map(|token| view! { <ApiToken token/> }).collect_view()}
                </ul>
            })}
            <form method="post" action=CreateApiToken::PATH class="api-token-form">
                <label for="api-token-name">"Name"</label>
                <input id="api-token-name" name="name" type="text" maxlength="64" required placeholder="backup script"/>
                <label for="api-token-lifetime">"Expires"</label>
                <select id="api-token-lifetime" name="lifetime">
                    {TokenLifetime::CHOICES
                        .into_iter()
                        .map(|(value, label)| view! { <option value=value>{label}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="btn btn-secondary">"Make token"</button>
            </form>
        </section>
    }
}

#[component]
fn ApiToken(token: ApiTokenView) -> impl IntoView {
    let expiry = if token.expired {
        format!("Expired {}", token.expires)
    } else if token.expires == "never" {
        "Never expires".to_owned()
    } else {
        format!("Expires {}", token.expires)
    };
    view! {
        <li class="api-token" data-expired=token.expired.to_string()>
            <div>
                <strong>{token.name.clone()}</strong>
                " "<code>{token.hint}</code>
                {token.expired.then(|| view! { <span class="badge badge-expired">"Expired"</span> })}
                <div class="muted">
                    {format!("Made {} · Last used {} · {expiry}", token.created, token.last_used)}
                </div>
            </div>
            <form method="post" action=RevokeApiToken::PATH>
                <input type="hidden" name="token" value=token.id.to_string()/>
                <button type="submit" class="btn btn-secondary" aria-label=format!("Revoke {}", token.name)>
                    "Revoke"
                </button>
            </form>
        </li>
    }
}
