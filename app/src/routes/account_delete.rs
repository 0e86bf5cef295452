//! `/account/delete`: the confirmation step. Deleting needs a sign-in within the last ten
//! minutes; otherwise the page offers to sign in again with any linked method first.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use super::account::SignedInAccount;
use crate::api::account::DeleteAccount;
use crate::components::flash::FlashMessage;
use crate::models::{AccountView, Notice};

#[component]
pub fn DeleteAccountPage() -> impl IntoView {
    view! { <SignedInAccount render=|account| view! { <Confirm account/> }.into_any()/> }
}

#[component]
fn Confirm(account: AccountView) -> impl IntoView {
    let notice = use_query_map()
        .get_untracked()
        .get("notice")
        .and_then(|code| Notice::from_code(&code))
        .map(|notice| notice.flash(None));
    let action = if account.signed_in_recently {
        view! {
            <form method="post" action=DeleteAccount::PATH>
                <button type="submit" class="btn btn-danger">"Delete my account"</button>
            </form>
        }
        .into_any()
    } else {
        // A GET sign-in with any linked method, back to this page.
        let methods = account.user.identities;
        view! {
            <p>"It has been more than ten minutes since you signed in. Sign in again to confirm it is you:"</p>
            <form method="get" action="/authorize" class="sign-in-again">
                <input type="hidden" name="next" value="/account/delete"/>
                {methods
                    .into_iter()
                    .map(|identity| {
                        view! {
                            <button type="submit" formaction=format!("/authorize/{}", identity.provider) class="btn btn-secondary">
                                {format!("Sign in again with {}", identity.label)}
                            </button>
                        }
                    })
                    .collect_view()}
            </form>
        }
        .into_any()
    };
    view! {
        {notice.map(|flash| view! { <FlashMessage flash/> })}
        <section class="card account-section danger" aria-labelledby="confirm-title">
            <h1 id="confirm-title">"Delete your account?"</h1>
            <p>
                "This removes your account, every sign-in method linked to it and every session on every device. It cannot be undone. Signing in again later makes a new, empty account."
            </p>
            {action}
            <p><a href="/account">"Keep my account"</a></p>
        </section>
    }
}

/// `/account/deleted`: said once the account is gone.
#[component]
pub fn AccountDeletedPage() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="deleted-title">
            <h1 id="deleted-title">"Your account is deleted"</h1>
            <p>"Your account, its sign-in methods and all its sessions are gone."</p>
            <p><a href="/">"Back to the start page"</a></p>
        </section>
    }
}
