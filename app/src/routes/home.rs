use leptos::prelude::*;

use crate::api::page_flash;
use crate::components::{
    flash::FlashMessage, sign_in_card::SignInCard, user_session::UserSession,
    welcome_card::WelcomeCard,
};

/// Signed out: the sign-in card. Signed in: "Hi, <nickname>!". Either way, the message a
/// failed sign-in left.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = UserSession::get();
    let flash = Resource::new(|| (), |_| page_flash());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                flash.await.ok().flatten().map(|flash| view! { <FlashMessage flash/> })
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.user.await {
                    Ok(Some(user)) => view! { <WelcomeCard user/> }.into_any(),
                    Ok(None) => view! { <SignInCard/> }.into_any(),
                    Err(err) => view! {
                        <p class="flash flash-error" role="alert">{err.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}
