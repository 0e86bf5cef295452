//! The one HTTP client used to talk to providers.

use std::{future::Future, ops::Deref, pin::Pin, sync::Arc, time::Duration};

use super::address_policy::{AddressPolicy, Refused};

/// A `reqwest::Client` (through `Deref`) that connects only where [`AddressPolicy`] allows,
/// with the policy at hand for URLs that providers name.
#[derive(Clone)]
pub struct ProviderClient {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl Deref for ProviderClient {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        &self.client
    }
}

impl ProviderClient {
    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }
}

/// Never follows redirects (a provider redirect must not steer our server elsewhere: SSRF),
/// gives up after `timeout` so a hanging provider cannot hold a request forever, and
/// resolves names through the policy's filter.
pub fn build(timeout: Duration, policy: AddressPolicy) -> ProviderClient {
    let policy = Arc::new(policy);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .dns_resolver(policy.resolver())
        // A proxy from the environment would resolve names itself, past the filter.
        .no_proxy()
        .user_agent(concat!("social-signin/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with static settings always builds");
    ProviderClient { client, policy }
}

/// An error with its causes (`error sending request: dns error: ...`): reqwest's own
/// message names the URL but not why it failed.
pub fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why a provider's answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Reads a body of at most `max` bytes, stopping as soon as it is exceeded: a provider (or
/// whoever answers in its place) that sends gigabytes costs us `max` bytes of memory and
/// no more, whatever `Content-Length` claims or omits.
pub async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(ReadError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `oauth2` crate's HTTP client, reading answers with [`read_capped`] (the crate's own
/// reqwest client reads whole bodies), and sending nothing to an address the policy
/// refuses; with `provider_named_urls`, nothing to a URL it refuses either (an issuer's
/// key set, which `openidconnect` fetches as its discovery document names it).
pub struct CappedOAuth2Client<'a> {
    pub http: &'a ProviderClient,
    pub max: usize,
    pub provider_named_urls: bool,
}

impl<'c> oauth2::AsyncHttpClient<'c> for CappedOAuth2Client<'_> {
    type Error = ReadError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, ReadError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request: reqwest::Request = request.try_into()?;
            if self.provider_named_urls {
                self.http.policy.check_url(request.url())?;
            } else {
                self.http.policy.check_address(request.url())?;
            }
            let response = self.http.execute(request).await?;
            let mut answer = http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = read_capped(response, self.max).await?;
            Ok(answer
                .body(body)
                .expect("status and headers copied from a valid response"))
        })
    }
}
