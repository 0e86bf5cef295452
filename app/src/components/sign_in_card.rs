use leptos::prelude::*;

use crate::api::sign_in_options;

/// One GET form, one submit button per provider (`formaction=/authorize/{provider}`), so
/// the remember-me checkbox rides along as `?remember=on` with or without JavaScript.
#[component]
pub fn SignInCard() -> impl IntoView {
    let options = Resource::new(|| (), |_| sign_in_options());
    view! {
        <section class="card sign-in-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <p class="muted">"Use an account you already have. We create yours on first sign-in."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let options = options.await.unwrap_or_default();
                    if options.is_empty() {
                        return view! {
                            <p class="flash flash-error" role="alert">
                                "No sign-in provider is configured."
                            </p>
                        }
                        .into_any();
                    }
                    let default_action = format!("/authorize/{}", options[0].provider);
                    view! {
                        <form method="get" action=default_action class="sign-in-form">
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
                                                <span class="provider-mark" aria-hidden="true">
                                                    {option.label.chars().next().unwrap_or('?').to_string()}
                                                </span>
                                                {format!("Sign in with {}", option.label)}
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
                })}
            </Suspense>
        </section>
    }
}
