//! The built-in demo provider stores a grant for anyone who submits its consent form, so
//! what it keeps is bounded: fields capped, entries capped (oldest out), the consent pages
//! rate limited per client, request bodies small.

mod support;

use std::time::{Duration, Instant};

use support::{location, query_param, Browser, TestApp};

/// The consent form the app's own sign-in leads to, as `(name, value)` pairs, from the
/// provider URL `/authorize/demo` redirected to.
async fn consent_form(app: &TestApp, browser: &mut Browser) -> Vec<(String, String)> {
    let start = browser.get(&app.url("/authorize/demo")).await;
    url::Url::parse(&location(&start))
        .unwrap()
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "scope")
        .collect()
}

fn with_choice(form: &[(String, String)], name: &str, email: &str) -> Vec<(String, String)> {
    let mut form = form.to_vec();
    form.push(("name".into(), name.into()));
    form.push(("email".into(), email.into()));
    form.push(("decision".into(), "allow".into()));
    form
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_consents_keeps_the_demo_provider_bounded() {
    let app = TestApp::start(&[("SIGN_IN_RATE_LIMIT_BURST", "0")]).await;
    let mut victim = app.browser();
    let victim_form = consent_form(&app, &mut victim).await;
    let decided = victim
        .post_form(
            &app.url("/demo-provider/authorize"),
            &with_choice(&victim_form, "Early Bird", ""),
        )
        .await;
    let victim_callback = location(&decided);
    assert!(query_param(&victim_callback, "code").is_some());

    // An attacker replays one valid form with the largest fields accepted, more times than
    // the provider keeps grants (4,096), 16 at a time.
    let mut attacker = app.browser();
    let form = with_choice(
        &consent_form(&app, &mut attacker).await,
        &"N".repeat(100),
        &format!("{}@example.com", "e".repeat(242)),
    );
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = app.url("/demo-provider/authorize");
    let before = resident_bytes();
    let flood = |count: usize| {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        async move {
            let started = Instant::now();
            let mut latencies = Vec::new();
            for _ in 0..count {
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("origin", url.split("/demo-provider").next().unwrap())
                    .header("sec-fetch-site", "same-origin")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 302);
                latencies.push(sent.elapsed());
            }
            (latencies, started.elapsed())
        }
    };
    let mut first = Vec::new();
    let mut last = Vec::new();
    let workers: Vec<_> = (0..16).map(|_| tokio::spawn(flood(320))).collect();
    for worker in workers {
        let (latencies, _) = worker.await.unwrap();
        first.extend_from_slice(&latencies[..20]);
        last.extend_from_slice(&latencies[latencies.len() - 20..]);
    }
    let grown = resident_bytes().saturating_sub(before);
    let (first, last) = (median(first), median(last));
    println!(
        "5,120 consents: resident memory +{} KiB; median latency first {first:?}, last {last:?}",
        grown / 1024
    );

    // The oldest grant made room for the flood: the victim's code is no longer known...
    let late = victim.get(&victim_callback).await;
    assert_eq!(late.status(), 400);
    assert!(late.text().await.unwrap().contains("did not accept"));
    // ...and the provider still serves a fresh sign-in, at the speed it started with.
    let mut newcomer = app.browser();
    let done = app
        .sign_in_with_demo(&mut newcomer, "Newcomer", false)
        .await;
    assert_eq!(done.status(), 302);
    // Other tests share the two cores, so only a gross slow-down (a store that scans or
    // grows with what it holds) fails this; the figures are printed above.
    assert!(
        last <= first * 10 + Duration::from_millis(100),
        "consents slowed from {first:?} to {last:?} as grants piled up"
    );
    assert!(
        grown < 64 * 1024 * 1024,
        "grew {grown} bytes for 5,120 capped grants"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_consent_fields_are_refused_before_anything_is_stored() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    let form = consent_form(&app, &mut browser).await;

    let long_email = format!("{}@example.com", "e".repeat(10_000));
    let refused = browser
        .post_form(
            &app.url("/demo-provider/authorize"),
            &with_choice(&form, "Ok Name", &long_email),
        )
        .await;
    assert_eq!(refused.status(), 400);
    let page = refused.text().await.unwrap();
    assert!(page.contains("email address of up to 254 characters"));

    let mut long_redirect = form.clone();
    for (name, value) in long_redirect.iter_mut() {
        if name == "redirect_uri" {
            value.push_str(&"x".repeat(600));
        }
    }
    let refused = browser
        .post_form(
            &app.url("/demo-provider/authorize"),
            &with_choice(&long_redirect, "Ok Name", ""),
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("redirect_uri is not registered"));

    // A body far beyond any consent form is not even read.
    let huge = browser
        .post_form(
            &app.url("/demo-provider/authorize"),
            &with_choice(&form, &"n".repeat(20_000), ""),
        )
        .await;
    assert_eq!(huge.status(), 413);

    // The form as sent by a person still works.
    let fine = browser
        .post_form(
            &app.url("/demo-provider/authorize"),
            &with_choice(&form, "Ok Name", "ok@example.com"),
        )
        .await;
    assert_eq!(fine.status(), 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consent_pages_are_rate_limited_per_client() {
    let app = TestApp::start(&[
        ("SIGN_IN_RATE_LIMIT_BURST", "3"),
        ("SIGN_IN_RATE_LIMIT_REFILL_MS", "60000"),
    ])
    .await;
    let mut browser = app.browser();
    // One whole sign-in: two consent-page requests (page, decision); the token and profile
    // calls come from the app itself and are not counted against anyone.
    let done = app.sign_in_with_demo(&mut browser, "Counted", false).await;
    assert_eq!(done.status(), 302);
    let page = app.url("/demo-provider/authorize?client_id=x");
    assert_eq!(browser.get(&page).await.status(), 400, "third: served");
    let limited = browser.get(&page).await;
    assert_eq!(limited.status(), 429, "fourth: refused");
    assert!(limited
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts"));
}
