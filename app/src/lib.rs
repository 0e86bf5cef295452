//! social-signin: sign in with social accounts. Rendered on the server (`ssr`) and
//! hydrated in the browser (`hydrate`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod models;
pub mod routes;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use components::{header::Header, sign_in_options::SignInOptions, user_session::UserSession};
use routes::{
    account::AccountPage,
    account_delete::{AccountDeletedPage, DeleteAccountPage},
    home::HomePage,
    not_found::NotFound,
};

/// The HTML document around the app (rendered on the server only).
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use backend::bundle::{self, Bundle};
    use leptos_meta::MetaTags;
    let Bundle {
        stylesheet,
        js,
        wasm,
    } = bundle::get();
    // The page's Content-Security-Policy names this response's script nonce, which the
    // hydration script carries.
    let nonce = leptos::nonce::use_nonce();
    if let (Some(nonce), Some(response), Some(state)) = (
        nonce.as_ref(),
        use_context::<leptos_axum::ResponseOptions>(),
        use_context::<backend::state::AppState>(),
    ) {
        let csp = backend::csp::page_csp(&nonce.to_string(), &state.form_action());
        if let Ok(value) = http::HeaderValue::from_str(&csp) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // The bundle's file names carry a content hash (hash-files).
                <link rel="stylesheet" id="leptos" href=stylesheet.as_str()/>
                <link rel="modulepreload" href=js.as_str()/>
                <link rel="preload" href=wasm.as_str() r#as="fetch" r#type="application/wasm" crossorigin=""/>
                <script type="module" nonce=nonce>{bundle::hydration_script()}</script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    UserSession::provide();
    SignInOptions::provide();

    // "false" in the server's HTML; set once the WASM has taken over, so tests (and
    // people reading the DOM) can tell a hydrated page from a plain one.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    // Pages that read the session render fully before the response starts (`Async`), so
    // they work without JavaScript and session cookies are set on time.
    view! {
        <Title text="Social Sign-in"/>
        <Link rel="icon" href="data:,"/>
        <div id="app-root" data-hydrated=move || hydrated.get().to_string()>
            <Router>
                <Header/>
                <main class="page">
                    <Routes fallback=NotFound>
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                        <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                        <Route path=path!("/account/delete") view=DeleteAccountPage ssr=SsrMode::Async/>
                        <Route path=path!("/account/deleted") view=AccountDeletedPage/>
                        // The sign-in routes answer with this page when they fail, so the
                        // browser's router must know them too.
                        <Route path=path!("/authorize/:provider") view=HomePage ssr=SsrMode::Async/>
                        <Route path=path!("/callback/:provider") view=HomePage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            </Router>
        </div>
    }
}
