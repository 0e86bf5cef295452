use leptos::prelude::*;

use super::provider_mark::ProviderMark;
use super::sign_in_options::SignInOptions;

/// One GET form, one submit button per provider (`formaction=/authorize/{provider}`), so
/// the remember-me checkbox rides along as `?remember=on` with or without JavaScript.
#[component]
pub fn SignInCard() -> impl IntoView {
    let options = SignInOptions::get();
    // Sent here from a page that needs a sign-in (`/?next=/account`): back there after.
    let next = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("next");
    let form = if options.is_empty() {
        view! {
            <p class="flash flash-error" role="alert">
                "No sign-in provider is configured."
            </p>
        }
        .into_any()
    } else {
        let default_action = format!("/authorize/{}", options[0].provider);
        view! {
            <form method="get" action=default_action class="sign-in-form">
                {next.map(|next| view! { <input type="hidden" name="next" value=next/> })}
                <div class="provider-buttons">
                    {options
                        .into_iter()
                        .map(|option| {
                            view! {
                                <button
                                    type="submit"
                                    formaction=format!("/authorize/{}", option.provider)
                                    class=format!("btn btn-provider btn-{}", option.provider)
                                >
                                    <ProviderMark provider=option.provider.clone()/>
                                    {format!("Sign in with {}", option.label)}
                                    {(!option.available)
                                        .then(|| {
                                            view! {
                                                <span class="provider-unavailable">
                                                    " (temporarily unavailable)"
                                                </span>
                                            }
                                        })}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                <label class="remember">
                    <input type="checkbox" name="remember" value="on" checked/>
                    " Keep me signed in"
                </label>
            </form>
        }
        .into_any()
    };
    view! {
        <section class="card sign-in-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <p class="muted">"Use an account you already have. We create yours on first sign-in."</p>
            {form}
        </section>
    }
}
