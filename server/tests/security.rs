//! Hardening that applies to every route: CSRF on state-changing requests, security
//! headers with a CSP the hydrated app satisfies, concurrent first sign-ins.

mod support;

use leptos::server_fn::ServerFn;
use support::{query_param, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn state_changing_requests_from_other_sites_are_refused() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    app.sign_in_with_demo(&mut browser, "Csrf Target", true)
        .await;
    let server_fn = app.url(<app::api::GetCurrentUser as ServerFn>::PATH);

    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let forged = browser
            .request(reqwest::Method::POST, &server_fn)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value);
        let response = browser.send(forged).await;
        assert_eq!(response.status(), 403, "{name}: {value}");
        let forged_logout = browser
            .request(reqwest::Method::POST, &app.url("/logout"))
            .header(name, value);
        assert_eq!(browser.send(forged_logout).await.status(), 403);
    }
    assert!(app.me(&mut browser).await.is_some(), "still signed in");

    // The page's own (same-origin) call goes through.
    let own = browser
        .request(reqwest::Method::POST, &server_fn)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("sec-fetch-site", "same-origin");
    let response = browser.send(own).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Csrf Target"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_carry_security_headers_and_a_nonce_csp() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let response = browser.get(&app.url("/")).await;
    let headers = response.headers().clone();
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    let csp = header("content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // Only the demo provider here, on this same origin: forms go nowhere else.
    assert!(csp.ends_with("form-action 'self'"), "{csp}");
    assert_eq!(header("strict-transport-security"), None, "not over http");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce")
        .to_owned();
    assert!(nonce.len() >= 16);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("nonce=\"{nonce}\"")),
        "hydration scripts carry the nonce"
    );
    let inline_scripts = page.matches("<script").count();
    let with_nonce = page
        .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
        .count()
        + page.matches(&format!("<script nonce=\"{nonce}\"")).count();
    assert_eq!(inline_scripts, with_nonce, "every script carries the nonce");

    // A second response has a different nonce.
    let again = browser.get(&app.url("/")).await;
    let csp_again = again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp_again.contains(&nonce));

    // Non-page responses get the strict default policy.
    let me = browser.get(&app.url("/api/me")).await;
    assert_eq!(me.headers()["x-content-type-options"], "nosniff");
    let default_csp = me.headers()["content-security-policy"].to_str().unwrap();
    assert!(default_csp.starts_with("default-src 'self'"));
    assert!(default_csp.contains("form-action 'self'"), "{default_csp}");

    // The callback keeps its own stricter referrer policy.
    let callback = browser.get(&app.url("/callback/demo?code=x&state=y")).await;
    assert_eq!(callback.headers()["referrer-policy"], "no-referrer");
    assert_eq!(callback.headers()["cache-control"], "no-store");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_first_sign_ins_of_one_identity_make_one_user() {
    const N: usize = 8;
    let app = TestApp::start(&[]).await;
    let mut browsers = Vec::new();
    for _ in 0..N {
        let mut browser = app.browser();
        let callback = app
            .consent(&mut browser, "demo", "", "Crowd", "", "allow")
            .await;
        assert!(query_param(&callback, "code").is_some());
        browsers.push((browser, callback));
    }
    let tasks: Vec<_> = browsers
        .into_iter()
        .map(|(mut browser, callback)| {
            tokio::spawn(async move {
                let status = browser.get(&callback).await.status();
                (browser, status)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        let (mut browser, status) = task.await.unwrap();
        assert_eq!(status, 302);
        ids.push(app.me(&mut browser).await.expect("signed in")["id"].clone());
    }
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "all signed in as the same user"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_routes_are_rate_limited_per_client_with_a_readable_page() {
    let app = TestApp::start(&[
        ("SIGN_IN_RATE_LIMIT_BURST", "3"),
        ("SIGN_IN_RATE_LIMIT_REFILL_MS", "60000"),
    ])
    .await;
    let mut browser = app.browser();
    for _ in 0..3 {
        assert_eq!(browser.get(&app.url("/authorize/demo")).await.status(), 302);
    }
    let limited = browser.get(&app.url("/callback/demo?code=x&state=y")).await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(limited
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts"));
    // Everything else keeps working.
    assert_eq!(browser.get(&app.url("/")).await.status(), 200);
    assert_eq!(browser.get(&app.url("/api/me")).await.status(), 401);
}

/// `GET /authorize/demo` as relayed by a proxy that saw the client at `forwarded_for`.
async fn authorize_via_proxy(app: &TestApp, forwarded_for: &str) -> u16 {
    let mut browser = app.browser();
    let request = browser
        .request(reqwest::Method::GET, &app.url("/authorize/demo"))
        .header("x-forwarded-for", forwarded_for);
    browser.send(request).await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_one_client_cannot_use_up_everyones_sign_in_limit() {
    let app = TestApp::start(&[
        ("SIGN_IN_RATE_LIMIT_BURST", "2"),
        ("SIGN_IN_RATE_LIMIT_REFILL_MS", "60000"),
        ("TRUSTED_PROXIES", "127.0.0.1, ::1"),
    ])
    .await;
    assert_eq!(authorize_via_proxy(&app, "203.0.113.5").await, 302);
    assert_eq!(authorize_via_proxy(&app, "203.0.113.5").await, 302);
    assert_eq!(authorize_via_proxy(&app, "203.0.113.5").await, 429);
    // Writing another address into the header itself does not buy a fresh bucket: the
    // proxy appends the address it saw, and that one counts.
    assert_eq!(
        authorize_via_proxy(&app, "198.51.100.1, 203.0.113.5").await,
        429
    );
    // Everyone else behind the same proxy is unaffected.
    assert_eq!(authorize_via_proxy(&app, "203.0.113.6").await, 302);

    // IPv6 clients count per /64: rotating addresses inside one does not escape.
    assert_eq!(authorize_via_proxy(&app, "2001:db8:1:2::1").await, 302);
    assert_eq!(authorize_via_proxy(&app, "2001:db8:1:2::2").await, 302);
    assert_eq!(authorize_via_proxy(&app, "2001:db8:1:2:ffff::3").await, 429);
    assert_eq!(authorize_via_proxy(&app, "2001:db8:1:3::1").await, 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_trusted_proxies_a_forged_x_forwarded_for_buys_no_fresh_bucket() {
    let app = TestApp::start(&[
        ("SIGN_IN_RATE_LIMIT_BURST", "2"),
        ("SIGN_IN_RATE_LIMIT_REFILL_MS", "60000"),
    ])
    .await;
    assert_eq!(authorize_via_proxy(&app, "203.0.113.5").await, 302);
    assert_eq!(authorize_via_proxy(&app, "203.0.113.6").await, 302);
    assert_eq!(authorize_via_proxy(&app, "203.0.113.7").await, 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_deployment_sends_hsts_so_browsers_never_fall_back_to_http() {
    let app = TestApp::start(&[("PUBLIC_URL", "https://signin.example.com")]).await;
    let mut browser = app.browser();
    for path in ["/healthz", "/api/me", "/"] {
        let response = browser.get(&app.url(path)).await;
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=63072000",
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_sites_page_cannot_start_or_cancel_a_sign_in_by_embedding_the_routes() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    // A sign-in in progress: the provider has answered, the browser has not come back yet.
    let callback = app
        .consent(&mut browser, "demo", "", "Still Here", "", "allow")
        .await;
    let state = query_param(&callback, "state").unwrap();
    let sessions_before = app.count("sessions").await;

    // <img src="https://us/authorize/demo">, <iframe src="https://us/callback/demo?...">
    // and the like on evil.example, as the browser labels them: an image, a hidden iframe,
    // a script's fetch.
    let embeddings = [
        ("no-cors", "image"),
        ("navigate", "iframe"),
        ("cors", "empty"),
    ];
    for path in [
        "/authorize/demo".to_owned(),
        format!("/callback/demo?error=access_denied&state={state}"),
    ] {
        for site in ["cross-site", "same-site"] {
            for (mode, dest) in embeddings {
                let embedded = browser
                    .request(reqwest::Method::GET, &app.url(&path))
                    .header("sec-fetch-site", site)
                    .header("sec-fetch-mode", mode)
                    .header("sec-fetch-dest", dest);
                let response = browser.send(embedded).await;
                assert_eq!(response.status(), 403, "{path} {site} {dest}");
                assert!(response.headers().get("set-cookie").is_none());
            }
        }
    }
    assert_eq!(
        app.count("sessions").await,
        sessions_before,
        "no session stored"
    );

    // The sign-in in progress was neither replaced nor cancelled: it completes.
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert_eq!(
        app.me(&mut browser).await.unwrap()["nickname"],
        "Still Here"
    );

    // A top-level navigation from another site (a "Sign in" link there) still starts one.
    let link = browser
        .request(reqwest::Method::GET, &app.url("/authorize/demo"))
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document");
    assert_eq!(browser.send(link).await.status(), 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_server_functions_cannot_be_called_over_http_around_the_routes_guards() {
    use app::api::{FinishSignIn, StartSignIn};
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let endpoints = [
        (
            <StartSignIn as ServerFn>::PATH,
            "provider=demo&remember=false",
        ),
        (
            <FinishSignIn as ServerFn>::PATH,
            "provider=demo&params[code]=c&params[state]=s",
        ),
    ];
    for (path, body) in endpoints {
        // Well-formed, malformed (was a 500 for finish_sign_in), and as a GET; with and
        // without an Origin (a client sending none passed the cross-site check).
        for (method, body) in [
            (reqwest::Method::POST, body),
            (reqwest::Method::POST, "%%%\u{0}garbage=&&="),
            (reqwest::Method::GET, ""),
        ] {
            let request = browser
                .request(method.clone(), &app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned());
            let response = browser.send(request).await;
            assert_eq!(response.status(), 404, "{method} {path} {body}");
            assert!(response.headers().get("set-cookie").is_none());
        }
    }
    assert_eq!(app.count("sessions").await, 0, "no session stored");
    // The routes that carry those server functions still work.
    assert_eq!(
        app.sign_in_with_demo(&mut browser, "Front Door", false)
            .await
            .status(),
        302
    );
}
