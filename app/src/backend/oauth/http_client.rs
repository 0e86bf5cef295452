//! The one HTTP client used to talk to providers.

use std::{future::Future, pin::Pin, time::Duration};

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
/// reqwest client reads whole bodies).
pub struct CappedOAuth2Client<'a> {
    pub http: &'a reqwest::Client,
    pub max: usize,
}

impl<'c> oauth2::AsyncHttpClient<'c> for CappedOAuth2Client<'_> {
    type Error = ReadError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, ReadError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.execute(request.try_into()?).await?;
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
