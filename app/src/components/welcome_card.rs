use leptos::prelude::*;

use super::avatar::Avatar;
use crate::models::CurrentUser;

#[component]
pub fn WelcomeCard(user: CurrentUser) -> impl IntoView {
    view! {
        <section class="card welcome-card">
            <Avatar user=user.clone() large=true/>
            <h1>{format!("Hi, {}!", user.nickname)}</h1>
            {user.email.clone().map(|email| view! { <p class="muted">{email}</p> })}
            {user
                .is_self_asserted()
                .then(|| {
                    view! {
                        <p class="flash flash-info self-asserted">
                            "Demo sign-in: this name and email were typed in at the demo provider. Nobody has checked them."
                        </p>
                    }
                })}
            <p class="muted">"Signed in with:"</p>
            <ul class="identities">
                {user
                    .identities
                    .iter()
                    .map(|identity| {
                        view! {
                            <li>
                                <span class=format!("badge badge-{}", identity.provider)>
                                    {identity.label.clone()}
                                </span>
                                " "
                                {identity.describe()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p><a href="/account">"Manage your account"</a></p>
        </section>
    }
}
