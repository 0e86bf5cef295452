use leptos::prelude::*;
use leptos_router::components::A;

use super::{avatar::Avatar, user_session::UserSession};
use leptos::server_fn::ServerFn;

use crate::api::Logout;

#[component]
pub fn Header() -> impl IntoView {
    let session = UserSession::get();
    // Signed out by the menu's client-side action: to the start page, as the plain form
    // does without JavaScript (a page showing the account would be stale).
    let navigate = leptos_router::hooks::use_navigate();
    let logout = session.logout;
    Effect::new(move |_| {
        if logout.version().get() > 0 {
            navigate("/", Default::default());
        }
    });
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">"Social Sign-in"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(user)) => view! {
                            // A disclosure: opens with Enter or Space on its summary, with
                            // or without JavaScript.
                            <details class="user-menu">
                                <summary class="user-menu-toggle" aria-label="Account menu">
                                <Avatar user=user.clone()/>
                                <span class="user-menu-name">{user.nickname.clone()}</span>
                                {user
                                    .is_self_asserted()
                                    .then(|| {
                                        view! {
                                            <span
                                                class="badge badge-demo"
                                                title="Self-asserted: typed in at the demo provider, not checked"
                                            >
                                                "demo"
                                            </span>
                                        }
                                    })}
                                </summary>
                                <div class="user-menu-items">
                                    <a href="/account" class="user-menu-item">"Account"</a>
                                    <LogoutButton action=session.logout/>
                                </div>
                            </details>
                        }
                        .into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}

/// A real form posting to `/logout`: a page navigation without JavaScript, a fetch with it.
/// A plain form rather than `ActionForm`, which would parse the (empty) form data into the
/// arguments with `serde_qs` in the browser: ~10 KB of WebAssembly for nothing.
#[component]
fn LogoutButton(action: ServerAction<Logout>) -> impl IntoView {
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        action.dispatch(Logout {});
    };
    view! {
        <form method="post" action=Logout::PATH class="logout-form" on:submit=submit>
            <button type="submit" class="btn btn-secondary user-menu-item">"Sign out"</button>
        </form>
    }
}
