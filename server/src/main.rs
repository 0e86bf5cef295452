//! `server`: configuration, database, then the app on `LEPTOS_SITE_ADDR`.

use std::future::IntoFuture;

use app::backend::config::Config;

// glibc's malloc spent ~8% of a signed-in page's CPU waiting for arena locks (memory freed
// on another thread than the one that allocated it, as tasks move between workers).
// Without transparent huge pages (`no_thp`): with them the process kept ~24 MiB of heap
// resident after 10,000 sign-ins instead of ~10.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A missing .env is normal; a broken one is not worth hiding.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("could not read .env: {err}");
            std::process::exit(2);
        }
    }
    match server::telemetry::LogFormat::from_env() {
        Ok(format) => server::telemetry::init(format),
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if server::operator::is_command(&args) {
        // `server users …`, `server sessions …` (README, "Operators").
        return server::operator::run(&args, &config).await;
    }
    if args.first().map(String::as_str) == Some("backup") {
        // A consistent copy of a live SQLite database (README, "Backups").
        let [_, file] = args.as_slice() else {
            eprintln!("usage: server backup <file>");
            return std::process::ExitCode::from(2);
        };
        return server::backup::run(file, &config).await;
    }
    if args.first().map(String::as_str) == Some("doctor") {
        // Checks the set-up without starting the server (README, "Set-up problems").
        let http = app::backend::oauth::protocol::provider_client(&config);
        let report = app::backend::doctor::examine(&config, &http).await;
        print!("{}", report.to_text());
        std::process::exit(if report.has_problems() { 1 } else { 0 });
    }
    let leptos_options = match server::site::options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let addr = leptos_options.site_addr;

    let state = match server::build_state(config, leptos_options).await {
        Ok(state) => state,
        Err(err) => {
            eprintln!("could not open the database (DATABASE_URL): {err}");
            std::process::exit(2);
        }
    };
    server::sessions::spawn_cleanup(&state);
    app::backend::db::wal_checkpoint::spawn(&state.db);
    let public_url = state.config.public_url.clone();
    let (config, http) = (state.config.clone(), state.http.clone());
    let metrics_state = state.clone();
    let app = server::app(state);

    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("cannot listen on {addr} (LEPTOS_SITE_ADDR): {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let stopping = server::shutdown::Stopping::on_signals();
    if let Some(metrics_addr) = config.metrics_addr {
        // Installed before the first request, so that it counts from the start.
        server::metrics::recorder();
        let metrics =
            server::metrics::serve(metrics_addr, metrics_state, stopping.clone().requested());
        tokio::spawn(async move {
            if let Err(err) = metrics.await {
                tracing::error!(%metrics_addr, error = %err, "cannot serve metrics (METRICS_ADDR)");
            }
        });
    }
    // Once listening: the built-in demo provider is an issuer on this very server.
    app::backend::oauth::protocol::discover_issuers_in_background(&config, &http);
    tracing::info!(%addr, %public_url, "listening");
    // The peer address keys the sign-in rate limit.
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stopping.clone().requested());
    server::shutdown::serve_until_drained(serving.into_future(), stopping, config.shutdown_drain)
        .await;
    std::process::ExitCode::SUCCESS
}
