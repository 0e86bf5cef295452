use leptos::prelude::*;

use crate::models::{Flash, FlashKind};

/// A dismissible message. Without JavaScript, "Dismiss" is a plain link-like form to `/`.
#[component]
pub fn FlashMessage(flash: Flash) -> impl IntoView {
    let dismissed = RwSignal::new(false);
    let class = match flash.kind {
        FlashKind::Info => "flash flash-info",
        FlashKind::Error => "flash flash-error",
    };
    view! {
        <Show when=move || !dismissed.get()>
            <div class=class role="alert">
                <div class="flash-text">
                    <strong>{flash.title.clone()}</strong>
                    {flash.detail.clone().map(|detail| view! { <span>" " {detail}</span> })}
                </div>
                <form
                    method="get"
                    action="/"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        dismissed.set(true);
                    }
                >
                    <button type="submit" class="flash-dismiss" aria-label="Dismiss message">
                        "×"
                    </button>
                </form>
            </div>
        </Show>
    }
}
