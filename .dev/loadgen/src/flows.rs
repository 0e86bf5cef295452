//! What one simulated person does: a complete sign-in (authorize -> provider -> callback
//! -> signed-in page), checked, and page loads with a session.

use std::time::{Duration, Instant};

use reqwest::{header, Client, Response, StatusCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Facebook,
    Twitter,
    /// A generic OpenID Connect issuer (`OAUTH_CORP_*`).
    Corp,
    /// Sign in with Apple: a signed client secret, and the answer posted by the browser.
    Apple,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Facebook => "facebook",
            Provider::Twitter => "twitter",
            Provider::Corp => "corp",
            Provider::Apple => "apple",
        }
    }
}

/// A cookie jar: the session cookie and the pending sign-in's, by name.
#[derive(Default, Clone)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            pairs.join("; ")
        })
    }

    fn take(&mut self, response: &Response) {
        for raw in response.headers().get_all(header::SET_COOKIE) {
            let Ok(raw) = raw.to_str() else { continue };
            let Some((name, value)) = raw.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            self.cookies.retain(|(kept, _)| kept != name);
            if !value.is_empty() && !raw.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}

pub async fn get(client: &Client, jar: &mut Jar, url: &str) -> Result<Response, String> {
    let mut request = client.get(url).header(header::ACCEPT, "text/html");
    if let Some(cookie) = jar.header() {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    jar.take(&response);
    Ok(response)
}

fn location(response: &Response, step: &str) -> Result<String, String> {
    if response.status() != StatusCode::FOUND {
        return Err(format!("{step}: status {}", response.status()));
    }
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("{step}: no Location"))
}

/// Signs `user` in through `provider` in a fresh browser and loads the page it lands on.
/// With `check`, also confirms through `/api/me` that the right person is signed in.
/// Returns the browser's jar (signed in).
pub async fn sign_in(
    client: &Client,
    app: &str,
    provider: Provider,
    user: &str,
    check: bool,
) -> Result<Jar, String> {
    let mut jar = Jar::default();
    let start = get(
        client,
        &mut jar,
        &format!("{app}/authorize/{}?remember=on", provider.name()),
    )
    .await?;
    let at_provider = location(&start, "authorize")?;
    let hint = format!("{at_provider}&login_hint={user}");
    let approved = get(client, &mut jar, &hint).await?;
    let callback = if provider == Provider::Apple {
        post_answer(client, app, approved).await?
    } else {
        location(&approved, "provider")?
    };
    let finished = get(client, &mut jar, &callback).await?;
    let next = location(&finished, "callback")?;
    let page = get(client, &mut jar, &format!("{app}{next}")).await?;
    if page.status() != StatusCode::OK {
        return Err(format!("signed-in page: status {}", page.status()));
    }
    let body = page.text().await.map_err(|e| e.to_string())?;
    if check {
        let greeting = format!("Hi, User {user}!");
        if !body.contains(&greeting) {
            return Err(format!("the page does not greet {user}"));
        }
        let me = get(client, &mut jar, &format!("{app}/api/me")).await?;
        let me = me.bytes().await.map_err(|e| e.to_string())?;
        let me: serde_json::Value = serde_json::from_slice(&me).map_err(|e| e.to_string())?;
        // `provider` and `subject` since accounts; `social_id` in earlier versions, which
        // the A/B comparisons run against.
        let identity = &me["identities"][0];
        let expected = format!("{}${user}", provider.name());
        let is_user = (identity["provider"] == provider.name() && identity["subject"] == user)
            || identity["social_id"] == expected.as_str();
        if !is_user {
            return Err(format!("signed in as {me}, expected {expected}"));
        }
    }
    Ok(jar)
}

/// Apple's page posting its form to the callback, as a cross-site POST (no cookies): the
/// app's 303 to its own GET callback, as an absolute URL.
async fn post_answer(client: &Client, app: &str, page: Response) -> Result<String, String> {
    let page = page
        .text()
        .await
        .map_err(|e| format!("provider page: {e}"))?;
    let action = between(&page, r#"action=""#, "\"").ok_or("provider page: no form")?;
    // Built before any await: the serializer is not `Send`.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for input in page.split("<input ").skip(1) {
            let (Some(name), Some(value)) = (
                between(input, r#"name=""#, "\""),
                between(input, r#"value=""#, "\""),
            ) else {
                continue;
            };
            form.append_pair(name, &value.replace("&quot;", "\"").replace("&amp;", "&"));
        }
        form.finish()
    };
    let response = client
        .post(action)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST callback: {e}"))?;
    if response.status() != StatusCode::SEE_OTHER {
        return Err(format!("form post: status {}", response.status()));
    }
    let next = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("form post: no Location")?;
    Ok(format!("{app}{next}"))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// What a timed run measured.
#[derive(Default)]
pub struct Outcome {
    pub latencies: Vec<Duration>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub checked: u64,
    /// CPU the load generator (with the provider stand-in) used meanwhile, in cores.
    pub loadgen_cores: f64,
}

impl Outcome {
    pub fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.checked += other.checked;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn record(&mut self, started: Instant, result: Result<(), String>) {
        match result {
            Ok(()) => self.latencies.push(started.elapsed()),
            Err(err) => {
                self.errors += 1;
                self.first_error.get_or_insert(err);
            }
        }
    }

    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies.sort_unstable();
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}
