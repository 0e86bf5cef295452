use leptos::prelude::*;

use crate::components::{
    flash::FlashMessage, sign_in_card::SignInCard, user_session::UserSession,
    welcome_card::WelcomeCard,
};
use crate::models::Flash;

/// Signed out: the sign-in card. Signed in: "Hi, <nickname>!". Either way, the message a
/// failed sign-in left.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = UserSession::get();
    // Plain data rather than a resource: no Suspense to walk on every page (~10% of a
    // signed-in page's CPU).
    let flash = SharedValue::new_serde_wb(page_flash).into_inner();
    view! {
        {flash.map(|flash| view! { <FlashMessage flash/> })}
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

/// The message a sign-in route rendered this page with, if any. It exists only during that
/// server render; the browser receives it with the hydration data (`SharedValue`), and a
/// page the browser renders itself has none.
fn page_flash() -> Option<Flash> {
    #[cfg(feature = "ssr")]
    return use_context::<crate::backend::context::PageFlash>().map(|flash| flash.0);
    #[cfg(not(feature = "ssr"))]
    None
}
