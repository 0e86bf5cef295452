//! `server`: configuration, database, then the app on `LEPTOS_SITE_ADDR`.

use app::backend::config::Config;
use leptos::config::get_configuration;

// glibc's malloc spent ~8% of a signed-in page's CPU waiting for arena locks (memory freed
// on another thread than the one that allocated it, as tasks move between workers).
// Without transparent huge pages (`no_thp`): with them the process kept ~24 MiB of heap
// resident after 10,000 sign-ins instead of ~10.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::telemetry::init();
    // A missing .env is normal; a broken one is not worth hiding.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("could not read .env: {err}");
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
    if args.first().map(String::as_str) == Some("doctor") {
        // Checks the set-up without starting the server (README, "Set-up problems").
        let http = app::backend::oauth::protocol::provider_client(&config);
        let report = app::backend::doctor::examine(&config, &http).await;
        print!("{}", report.to_text());
        std::process::exit(if report.has_problems() { 1 } else { 0 });
    }
    let leptos_options = get_configuration(None)
        .expect("cargo-leptos configuration in Cargo.toml")
        .leptos_options;
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
    let app = server::app(state);

    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|err| panic!("cannot listen on {addr}: {err}"));
    // Once listening: the built-in demo provider is an issuer on this very server.
    app::backend::oauth::protocol::discover_issuers_in_background(&config, &http);
    tracing::info!(%addr, %public_url, "listening");
    // The peer address keys the sign-in rate limit.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(server::shutdown_signal())
    .await
    .expect("server error");
    std::process::ExitCode::SUCCESS
}
