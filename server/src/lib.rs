//! The axum application, as a function of its state so tests can run it on any port.

pub mod demo_provider;
pub mod leptos_context;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod telemetry;

use std::time::Duration;

use app::backend::{config::Config, db, session_store::SeaOrmSessionStore, state::AppState};
use app::{shell, App};
use axum::{routing::get, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::{
    cookie::SameSite, session_store::ExpiredDeletion, Expiry, SessionManagerLayer,
};

/// Anonymous sessions only carry a pending sign-in; they need not outlive it by much.
const ANONYMOUS_SESSION_IDLE: time::Duration = time::Duration::minutes(15);
const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;
const SESSION_CLEANUP_EVERY: Duration = Duration::from_secs(15 * 60);

pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, sea_orm::DbErr> {
    let db = db::connect_and_migrate(config.database_url.expose()).await?;
    Ok(AppState::new(leptos_options, db, config))
}

pub fn app(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    // The sign-in routes are served by our own handlers below; the Leptos router only
    // knows them so that their error pages hydrate.
    let page_routes = generate_route_list(App)
        .into_iter()
        .filter(|route| !routes::sign_in::is_sign_in_path(route.path()))
        .collect();

    let mut sign_in_routes = Router::new()
        .route("/authorize/{provider}", get(routes::sign_in::authorize))
        .route("/callback/{provider}", get(routes::sign_in::callback));
    if let Some(limit) = state.config.sign_in_rate_limit {
        sign_in_routes = rate_limit::limit(sign_in_routes, limit);
    }

    let mut router = Router::new()
        .merge(sign_in_routes)
        .route("/api/me", get(routes::me::me))
        .leptos_routes_with_context(&state, page_routes, leptos::nonce::provide_nonce, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(leptos::nonce::provide_nonce, shell));
    if let Some(demo) = &state.config.demo_provider {
        router = router.nest(
            "/demo-provider",
            demo_provider::router(demo, &state.config.public_url),
        );
    }
    let origin = state.config.origin();
    router
        // Nothing here takes large bodies: forms and server-function arguments are small.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(session_layer(&state))
        .layer(axum::middleware::from_fn_with_state(
            origin,
            security::reject_cross_site,
        ))
        .layer(axum::middleware::from_fn(security::security_headers))
        .with_state(state)
}

fn session_layer(state: &AppState) -> SessionManagerLayer<SeaOrmSessionStore> {
    let https = state.config.is_https();
    SessionManagerLayer::new(SeaOrmSessionStore::new(state.db.clone()))
        // `__Host-` pins the cookie to this exact origin, but browsers accept it only
        // over https.
        .with_name(if https { "__Host-session" } else { "session" })
        .with_secure(https)
        .with_http_only(true)
        // Lax, not Strict: the provider's redirect back to /callback is a cross-site
        // navigation, and with Strict the browser would not send the cookie holding `state`.
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(ANONYMOUS_SESSION_IDLE))
}

/// Deletes expired session records periodically.
pub fn spawn_session_cleanup(state: &AppState) {
    let store = SeaOrmSessionStore::new(state.db.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SESSION_CLEANUP_EVERY);
        loop {
            every.tick().await;
            if let Err(err) = store.delete_expired().await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
        }
    });
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        if let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            sig.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
