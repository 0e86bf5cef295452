//! OpenID Connect discovery: an issuer's metadata (`/.well-known/openid-configuration`,
//! whose `issuer` must be the configured one exactly, Discovery §4.3) and its signing keys,
//! fetched with the capped, redirect-refusing client every provider call uses.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, DiscoveryError, IssuerUrl, JsonWebKeySet, ProviderMetadata,
};
use serde::{Deserialize, Serialize};

use super::http_client::{with_causes, CappedOAuth2Client, ReadError};
use crate::backend::config::is_loopback;

/// An issuer's discovery document, with the one field `openidconnect` does not read.
pub type IssuerMetadata = ProviderMetadata<
    Rfc9207,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// RFC 9207: the issuer names itself (`iss`) in every authorization answer, so an answer
/// from another issuer cannot pass for its own (mix-up attacks).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Rfc9207 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for Rfc9207 {}

/// Largest metadata or key-set document read; real ones are a few kilobytes.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// An issuer address as configured: `https://`, or `http://` on this machine (tests, local
/// issuers). Returns the reason it is refused otherwise.
pub fn issuer_url(raw: &str) -> Result<IssuerUrl, String> {
    let issuer =
        IssuerUrl::new(raw.trim().to_owned()).map_err(|err| format!("is not a URL ({err})"))?;
    match issuer.url().scheme() {
        "https" => Ok(issuer),
        "http" if is_loopback(issuer.url()) => Ok(issuer),
        _ => Err("must be an https:// URL (http:// only on this machine)".into()),
    }
}

fn capped(http: &reqwest::Client) -> CappedOAuth2Client<'_> {
    CappedOAuth2Client {
        http,
        max: MAX_DOCUMENT_BYTES,
    }
}

/// The issuer's metadata with its current keys.
pub async fn discover(
    http: &reqwest::Client,
    issuer: &IssuerUrl,
) -> Result<IssuerMetadata, String> {
    IssuerMetadata::discover_async(issuer.clone(), &capped(http))
        .await
        .map_err(describe)
}

/// The issuer's keys fetched again (a token named a key the cached set lacks: rotation).
pub async fn refetch_keys(
    http: &reqwest::Client,
    metadata: &IssuerMetadata,
) -> Result<CoreJsonWebKeySet, String> {
    JsonWebKeySet::fetch_async(metadata.jwks_uri(), &capped(http))
        .await
        .map_err(describe)
}

/// One sentence for logs and the set-up doctor.
fn describe(err: DiscoveryError<ReadError>) -> String {
    match err {
        DiscoveryError::Request(ReadError::TooLarge(max)) => {
            format!("the answer is larger than {max} bytes")
        }
        DiscoveryError::Response(status, _, message) => format!("HTTP {status}: {message}"),
        other => with_causes(&other),
    }
}

/// How long discovered metadata is used before it is fetched again.
const METADATA_FRESH_FOR: Duration = Duration::from_secs(60 * 60);
/// After a failed discovery with nothing cached, sign-ins are refused at once for this long
/// rather than each waiting for a dead issuer.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// A configured issuer and what its discovery found, shared by every request: fetched at
/// start-up or on first use, again after an hour (the last good one serves while the issuer
/// is down), and its keys again when a token names a key the cached set lacks.
pub struct Issuer {
    url: IssuerUrl,
    cached: RwLock<Option<Discovered>>,
    last_failure: RwLock<Option<Instant>>,
    /// One discovery at a time: concurrent sign-ins wait for it instead of repeating it.
    fetching: tokio::sync::Mutex<()>,
}

struct Discovered {
    metadata: Arc<IssuerMetadata>,
    at: Instant,
}

/// The issuer could not be discovered and nothing earlier is cached: its sign-in is
/// temporarily unavailable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the issuer's discovery failed: {0}")]
pub struct Unavailable(pub String);

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Issuer {
    pub fn new(url: IssuerUrl) -> Self {
        Self {
            url,
            cached: RwLock::new(None),
            last_failure: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub fn url(&self) -> &IssuerUrl {
        &self.url
    }

    /// Whether a sign-in can start now as far as anyone knows: discovered, or not failed
    /// recently.
    pub fn is_available(&self) -> bool {
        self.cached.read().unwrap().is_some() || !self.failed_recently()
    }

    /// The issuer's authorization endpoint, once discovered.
    pub fn authorization_endpoint(&self) -> Option<url::Url> {
        let cached = self.cached.read().unwrap();
        cached
            .as_ref()
            .map(|found| found.metadata.authorization_endpoint().url().clone())
    }

    /// The issuer's metadata and keys: cached while fresh, else fetched (a stale copy
    /// serves when the fetch fails).
    pub async fn metadata(
        &self,
        http: &reqwest::Client,
    ) -> Result<Arc<IssuerMetadata>, Unavailable> {
        if let Some(fresh) = self.cached_if(|at| at.elapsed() < METADATA_FRESH_FOR) {
            return Ok(fresh);
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Fetched by the request this one waited for?
        if let Some(fresh) = self.cached_if(|at| at.elapsed() < METADATA_FRESH_FOR) {
            return Ok(fresh);
        }
        let stale = self.cached_if(|_| true);
        if self.failed_recently() {
            return stale.ok_or_else(|| Unavailable("it failed moments ago".into()));
        }
        match discover(http, &self.url).await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                self.store(metadata.clone(), Instant::now());
                *self.last_failure.write().unwrap() = None;
                tracing::info!(issuer = self.url.as_str(), "issuer discovered");
                Ok(metadata)
            }
            Err(problem) => {
                *self.last_failure.write().unwrap() = Some(Instant::now());
                tracing::warn!(issuer = self.url.as_str(), %problem, "issuer discovery failed");
                stale.ok_or(Unavailable(problem))
            }
        }
    }

    /// The metadata with the issuer's keys fetched again (a token named a key the cached
    /// set lacks: the issuer rotated its keys).
    pub async fn refresh_keys(
        &self,
        http: &reqwest::Client,
        metadata: &IssuerMetadata,
    ) -> Result<Arc<IssuerMetadata>, Unavailable> {
        let _one_at_a_time = self.fetching.lock().await;
        let keys = refetch_keys(http, metadata).await.map_err(|problem| {
            tracing::warn!(issuer = self.url.as_str(), %problem, "issuer keys unavailable");
            Unavailable(problem)
        })?;
        let metadata = Arc::new(metadata.clone().set_jwks(keys));
        // New keys, not a newer document: it stays as old as it was.
        let fetched_at = self.cached.read().unwrap().as_ref().map(|found| found.at);
        self.store(metadata.clone(), fetched_at.unwrap_or_else(Instant::now));
        tracing::info!(issuer = self.url.as_str(), "issuer keys fetched again");
        Ok(metadata)
    }

    fn cached_if(&self, keep: impl Fn(Instant) -> bool) -> Option<Arc<IssuerMetadata>> {
        let cached = self.cached.read().unwrap();
        cached
            .as_ref()
            .filter(|found| keep(found.at))
            .map(|found| found.metadata.clone())
    }

    /// Keeps `metadata` as the document fetched at `at`.
    fn store(&self, metadata: Arc<IssuerMetadata>, at: Instant) {
        *self.cached.write().unwrap() = Some(Discovered { metadata, at });
    }

    fn failed_recently(&self) -> bool {
        self.last_failure
            .read()
            .unwrap()
            .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE)
    }
}
