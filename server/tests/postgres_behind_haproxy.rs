//! Two instances behind a real reverse proxy (Debian's HAProxy, with the configuration the
//! README shows) on one PostgreSQL database, as a deployment runs them: sign-ins and
//! sessions across instances, rate limits per client as the proxy reports it, health
//! checks that take out an instance without its database, and a rolling restart under
//! load that cuts off no one. PostgreSQL only (`.dev/test-all`'s second pass).

mod support;

use std::{
    net::IpAddr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use support::{
    fake_provider::{FakeProvider, TokenMode},
    haproxy::{served_by, Haproxy},
    location, query_param,
    server_process::{free_port, ServerProcess},
    tcp_relay::TcpRelay,
    Browser, TestDatabase,
};

/// Two instances (ports `a`, `b`) started at the same moment on the empty `database`, and
/// HAProxy in front of them: the migrations run once, under a lock, and both come up.
struct Deployment {
    proxy: Haproxy,
    a: ServerProcess,
    b: ServerProcess,
    ports: (u16, u16),
    vars: Vec<(&'static str, String)>,
}

fn instance_vars(
    fake: &FakeProvider,
    proxy_url: &str,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut vars = fake.facebook_env();
    vars.extend([
        ("PUBLIC_URL", proxy_url.to_owned()),
        ("TRUSTED_PROXIES", "127.0.0.1".into()),
        ("DEMO_PROVIDER", "off".into()),
        ("OAUTH_HTTP_TIMEOUT_MS", "10000".into()),
        ("RUST_LOG", "warn".into()),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    vars
}

impl Deployment {
    async fn start(
        database_urls: (&str, &str),
        fake: &FakeProvider,
        extra: &[(&'static str, &str)],
    ) -> Deployment {
        assert!(
            support::database::testing_postgres(),
            "run with TEST_DATABASE=postgres"
        );
        let proxy_port = free_port();
        let proxy_url = format!("http://127.0.0.1:{proxy_port}");
        let vars = instance_vars(fake, &proxy_url, extra);
        let ports = (free_port(), free_port());
        // At the same moment, on an empty database.
        let mut a = ServerProcess::spawn(ports.0, database_urls.0, &vars);
        let mut b = ServerProcess::spawn(ports.1, database_urls.1, &vars);
        a.wait_until_healthy().await;
        b.wait_until_healthy().await;
        let proxy = Haproxy::start(proxy_port, ports.0, ports.1);
        proxy
            .wait_for_servers(&["a", "b"], Duration::from_secs(10))
            .await;
        Deployment {
            proxy,
            a,
            b,
            ports,
            vars,
        }
    }
}

/// A Facebook sign-in through the proxy at `proxy_url` (the stand-in answers any code);
/// which instances served its start and its callback.
async fn sign_in_through(
    proxy_url: &str,
    browser: &mut Browser,
) -> Result<(String, String), String> {
    let start = browser
        .try_get(&format!("{proxy_url}/authorize/facebook"))
        .await
        .map_err(|err| format!("authorize: {err}"))?;
    if start.status() != 302 {
        return Err(format!(
            "authorize: {} from {}",
            start.status(),
            served_by(&start)
        ));
    }
    let state = query_param(&location(&start), "state").ok_or("no state")?;
    let done = browser
        .try_get(&format!(
            "{proxy_url}/callback/facebook?code=abc&state={state}"
        ))
        .await
        .map_err(|err| format!("callback: {err}"))?;
    if done.status() != 302 || browser.session_cookie().is_none() {
        return Err(format!(
            "callback: {} from {}",
            done.status(),
            served_by(&done)
        ));
    }
    Ok((served_by(&start), served_by(&done)))
}

async fn sign_in(proxy: &Haproxy, browser: &mut Browser) -> Result<(String, String), String> {
    sign_in_through(&proxy.base_url, browser).await
}

async fn me_status(browser: &mut Browser, url: &str) -> Result<(u16, String), String> {
    let response = browser
        .try_get(url)
        .await
        .map_err(|err| format!("{url}: {err}"))?;
    Ok((response.status().as_u16(), served_by(&response)))
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_sign_ins_and_sessions_cross_instances_and_each_client_has_its_own_limit() {
    let database = TestDatabase::new().await;
    let fake = FakeProvider::start().await;
    let deployment = Deployment::start(
        (database.url(), database.url()),
        &fake,
        &[
            ("SIGN_IN_RATE_LIMIT_BURST", "10"),
            ("SIGN_IN_RATE_LIMIT_REFILL_MS", "60000"),
        ],
    )
    .await;
    let proxy = &deployment.proxy;

    // Started through one instance, finished through the other (round robin).
    let mut person = Browser::from_address(&proxy.base_url, Some(IpAddr::from([127, 0, 0, 4])));
    let (started_on, finished_on) = sign_in(proxy, &mut person).await.unwrap();
    assert_ne!(started_on, finished_on, "both steps on {started_on}");

    // The session holds on both instances.
    let mut served = Vec::new();
    for _ in 0..4 {
        let (status, by) = me_status(&mut person, &proxy.url("/api/me")).await.unwrap();
        assert_eq!(status, 200, "signed out on {by}");
        served.push(by);
    }
    served.sort();
    served.dedup();
    assert_eq!(served, ["a", "b"]);
    // The proxy's request id is the one the instance logs and answers with.
    let answer = person.get(&proxy.url("/api/me")).await;
    let id = answer.headers()["x-request-id"].to_str().unwrap();
    assert!(
        id.contains('-') && id.len() > 16,
        "not the proxy's id: {id}"
    );

    // Signed out through one, signed out on both.
    let signed_out = person.post_form(&proxy.url("/logout"), &[]).await;
    assert!(
        signed_out.status().is_redirection(),
        "{}",
        signed_out.status()
    );
    for port in [deployment.ports.0, deployment.ports.1] {
        let (status, _) = me_status(&mut person, &format!("http://127.0.0.1:{port}/api/me"))
            .await
            .unwrap();
        assert_eq!(status, 401);
    }

    // Each client by its own address as the proxy reports it: 10 per instance at once.
    let mut greedy = Browser::from_address(&proxy.base_url, Some(IpAddr::from([127, 0, 0, 2])));
    let (mut allowed, mut limited) = (0, 0);
    for i in 0..30 {
        // A forged X-Forwarded-For buys no fresh bucket: the proxy appends the real one.
        let request = greedy
            .request(reqwest::Method::GET, &proxy.url("/authorize/facebook"))
            .header("x-forwarded-for", format!("198.51.100.{i}"));
        match greedy.send(request).await.status().as_u16() {
            302 => allowed += 1,
            429 => limited += 1,
            other => panic!("authorize answered {other}"),
        }
    }
    assert_eq!((allowed, limited), (20, 10));
    let mut other = Browser::from_address(&proxy.base_url, Some(IpAddr::from([127, 0, 0, 3])));
    for _ in 0..6 {
        let start = other.get(&proxy.url("/authorize/facebook")).await;
        assert_eq!(start.status(), 302, "another client was limited too");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_the_health_check_takes_out_an_instance_without_its_database() {
    let database = TestDatabase::new().await;
    let fake = FakeProvider::start().await;
    // Instance a reaches PostgreSQL through a relay the test can cut.
    let relay = TcpRelay::start("127.0.0.1:5432".parse().unwrap()).await;
    let through_relay = database
        .url()
        .replace("127.0.0.1:5432", &relay.addr.to_string());
    assert_ne!(
        through_relay,
        database.url(),
        "TEST_POSTGRES_URL at 127.0.0.1:5432"
    );
    let deployment = Deployment::start((&through_relay, database.url()), &fake, &[]).await;
    let proxy = &deployment.proxy;
    let mut person = Browser::new(&proxy.base_url);
    sign_in(proxy, &mut person).await.unwrap();

    relay.cut();
    let direct = reqwest::get(deployment.a.url("/healthz")).await.unwrap();
    assert_eq!(direct.status(), 503);
    // Within a few checks (every 500 ms, two failures), only b gets requests.
    proxy.wait_for_servers(&["b"], Duration::from_secs(5)).await;
    for _ in 0..6 {
        let (status, by) = me_status(&mut person, &proxy.url("/api/me")).await.unwrap();
        assert_eq!((status, by.as_str()), (200, "b"));
    }

    // Back in once its database is.
    relay.restore();
    proxy
        .wait_for_servers(&["a", "b"], Duration::from_secs(15))
        .await;
    for _ in 0..4 {
        let (status, by) = me_status(&mut person, &proxy.url("/api/me")).await.unwrap();
        assert_eq!(status, 200, "on {by}");
    }
}

#[derive(Default)]
struct Load {
    stop: AtomicBool,
    sign_ins: AtomicUsize,
    page_views: AtomicUsize,
    problems: Mutex<Vec<String>>,
}

/// One person after another signing in, then viewing pages signed in, until told to stop.
async fn keep_signing_in(proxy_url: String, load: Arc<Load>) {
    while !load.stop.load(Ordering::Relaxed) {
        let mut browser = Browser::new(&proxy_url);
        if let Err(problem) = sign_in_through(&proxy_url, &mut browser).await {
            load.problems.lock().unwrap().push(problem);
            continue;
        }
        load.sign_ins.fetch_add(1, Ordering::Relaxed);
        for path in ["/", "/api/me", "/account"] {
            match browser.try_get(&format!("{proxy_url}{path}")).await {
                Ok(response) if response.status() == 200 => {
                    load.page_views.fetch_add(1, Ordering::Relaxed);
                }
                Ok(response) => load.problems.lock().unwrap().push(format!(
                    "{path}: {} from {}",
                    response.status(),
                    served_by(&response)
                )),
                Err(err) => load.problems.lock().unwrap().push(format!("{path}: {err}")),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_rolling_restart_under_load_cuts_off_no_one() {
    let database = TestDatabase::new().await;
    let fake = FakeProvider::start().await;
    let Deployment {
        proxy,
        mut a,
        mut b,
        ports,
        vars,
    } = Deployment::start(
        (database.url(), database.url()),
        &fake,
        &[("SIGN_IN_RATE_LIMIT_BURST", "0")],
    )
    .await;
    // Provider calls take a while: requests are in flight when an instance is stopped.
    fake.set_token(TokenMode::Slow(Duration::from_millis(150)));

    let mut signed_in = Vec::new();
    for _ in 0..4 {
        let mut browser = Browser::new(&proxy.base_url);
        sign_in(&proxy, &mut browser).await.unwrap();
        signed_in.push(browser);
    }
    // A sign-in started before the restart, finished after it.
    let mut slow_person = Browser::new(&proxy.base_url);
    let start = slow_person.get(&proxy.url("/authorize/facebook")).await;
    let state = query_param(&location(&start), "state").unwrap();

    let load = Arc::new(Load::default());
    let workers: Vec<_> = (0..6)
        .map(|_| tokio::spawn(keep_signing_in(proxy.base_url.clone(), load.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    for (name, port) in [("a", ports.0), ("b", ports.1)] {
        let instance = if name == "a" { &mut a } else { &mut b };
        let before = load.sign_ins.load(Ordering::Relaxed);
        instance.terminate();
        let status = instance.exited_within(Duration::from_secs(25)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{name} did not stop cleanly: {status:?}\n{}",
            instance.output()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        *instance = ServerProcess::start(port, database.url(), &vars).await;
        proxy
            .wait_for_servers(&["a", "b"], Duration::from_secs(10))
            .await;
        assert!(
            load.sign_ins.load(Ordering::Relaxed) > before,
            "no sign-in completed while {name} restarted"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    load.stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    let problems = load.problems.lock().unwrap().clone();
    assert!(
        problems.is_empty(),
        "{} failed: {problems:#?}",
        problems.len()
    );
    let (sign_ins, views) = (
        load.sign_ins.load(Ordering::Relaxed),
        load.page_views.load(Ordering::Relaxed),
    );
    assert!(
        sign_ins >= 20 && views >= 60,
        "{sign_ins} sign-ins, {views} views"
    );
    // Nobody signed in was signed out.
    for browser in &mut signed_in {
        let (status, by) = me_status(browser, &proxy.url("/api/me")).await.unwrap();
        assert_eq!(status, 200, "signed out on {by}");
    }
    // The sign-in that was under way completes after both restarts.
    let done = slow_person
        .get(&proxy.url(&format!("/callback/facebook?code=abc&state={state}")))
        .await;
    assert_eq!(done.status(), 302);
    let (status, _) = me_status(&mut slow_person, &proxy.url("/api/me"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    println!("rolling restart under load: {sign_ins} sign-ins, {views} page views, none failed");
}
