use leptos::prelude::*;

use crate::models::SignInOption;

/// The configured providers, in button order. They are fixed for the life of the server, so
/// they travel once with the page's hydration data (a `SharedValue`, read when the app
/// starts) instead of being fetched by a resource in every sign-in card: on the server
/// Leptos builds a Suspense's children more than once, and each build made a new resource.
#[derive(Clone)]
pub struct SignInOptions(pub Vec<SignInOption>);

impl SignInOptions {
    pub fn provide() {
        provide_context(SignInOptions(
            SharedValue::new_serde_wb(configured).into_inner(),
        ));
    }

    pub fn get() -> Vec<SignInOption> {
        expect_context::<SignInOptions>().0
    }
}

#[cfg(feature = "ssr")]
fn configured() -> Vec<SignInOption> {
    // Absent only while leptos_axum lists the app's routes at start-up, rendering nothing.
    let Some(state) = use_context::<crate::backend::state::AppState>() else {
        return Vec::new();
    };
    state
        .config
        .providers
        .iter()
        .map(|p| SignInOption {
            provider: p.name.clone(),
            label: p.label.clone(),
            available: crate::backend::oauth::protocol::is_available(p),
        })
        .collect()
}

/// In the browser the options come from the hydration data; the app never starts there
/// without it.
#[cfg(not(feature = "ssr"))]
fn configured() -> Vec<SignInOption> {
    Vec::new()
}
