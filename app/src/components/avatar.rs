use leptos::prelude::*;

use crate::models::CurrentUser;

/// The provider's picture (https only), or the nickname's initial in a circle.
#[component]
pub fn Avatar(user: CurrentUser, #[prop(optional)] large: bool) -> impl IntoView {
    let class = if large {
        "avatar avatar-large"
    } else {
        "avatar"
    };
    // Sign-in keeps only https pictures; rows stored before that rule may hold others.
    match user
        .avatar_url
        .clone()
        .filter(|url| url.starts_with("https://"))
    {
        Some(url) => view! {
            <img class=class src=url alt="" referrerpolicy="no-referrer"/>
        }
        .into_any(),
        None => view! {
            <span class=format!("{class} avatar-initial") aria-hidden="true">
                {user.initial()}
            </span>
        }
        .into_any(),
    }
}
