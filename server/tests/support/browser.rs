//! A cookie-keeping HTTP client that shows every redirect instead of following it.

use std::collections::HashMap;

const HTML: &str = "text/html,application/xhtml+xml";

pub struct Browser {
    http: reqwest::Client,
    origin: String,
    /// name -> value
    pub cookies: HashMap<String, String>,
    /// Every Set-Cookie header seen, newest last.
    pub set_cookie_log: Vec<String>,
}

impl Browser {
    pub fn new(origin: &str) -> Self {
        Self::from_address(origin, None)
    }

    /// A browser whose connections come from `local` (another loopback address: another
    /// client, as a proxy reports it).
    pub fn from_address(origin: &str, local: Option<std::net::IpAddr>) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(local)
                .build()
                .unwrap(),
            origin: origin.to_owned(),
            cookies: HashMap::new(),
            set_cookie_log: Vec::new(),
        }
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get("session").cloned()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all("set-cookie") {
            let raw = header.to_str().unwrap().to_owned();
            let first = raw.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            let expired = raw.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookie_log.push(raw);
        }
    }

    /// A request with this browser's cookies and nothing else.
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, url);
        if !self.cookies.is_empty() {
            request = request.header("cookie", self.cookie_header());
        }
        request
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        self.try_send(request).await.expect("request")
    }

    /// [`Browser::send`], with a failed connection as an error instead of a panic.
    pub async fn try_send(
        &mut self,
        request: reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        let response = request.send().await?;
        self.remember(&response);
        Ok(response)
    }

    /// [`Browser::get`], with a failed connection as an error instead of a panic.
    pub async fn try_get(&mut self, url: &str) -> reqwest::Result<reqwest::Response> {
        let request = self
            .request(reqwest::Method::GET, url)
            .header("accept", HTML);
        self.try_send(request).await
    }

    /// A navigation, as a page load or link click sends it.
    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let request = self
            .request(reqwest::Method::GET, url)
            .header("accept", HTML);
        self.send(request).await
    }

    /// A same-origin form post, as the page's own forms send it.
    pub async fn post_form(&mut self, url: &str, form: &[(String, String)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .request(reqwest::Method::POST, url)
            .header("accept", HTML)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.origin.clone())
            .header("sec-fetch-site", "same-origin")
            .body(body);
        self.send(request).await
    }
}
