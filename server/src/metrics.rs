//! `GET /metrics` in Prometheus' text format, on a listener of its own (`METRICS_ADDR`),
//! never on the public address. What the app records (`app::backend::metrics`), plus what
//! is read at each scrape: the database pools and each OpenID Connect issuer's discovery.
//! Without `METRICS_ADDR` no recorder is installed and recording costs next to nothing.

use std::{net::SocketAddr, sync::OnceLock};

use app::backend::{
    config::ProtocolSettings, db::Db, metrics as app_metrics, oauth::discovery::DiscoveryPhase,
    state::AppState,
};
use axum::{extract::State, response::IntoResponse, routing::get, Router};
use http::header;
use metrics::{describe_gauge, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Sign-ins take milliseconds; a slow provider, seconds (the provider timeout is 10 s).
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's one recorder (a global, as the `metrics` facade is), installed on first use.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .expect("static, non-empty buckets")
            .install_recorder()
            .expect("the only metrics recorder of the process");
        app_metrics::describe();
        describe_gauge!(
            "db_pool_connections",
            "Database connections by pool and state (in_use, idle, max)"
        );
        describe_gauge!(
            "oidc_discovery_state",
            "1 for the state each OpenID Connect issuer's discovery is in"
        );
        describe_gauge!(
            "oidc_discovery_age_seconds",
            "Age of each issuer's cached discovery document"
        );
        handle
    })
}

/// The metrics router, for the listener on `METRICS_ADDR`.
pub fn router(state: AppState) -> Router {
    recorder();
    Router::new()
        .route("/metrics", get(render))
        .with_state(state)
}

/// Serves `router` on `addr` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics at /metrics");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    sample_pools(&state.db);
    sample_discovery(&state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        recorder().render(),
    )
}

fn sample_pools(db: &Db) {
    let pools: Vec<(&str, u32, usize, u32)> = match db.write.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.write.get_postgres_connection_pool();
            vec![(
                "main",
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )]
        }
        sea_orm::DbBackend::Sqlite => [("write", &db.write), ("read", &db.read)]
            .into_iter()
            .map(|(name, connection)| {
                let pool = connection.get_sqlite_connection_pool();
                (
                    name,
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    for (pool, open, idle, max) in pools {
        let in_use = (open as usize).saturating_sub(idle);
        gauge!("db_pool_connections", "pool" => pool, "state" => "in_use").set(in_use as f64);
        gauge!("db_pool_connections", "pool" => pool, "state" => "idle").set(idle as f64);
        gauge!("db_pool_connections", "pool" => pool, "state" => "max").set(max as f64);
    }
}

fn sample_discovery(state: &AppState) {
    for provider in &state.config.providers {
        let ProtocolSettings::OpenIdConnect(oidc) = &provider.protocol else {
            continue;
        };
        let status = oidc.issuer.status();
        let issuer = oidc.issuer.url().as_str().to_owned();
        for phase in DiscoveryPhase::ALL {
            gauge!("oidc_discovery_state", "issuer" => issuer.clone(), "state" => phase.name())
                .set(if phase == status.phase { 1.0 } else { 0.0 });
        }
        if let Some(age) = status.age {
            gauge!("oidc_discovery_age_seconds", "issuer" => issuer).set(age.as_secs_f64());
        }
    }
}
