//! The one HTTP client used to talk to providers.

use std::time::Duration;

/// Never follows redirects (a provider redirect must not steer our server elsewhere: SSRF),
/// and gives up after `timeout` so a hanging provider cannot hold a request forever.
pub fn build(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("social-signin/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with static settings always builds")
}
