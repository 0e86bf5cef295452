//! social-signin against a peer app doing the same job (Express + Passport, issue 22), in
//! one run: each measures the same rows against the same provider stand-in, on a fresh
//! SQLite file, in rounds that alternate which goes first (the machine drifts within a
//! sitting). Prints the figures and their ratios against the targets.

use std::{
    collections::HashMap,
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use tokio::process::Command;

use crate::{
    app_process::{free_port, AppProcess},
    flows::{self, Provider},
    load_client, measure, ms, page_loader, sign_in_task, stand_in,
};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Ours,
    Passport,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Ours => "social-signin",
            Target::Passport => "Express + Passport",
        }
    }
}

/// What one row measured once.
#[derive(Clone, Copy, Default)]
struct Figure {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// App CPU in milliseconds per completed flow or request.
    cpu_ms: f64,
    errors: u64,
}

const ROWS: [&str; 5] = [
    "facebook new c=1",
    "facebook new c=16",
    "facebook returning c=16",
    "signed-in page `GET /` c=16",
    "`GET /api/me` c=16",
];

pub async fn versus(binary: &str, peer_dir: &str, work_dir: &str, step: Duration, rounds: usize) {
    // Absolute: the peer runs in its own folder, where a relative path would point elsewhere.
    let work_dir = std::fs::canonicalize(work_dir).expect("the work folder exists");
    let work_dir = work_dir.display();
    let stand_in_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stand_in_base = format!("http://{}", stand_in_listener.local_addr().unwrap());
    // The Twitter callback is not used here: Facebook only, as Passport's peer is.
    let stand_in = stand_in::router("http://127.0.0.1");
    tokio::spawn(async move { axum::serve(stand_in_listener, stand_in).await });
    let client = load_client();

    let mut figures: HashMap<(usize, Target), Vec<Figure>> = HashMap::new();
    println!("| round | app | {} |", ROWS.join(" | "));
    println!("|---|---|{}", "---|".repeat(ROWS.len()));
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [Target::Ours, Target::Passport]
        } else {
            [Target::Passport, Target::Ours]
        };
        for target in order {
            let port = free_port();
            let app_base = format!("http://127.0.0.1:{port}");
            let database = format!("{work_dir}/versus-{round}-{}.db", port);
            let app = start(target, binary, peer_dir, port, &database, &stand_in_base).await;
            let row = measure_rows(&app, &client, &app_base, step).await;
            app.stop().await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{database}{suffix}"));
            }
            let cells: Vec<String> = row
                .iter()
                .map(|f| {
                    let errors = if f.errors > 0 {
                        format!(", {} errors", f.errors)
                    } else {
                        String::new()
                    };
                    format!("{:.0}/s, {:.2} ms CPU{errors}", f.rate, f.cpu_ms)
                })
                .collect();
            println!(
                "| {} | {} | {} |",
                round + 1,
                target.label(),
                cells.join(" | ")
            );
            for (i, figure) in row.into_iter().enumerate() {
                figures.entry((i, target)).or_default().push(figure);
            }
        }
    }

    let mean = |i: usize, target: Target, pick: fn(&Figure) -> f64| {
        let all = &figures[&(i, target)];
        all.iter().map(pick).sum::<f64>() / all.len() as f64
    };
    println!("\nMeans over the rounds (ratio: social-signin against Express + Passport):\n");
    println!("| measure | social-signin | Express + Passport | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    // Rates as whole numbers, times in milliseconds to two places.
    let line = |what: &str, ours: f64, theirs: f64, unit: &str, target: &str, met: bool| {
        let places = if unit.is_empty() { 0 } else { 2 };
        println!(
            "| {what} | {ours:.places$}{unit} | {theirs:.places$}{unit} | {:.2}x | {target} | {} |",
            ours / theirs,
            if met { "yes" } else { "**no**" }
        );
    };
    let rate = |f: &Figure| f.rate;
    let cpu = |f: &Figure| f.cpu_ms;
    let p50 = |f: &Figure| f.p50_ms;
    for (i, what) in [
        (1, "new sign-ins/s, c=16"),
        (2, "returning sign-ins/s, c=16"),
    ] {
        let (ours, theirs) = (mean(i, Target::Ours, rate), mean(i, Target::Passport, rate));
        line(what, ours, theirs, "", ">= 2x", ours >= 2.0 * theirs);
    }
    for (i, what) in [
        (1, "app CPU per new sign-in, c=16"),
        (2, "app CPU per returning sign-in, c=16"),
    ] {
        let (ours, theirs) = (mean(i, Target::Ours, cpu), mean(i, Target::Passport, cpu));
        line(what, ours, theirs, " ms", "<= 0.5x", ours <= 0.5 * theirs);
    }
    let (ours, theirs) = (mean(0, Target::Ours, p50), mean(0, Target::Passport, p50));
    line(
        "sign-in latency at c=1 (p50)",
        ours,
        theirs,
        " ms",
        "< 1x",
        ours < theirs,
    );
    for (i, what) in [(3, "signed-in page, req/s"), (4, "`GET /api/me`, req/s")] {
        let (ours, theirs) = (mean(i, Target::Ours, rate), mean(i, Target::Passport, rate));
        line(what, ours, theirs, "", ">= 2x", ours >= 2.0 * theirs);
    }
    let p99 = |f: &Figure| f.p99_ms;
    println!(
        "\np99 at c=16, new sign-ins: social-signin {:.1} ms, Express + Passport {:.1} ms; signed-in page {:.2} / {:.2} ms.",
        mean(1, Target::Ours, p99),
        mean(1, Target::Passport, p99),
        mean(3, Target::Ours, p99),
        mean(3, Target::Passport, p99),
    );
}

async fn start(
    target: Target,
    binary: &str,
    peer_dir: &str,
    port: u16,
    database: &str,
    stand_in_base: &str,
) -> AppProcess {
    let public_url = format!("http://127.0.0.1:{port}");
    match target {
        Target::Ours => {
            let mut env = stand_in::app_env(stand_in_base);
            env.retain(|(k, _)| k.starts_with("OAUTH_FACEBOOK_"));
            for (k, v) in [
                ("DATABASE_URL", format!("sqlite://{database}?mode=rwc")),
                ("DEMO_PROVIDER", "off".into()),
                ("SIGN_IN_RATE_LIMIT_BURST", "0".into()),
                ("RUST_LOG", "warn".into()),
            ] {
                env.push((k.into(), v));
            }
            AppProcess::start(binary, port, &public_url, &env).await
        }
        Target::Passport => {
            let p = stand_in_base;
            let mut command = Command::new("node");
            command
                .arg("server.js")
                .current_dir(peer_dir)
                .env("PORT", port.to_string())
                .env("DATABASE_PATH", database)
                .env("PUBLIC_URL", &public_url)
                .env("FACEBOOK_CLIENT_ID", "bench")
                .env("FACEBOOK_CLIENT_SECRET", "bench-secret")
                .env("FACEBOOK_AUTHORIZE_URL", format!("{p}/fb/authorize"))
                .env("FACEBOOK_TOKEN_URL", format!("{p}/fb/token"))
                .env("FACEBOOK_PROFILE_URL", format!("{p}/fb/me"))
                .env("NODE_ENV", "production");
            AppProcess::spawn(command, port).await
        }
    }
}

/// The rows of `ROWS`, in order, against one freshly started app.
async fn measure_rows(
    app: &AppProcess,
    client: &reqwest::Client,
    app_base: &str,
    step: Duration,
) -> Vec<Figure> {
    let sign_ins = Arc::new(AtomicU64::new(0));
    let mut figures = Vec::new();
    let mut known = 0;
    for (returning, c) in [(false, 1), (false, 16), (true, 16)] {
        let task = sign_in_task(
            client,
            app_base,
            Provider::Facebook,
            returning,
            known,
            &sign_ins,
        );
        let (mut outcome, rate, cores) = measure(app, c, step, task).await;
        if !returning {
            known += outcome.latencies.len() as u64 + outcome.errors;
        }
        figures.push(figure(&mut outcome, rate, cores));
    }
    let jar = flows::sign_in(client, app_base, Provider::Facebook, "reader", true)
        .await
        .expect("a signed-in reader");
    for (path, expect) in [
        ("/", "Hi, User reader!"),
        ("/api/me", "\"nickname\":\"User reader\""),
    ] {
        let url = format!("{app_base}{path}");
        let (mut outcome, rate, cores) =
            measure(app, 16, step, page_loader(client, &url, &jar, Some(expect))).await;
        figures.push(figure(&mut outcome, rate, cores));
    }
    figures
}

fn figure(outcome: &mut flows::Outcome, rate: f64, cores: f64) -> Figure {
    if let Some(err) = &outcome.first_error {
        eprintln!("first error: {err}");
    }
    Figure {
        rate,
        p50_ms: ms(outcome.percentile(0.5)),
        p99_ms: ms(outcome.percentile(0.99)),
        cpu_ms: if rate > 0.0 {
            cores / rate * 1000.0
        } else {
            0.0
        },
        errors: outcome.errors,
    }
}
