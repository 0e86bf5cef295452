//! The `server` binary as an operator runs it, in a process of its own: its logs (JSON or
//! text, never terminal colours in a pipe, every line of a request with its id), its
//! metrics listener, and stopping on SIGTERM without cutting off requests in flight.

mod support;

use std::time::Duration;

use support::{
    fake_provider::{FakeProvider, TokenMode},
    location, query_param,
    server_process::{free_port, ServerProcess},
    Browser, TestDatabase,
};

/// A cross-site POST is refused with an INFO line logged inside the request.
async fn refused_cross_site_post(server: &ServerProcess) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/logout"))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Waits for a line containing `needle` in the process's output.
async fn line_with(server: &ServerProcess, needle: &str) -> String {
    for _ in 0..200 {
        if let Some(line) = server.output().lines().find(|line| line.contains(needle)) {
            return line.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no line with {needle:?} in:\n{}", server.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line_with_the_request_id_the_response_names() {
    let database = TestDatabase::new().await;
    let server = ServerProcess::start(
        free_port(),
        database.url(),
        &[("LOG_FORMAT", "json".into())],
    )
    .await;
    let request_id = refused_cross_site_post(&server).await;
    assert_eq!(request_id.len(), 16, "{request_id}");

    let line = line_with(&server, "cross-site request refused").await;
    let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON object");
    assert_eq!(entry["level"], "INFO");
    assert_eq!(entry["fields"]["message"], "cross-site request refused");
    assert_eq!(entry["span"]["request_id"], request_id.as_str());
    // Every line is JSON, start-up included.
    for line in server.output().lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|_| panic!("not JSON: {line}"));
    }
    // Another request, another id.
    assert_ne!(refused_cross_site_post(&server).await, request_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_logs_in_a_pipe_have_no_colour_codes_and_name_the_request() {
    let database = TestDatabase::new().await;
    let server = ServerProcess::start(free_port(), database.url(), &[]).await;
    let request_id = refused_cross_site_post(&server).await;
    let line = line_with(&server, "cross-site request refused").await;
    assert!(line.contains(&format!("request_id={request_id}")), "{line}");
    assert!(line.contains(" INFO "), "{line}");
    let output = server.output();
    assert!(!output.contains('\u{1b}'), "escape codes in:\n{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_log_format_stops_the_server_with_a_message() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env_clear()
        .env("LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("LOG_FORMAT must be `text` or `json`"),
        "{stderr}"
    );
}

/// Signs in through the built-in demo provider, as a browser would.
async fn demo_sign_in(server: &ServerProcess, browser: &mut Browser, name: &str) {
    let choice = support::Consent {
        name,
        email: "",
        decision: "allow",
    };
    let callback = support::consent_at(&server.base_url, browser, "demo", "", choice).await;
    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 302, "{}", server.output());
}

/// The value of the sample `name{labels}` in a Prometheus text answer.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_on_their_own_address_and_count_sign_ins_without_personal_data() {
    let database = TestDatabase::new().await;
    let metrics_port = free_port();
    let server = ServerProcess::start(
        free_port(),
        database.url(),
        &[("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))],
    )
    .await;
    let mut browser = Browser::new(&server.base_url);
    demo_sign_in(&server, &mut browser, "Metric Person").await;
    // A forged callback: a failure with a reason.
    let forged = browser
        .get(&server.url("/callback/demo?code=x&state=forged"))
        .await;
    assert_eq!(forged.status(), 400);

    // Not on the public address.
    let public = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404);

    let scrape = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = scrape.text().await.unwrap();
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in:\n{text}"));
    assert_eq!(value(r#"signin_started_total{provider="demo"}"#), 1.0);
    assert_eq!(value(r#"signin_completed_total{provider="demo"}"#), 1.0);
    assert_eq!(
        value(r#"signin_failed_total{provider="demo",stage="callback",reason="bad_request"}"#),
        1.0
    );
    assert_eq!(
        value(r#"signin_callback_duration_seconds_count{provider="demo"}"#),
        2.0
    );
    assert_eq!(
        value(r#"provider_call_duration_seconds_count{provider="demo",step="callback"}"#),
        1.0
    );
    assert!(value(r#"sessions_written_total{operation="create"}"#) >= 1.0);
    let issuer = format!("{}/demo-provider", server.base_url);
    assert_eq!(
        value(&format!(
            r#"oidc_discovery_state{{issuer="{issuer}",state="fresh"}}"#
        )),
        1.0
    );
    assert_eq!(
        value(&format!(
            r#"oidc_discovery_state{{issuer="{issuer}",state="unavailable"}}"#
        )),
        0.0
    );
    let pool = if database.postgres_name().is_some() {
        "main"
    } else {
        "read"
    };
    assert!(
        value(&format!(
            r#"db_pool_connections{{pool="{pool}",state="max"}}"#
        )) >= 1.0
    );
    assert!(text.contains("# HELP signin_started_total"), "{text}");
    // Nobody's name, no session id, no client secret.
    assert!(!text.contains("Metric Person"));
    let cookie = browser.session_cookie().unwrap();
    assert!(!text.contains(&cookie));
    assert!(!text.contains("shared secret key"));
}

/// Starts a Facebook sign-in whose token exchange the provider answers after `delay`;
/// returns the browser and the callback URL to complete it.
async fn slow_sign_in(
    server: &ServerProcess,
    fake: &FakeProvider,
    delay: Duration,
) -> (Browser, String) {
    fake.set_token(TokenMode::Slow(delay));
    let mut browser = Browser::new(&server.base_url);
    let start = browser.get(&server.url("/authorize/facebook")).await;
    assert_eq!(start.status(), 302, "{}", server.output());
    let state = query_param(&location(&start), "state").unwrap();
    (
        browser,
        server.url(&format!("/callback/facebook?code=abc&state={state}")),
    )
}

/// Waits until the app has called the provider's token endpoint: the callback is in flight.
async fn provider_is_answering(fake: &FakeProvider) {
    for _ in 0..500 {
        if !fake.seen.lock().unwrap().token_bodies.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the callback never reached the provider");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_request_in_flight_finish_and_takes_no_new_ones() {
    let database = TestDatabase::new().await;
    let fake = FakeProvider::start().await;
    let mut vars = fake.facebook_env();
    vars.push(("OAUTH_HTTP_TIMEOUT_MS", "10000".into()));
    let mut server = ServerProcess::start(free_port(), database.url(), &vars).await;
    let (mut browser, callback) = slow_sign_in(&server, &fake, Duration::from_millis(1500)).await;
    let in_flight = tokio::spawn(async move {
        let response = browser.get(&callback).await;
        (response.status(), browser)
    });
    provider_is_answering(&fake).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // No new connections while it drains...
    let refused = reqwest::Client::new()
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "a stopping server took a new request");
    // ...but the sign-in under way completes: the person is signed in.
    let (status, browser) = in_flight.await.unwrap();
    assert_eq!(status, 302, "{}", server.output());
    assert!(browser.session_cookie().is_some());
    let status = server.exited_within(Duration::from_secs(5)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        server.output()
    );
    assert!(server.output().contains("stopped: every request finished"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_drain_is_bounded_by_shutdown_drain_secs() {
    let database = TestDatabase::new().await;
    let fake = FakeProvider::start().await;
    let mut vars = fake.facebook_env();
    vars.push(("SHUTDOWN_DRAIN_SECS", "1".into()));
    vars.push(("OAUTH_HTTP_TIMEOUT_MS", "10000".into()));
    let mut server = ServerProcess::start(free_port(), database.url(), &vars).await;
    let (mut browser, callback) = slow_sign_in(&server, &fake, Duration::from_secs(8)).await;
    let in_flight = tokio::spawn(async move { browser.get(&callback).await });
    provider_is_answering(&fake).await;
    let asked = std::time::Instant::now();
    server.terminate();
    let status = server.exited_within(Duration::from_secs(5)).await;
    assert!(status.is_some(), "still running:\n{}", server.output());
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert!(server
        .output()
        .contains("stopped with requests still running"));
    in_flight.abort();
}
