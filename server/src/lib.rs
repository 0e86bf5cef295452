//! The axum application, as a function of its state so tests can run it on any port.

pub mod assets;
pub mod backup;
pub mod demo_provider;
pub mod leptos_context;
pub mod metrics;
pub mod operator;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod security;
pub mod sessions;
pub mod shutdown;
pub mod site;
pub mod telemetry;

use std::sync::OnceLock;

use app::backend::{config::Config, db, provider_tokens, state::AppState};
use app::{shell, App};
use axum::{routing::get, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};

const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, sea_orm::DbErr> {
    let db = db::connect_and_migrate(config.database_url.expose(), config.database_tuning).await?;
    // Identities from before accounts learn who vouches for them from the configuration.
    let issuers = app::backend::oauth::protocol::identity_issuers(&config);
    db::identities::adopt_issuers(&db, &issuers).await?;
    let token_keys = provider_tokens::keys_for(&config).map_err(sea_orm::DbErr::Custom)?;
    // Tokens that earlier versions kept in plain text are sealed now; those of providers
    // that no longer keep any are forgotten.
    db::provider_tokens::seal_plain_tokens(&db, &token_keys).await?;
    let keeping: Vec<String> = config
        .providers
        .iter()
        .filter(|provider| provider.keeps_tokens())
        .map(|provider| provider.name.clone())
        .collect();
    db::provider_tokens::forget_unkept(&db, &keeping).await?;
    Ok(AppState::new(leptos_options, db, config, token_keys))
}

pub fn app(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    app::backend::bundle::init(&leptos_options);
    let page_routes = page_routes();

    let sign_in_routes = Router::new()
        .route("/authorize/{provider}", get(routes::sign_in::authorize))
        .route(
            "/callback/{provider}",
            get(routes::sign_in::callback).post(routes::sign_in::form_post_callback),
        )
        .route_layer(axum::middleware::from_fn(security::refuse_embedded_sign_in));
    let sign_in_routes = rate_limit::per_client(sign_in_routes, &state.config);

    let mut router = Router::new()
        .merge(sign_in_routes)
        .route("/api/me", get(routes::me::me))
        .route("/healthz", get(routes::health::healthz))
        .nest_service(
            &format!("/{}", leptos_options.site_pkg_dir),
            assets::pkg_router::<()>(&leptos_options),
        )
        .leptos_routes_with_context(&state, page_routes, leptos::nonce::provide_nonce, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(leptos::nonce::provide_nonce, shell));
    if let Some(demo) = &state.config.demo_provider {
        router = router.nest("/demo-provider", demo_provider::router(demo, &state.config));
    }
    let cross_site = security::CrossSitePolicy {
        origin: state.config.origin(),
        form_post_callbacks: state
            .config
            .providers
            .iter()
            .filter(|provider| app::backend::oauth::protocol::answers_by_form_post(provider))
            .map(|provider| format!("/callback/{}", provider.name))
            .collect(),
    };
    let trusted_proxies: std::sync::Arc<[ipnet::IpNet]> =
        state.config.trusted_proxies.clone().into();
    router
        // Nothing here takes large bodies: forms and server-function arguments are small.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            rate_limit::AccountWrites::new(&state.config),
            rate_limit::limit_account_writes,
        ))
        .layer(axum::middleware::from_fn(sessions::keep_cookie_expiry))
        .layer(axum::middleware::from_fn(security::hide_sign_in_server_fns))
        .layer(sessions::layer(&state))
        .layer(axum::middleware::from_fn_with_state(
            cross_site,
            security::reject_cross_site,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.is_https(),
            security::security_headers,
        ))
        // Outermost: every line logged while serving a request carries its id.
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxies,
            request_id::tag,
        ))
        .with_state(state)
}

/// The pages the Leptos router serves, generated once per process.
///
/// Generating them sets a process-wide flag in `leptos_server`
/// (`SuppressResourceLoad`) under which every resource that starts loading meanwhile, in
/// any app of the process, waits forever. Building a second router while a first one
/// served pages (as the tests do, with many apps in one process) stalled those renders
/// with every thread idle.
fn page_routes() -> Vec<AxumRouteListing> {
    static PAGE_ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    PAGE_ROUTES
        .get_or_init(|| {
            // The sign-in routes are served by our own handlers; the Leptos router only
            // knows them so that their error pages hydrate.
            generate_route_list(App)
                .into_iter()
                .filter(|route| !routes::sign_in::is_sign_in_path(route.path()))
                .collect()
        })
        .clone()
}
