//! Load generator for `.dev/bench`: starts the release app against a fast provider
//! stand-in and a bare axum handler, drives complete sign-ins and page loads over
//! 127.0.0.1 for a bounded time each, and prints Markdown tables.
//!
//! `loadgen run <server binary> <DATABASE_URL> <seconds per step> [pages | flows <provider> <new|returning> <c>]`
//! `loadgen bare <port>` (started by `run`: the same-run yardstick)
//! `loadgen versus <server binary> <peer dir> <work dir> <seconds per step> [rounds]`
//! (against Express + Passport, `versus.rs`)

mod app_process;
mod apple_stand_in;
mod flows;
mod oidc_stand_in;
mod stand_in;
mod versus;

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use app_process::{cpu_of, cpu_of_tree, free_port, AppProcess};
use flows::{Jar, Outcome, Provider};

const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// Every Nth sign-in is checked end to end (greeting and `/api/me` identity).
const CHECK_EVERY: u64 = 10;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("bare") => bare(args[2].parse().expect("port")).await,
        Some("versus") => {
            let seconds: f64 = args[5].parse().expect("seconds per step");
            let rounds = args.get(6).and_then(|r| r.parse().ok()).unwrap_or(2);
            let step = Duration::from_secs_f64(seconds);
            versus::versus(&args[2], &args[3], &args[4], step, rounds).await
        }
        Some("run") => {
            let seconds: f64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5.0);
            // For profiling one path: `pages` skips the sign-in table; `page <path>` runs
            // that page's row first; `flows <provider> <new|returning> <c>` runs that one
            // row and no pages.
            let only = match args.get(5).map(String::as_str) {
                Some("pages") => Only::Pages,
                Some("page") => Only::Page(args[6].clone()),
                Some("flows") => Only::Flows(args[6..9].join(" ")),
                _ => Only::Everything,
            };
            run(&args[2], &args[3], Duration::from_secs_f64(seconds), only).await
        }
        _ => {
            eprintln!(
                "usage: loadgen run <server binary> <DATABASE_URL> [seconds] | loadgen bare <port>"
            );
            std::process::exit(2);
        }
    }
}

async fn bare(port: u16) {
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, router).await.expect("serve");
}

enum Only {
    Everything,
    Pages,
    /// "/account"
    Page(String),
    /// "facebook new 16"
    Flows(String),
}

async fn run(binary: &str, database_url: &str, step: Duration, only: Only) {
    let stand_in_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stand_in_base = format!("http://{}", stand_in_listener.local_addr().unwrap());
    let app_port = free_port();
    // Through HAProxy (BENCH_PROXY_CONFIG: the README's configuration), people reach the
    // app at the proxy's address; without it, at the app's own.
    let proxy_config = std::env::var("BENCH_PROXY_CONFIG")
        .ok()
        .filter(|config| !config.is_empty());
    let proxy_port = free_port();
    let app_base = match proxy_config {
        Some(_) => format!("http://127.0.0.1:{proxy_port}"),
        None => format!("http://127.0.0.1:{app_port}"),
    };
    let stand_in = stand_in::router(&app_base)
        .merge(oidc_stand_in::router(&stand_in_base))
        .merge(apple_stand_in::router(&stand_in_base));
    tokio::spawn(async move { axum::serve(stand_in_listener, stand_in).await });

    let mut env = stand_in::app_env(&stand_in_base);
    env.extend(oidc_stand_in::app_env(&stand_in_base));
    // A/B runs against binaries from before the Apple preset, which would refuse its
    // variables: LOADGEN_WITHOUT_APPLE=1 leaves it out.
    let with_apple = std::env::var_os("LOADGEN_WITHOUT_APPLE").is_none();
    if with_apple {
        env.extend(apple_stand_in::app_env(&stand_in_base));
    }
    for (k, v) in [
        ("DATABASE_URL", database_url),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("DEMO_PROVIDER", "off"),
        ("SIGN_IN_RATE_LIMIT_BURST", "0"),
        // The instance-wide budget of starts that call a provider (Twitter's request
        // tokens, 300 a minute by default) would cap the Twitter rows at 5 sign-ins/s.
        ("SIGN_IN_REQUEST_TOKENS_PER_MINUTE", "0"),
    ] {
        env.push((k.into(), v.into()));
    }
    // BENCH_RUST_LOG=info measures logging's cost (the default keeps logs out of the way).
    let log_filter = std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into());
    env.push(("RUST_LOG".into(), log_filter));
    let app = AppProcess::start(binary, app_port, &app_base, &env).await;
    let _proxy = match &proxy_config {
        Some(config) => Some(app_process::haproxy(config, proxy_port, app_port).await),
        None => None,
    };
    println!("## Start-up\n");
    println!(
        "From spawning the server to its first 200 (migrations on an empty database): **{:.0} ms**\n",
        app.startup.as_secs_f64() * 1000.0
    );

    let bare_port = free_port();
    let mut bare = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["bare", &bare_port.to_string()])
        .kill_on_drop(true)
        .spawn()
        .expect("bare handler");
    let bare_pid = bare.id().unwrap();
    let bare_base = format!("http://127.0.0.1:{bare_port}");

    let client = load_client();

    let sign_ins = Arc::new(AtomicU64::new(0));
    println!("## Complete sign-ins (authorize -> provider -> callback -> signed-in page)\n");
    println!("Each row runs {:.0} s; every {CHECK_EVERY}th flow is checked to greet the right person and to show that person's identity in `/api/me`.\n", step.as_secs_f64());
    println!("| provider | users | c | flows/s | p50 ms | p99 ms | errors | checked | app CPU (cores) | load generator + stand-in CPU |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut registered = [0u64; 4];
    // The memory target is "after 10,000 sign-ins": taken after the first row
    // that reaches it.
    let mut memory_at_ten_thousand = None;
    let providers = if matches!(only, Only::Pages | Only::Page(_)) {
        vec![]
    } else {
        let mut providers = vec![Provider::Facebook, Provider::Twitter, Provider::Corp];
        if with_apple {
            providers.push(Provider::Apple);
        }
        providers
    };
    for (p, provider) in providers.into_iter().enumerate() {
        for returning in [false, true] {
            for c in CONCURRENCY {
                let row = format!(
                    "{} {} {c}",
                    provider.name(),
                    if returning { "returning" } else { "new" }
                );
                if matches!(&only, Only::Flows(wanted) if *wanted != row) {
                    continue;
                }
                let known = registered[p];
                let (mut outcome, rate, cores) = measure(
                    &app,
                    c,
                    step,
                    sign_in_task(&client, &app_base, provider, returning, known, &sign_ins),
                )
                .await;
                if !returning {
                    registered[p] = known + outcome.latencies.len() as u64 + outcome.errors;
                }
                let done = sign_ins.load(Ordering::Relaxed);
                if memory_at_ten_thousand.is_none() && done >= 10_000 {
                    memory_at_ten_thousand = Some((done, app.memory_kib()));
                }
                println!(
                    "| {} | {} | {c} | {rate:.0} | {:.1} | {:.1} | {} | {} | {cores:.2} | {:.2} |",
                    provider.name(),
                    if returning { "returning" } else { "new" },
                    ms(outcome.percentile(0.5)),
                    ms(outcome.percentile(0.99)),
                    outcome.errors,
                    outcome.checked,
                    outcome.loadgen_cores,
                );
                if let Some(err) = &outcome.first_error {
                    println!("\nfirst error: {err}\n");
                }
            }
        }
    }

    if matches!(only, Only::Flows(_)) {
        app.stop().await;
        return;
    }
    println!("\n## Page loads at c=16 (same run, same machine)\n");
    println!("| what | req/s | p50 ms | p99 ms | errors | CPU (cores) | of bare handler |");
    println!("|---|---|---|---|---|---|---|");
    let jar = flows::sign_in(&client, &app_base, Provider::Facebook, "reader", true)
        .await
        .expect("a signed-in reader");
    let mut rows = Vec::new();
    for (what, path, expect) in [
        ("signed-in page `GET /`", "/", Some("Hi, User reader!")),
        (
            "`GET /api/me`",
            "/api/me",
            Some("\"nickname\":\"User reader\""),
        ),
        (
            "account page `GET /account`",
            "/account",
            Some("Sign-in methods"),
        ),
    ] {
        if matches!(&only, Only::Page(wanted) if wanted != path) {
            continue;
        }
        let url = format!("{app_base}{path}");
        let (outcome, rate, cores) =
            measure(&app, 16, step, page_loader(&client, &url, &jar, expect)).await;
        rows.push((what, outcome, rate, cores));
    }
    let bare_url = format!("{bare_base}/");
    let (mut bare_outcome, bare_rate, bare_cores) = measure_pid(
        bare_pid,
        16,
        step,
        page_loader(&client, &bare_url, &Jar::default(), None),
    )
    .await;
    for (what, mut outcome, rate, cores) in rows {
        println!(
            "| {what} | {rate:.0} | {:.2} | {:.2} | {} | {cores:.2} | {:.1}% |",
            ms(outcome.percentile(0.5)),
            ms(outcome.percentile(0.99)),
            outcome.errors,
            100.0 * rate / bare_rate
        );
        if let Some(err) = &outcome.first_error {
            println!("\nfirst error: {err}\n");
        }
    }
    println!(
        "| bare axum handler | {bare_rate:.0} | {:.2} | {:.2} | {} | {bare_cores:.2} | 100% |",
        ms(bare_outcome.percentile(0.5)),
        ms(bare_outcome.percentile(0.99)),
        bare_outcome.errors
    );

    let (rss, peak, anon) = app.memory_kib();
    println!("\n## Memory\n");
    if let Some((done, (rss, _, anon))) = memory_at_ten_thousand {
        println!(
            "After {done} complete sign-ins: resident {:.1} MiB (of which {:.1} MiB the process's own, the rest mapped database file).\n",
            rss as f64 / 1024.0,
            anon as f64 / 1024.0
        );
    }
    println!(
        "After {} complete sign-ins: resident {:.1} MiB (of which {:.1} MiB the process's own, the rest mapped database file), peak {:.1} MiB.",
        sign_ins.load(Ordering::Relaxed),
        rss as f64 / 1024.0,
        anon as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let _ = bare.kill().await;
    app.stop().await;
}

/// One complete sign-in per call through `provider`: a new person each time, or one of the
/// `known` people signed in before. Counts successes in `sign_ins`.
fn sign_in_task(
    client: &reqwest::Client,
    app_base: &str,
    provider: Provider,
    returning: bool,
    known: u64,
    sign_ins: &Arc<AtomicU64>,
) -> impl Fn() -> Run + Clone + Send + 'static {
    let client = client.clone();
    let app_base = app_base.to_owned();
    let counter = Arc::new(AtomicU64::new(0));
    let sign_ins = sign_ins.clone();
    move || {
        let client = client.clone();
        let app_base = app_base.clone();
        let counter = counter.clone();
        let sign_ins = sign_ins.clone();
        Box::pin(async move {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let user = if returning {
                format!("{}{}", &provider.name()[..2], n % known.max(1))
            } else {
                format!("{}{}", &provider.name()[..2], known + n)
            };
            let check = n % CHECK_EVERY == 0;
            let result = flows::sign_in(&client, &app_base, provider, &user, check)
                .await
                .map(|_| ());
            if result.is_ok() {
                sign_ins.fetch_add(1, Ordering::Relaxed);
            }
            (result, check)
        })
    }
}

/// One measured step of a load: its result and whether it was checked end to end.
type Run = std::pin::Pin<Box<dyn Future<Output = (Result<(), String>, bool)> + Send>>;

/// The load generator's HTTP client: redirects are followed by hand (the flows check each).
fn load_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One request per call, with a signed-in jar; checks the body for `expect`.
fn page_loader(
    client: &reqwest::Client,
    url: &str,
    jar: &Jar,
    expect: Option<&'static str>,
) -> impl Fn() -> Run + Clone + Send + 'static {
    let client = client.clone();
    let url = url.to_owned();
    let jar = jar.clone();
    move || {
        let client = client.clone();
        let url = url.clone();
        let mut jar = jar.clone();
        Box::pin(async move {
            let result = async {
                let response = flows::get(&client, &mut jar, &url).await?;
                if !response.status().is_success() {
                    return Err(format!("{url}: status {}", response.status()));
                }
                let body = response.text().await.map_err(|e| e.to_string())?;
                match expect {
                    Some(text) if !body.contains(text) => Err(format!("{url}: no {text:?}")),
                    _ => Ok(()),
                }
            }
            .await;
            (result, expect.is_some())
        })
    }
}

async fn measure<F, Fut>(app: &AppProcess, c: usize, step: Duration, task: F) -> (Outcome, f64, f64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (Result<(), String>, bool)> + Send,
{
    measure_pid(app.pid, c, step, task).await
}

/// Runs `task` in a loop on `c` workers for `step`; returns the outcome, successes per
/// second, and the CPU cores process `pid` used meanwhile.
async fn measure_pid<F, Fut>(pid: u32, c: usize, step: Duration, task: F) -> (Outcome, f64, f64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (Result<(), String>, bool)> + Send,
{
    let cpu_before = cpu_of_tree(pid);
    let own_before = cpu_of(std::process::id());
    let started = Instant::now();
    let deadline = started + step;
    let workers: Vec<_> = (0..c)
        .map(|_| {
            let task = task.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let (result, checked) = task().await;
                    if checked && result.is_ok() {
                        outcome.checked += 1;
                    }
                    outcome.record(t, result);
                }
                outcome
            })
        })
        .collect();
    let mut outcome = Outcome::default();
    for worker in workers {
        outcome.merge(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cores = (cpu_of_tree(pid) - cpu_before).as_secs_f64() / elapsed;
    outcome.loadgen_cores = (cpu_of(std::process::id()) - own_before).as_secs_f64() / elapsed;
    let rate = outcome.latencies.len() as f64 / elapsed;
    (outcome, rate, cores)
}
