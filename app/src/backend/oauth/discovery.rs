//! OpenID Connect discovery: an issuer's metadata (`/.well-known/openid-configuration`,
//! whose `issuer` must be the configured one exactly, Discovery §4.3) and its signing keys,
//! fetched with the capped, redirect-refusing client every provider call uses.

use std::sync::{Arc, Mutex};
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

use super::address_policy::{is_https_or_local, AddressPolicy};
use super::http_client::{with_causes, CappedOAuth2Client, ProviderClient, ReadError};
use super::tenants;

/// An issuer's discovery document, with the fields `openidconnect` does not read.
pub type IssuerMetadata = ProviderMetadata<
    ExtraMetadata,
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

/// What discovery documents say beyond OpenID Connect Discovery itself.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: the issuer names itself (`iss`) in every authorization answer, so an
    /// answer from another issuer cannot pass for its own (mix-up attacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// RFC 7009 (listed as RFC 8414 says): where kept tokens are revoked when the person
    /// unlinks the issuer or deletes their account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<url::Url>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

/// Largest metadata or key-set document read; real ones are a few kilobytes.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// An issuer address as configured: `https://`, or `http://` on this machine (tests, local
/// issuers). Returns the reason it is refused otherwise.
pub fn issuer_url(raw: &str) -> Result<IssuerUrl, String> {
    let issuer =
        IssuerUrl::new(raw.trim().to_owned()).map_err(|err| format!("is not a URL ({err})"))?;
    if is_https_or_local(issuer.url()) {
        Ok(issuer)
    } else {
        Err("must be an https:// URL (http:// only on this machine)".into())
    }
}

fn capped(http: &ProviderClient) -> CappedOAuth2Client<'_> {
    CappedOAuth2Client {
        http,
        max: MAX_DOCUMENT_BYTES,
        // The key set's address is the issuer's word: held to the address policy's rules.
        provider_named_urls: true,
    }
}

/// The issuer's metadata with its current keys. Every endpoint the document names must
/// pass the address policy (`https://`, no private addresses but the operator's own): a
/// document that names one that does not is refused whole, before any secret is sent.
pub async fn discover(http: &ProviderClient, issuer: &IssuerUrl) -> Result<IssuerMetadata, String> {
    let metadata = IssuerMetadata::discover_async(issuer.clone(), &capped(http))
        .await
        .map_err(describe)?;
    check_endpoints(http.policy(), &metadata)?;
    Ok(metadata)
}

/// A multi-tenant issuer's metadata with its keys (see `tenants`): its document names the
/// `{tenantid}` template, or the tenant's id where the address named it by domain, on the
/// same site; `discover` (Discovery §4.3: exactly the configured issuer) would refuse it.
/// The same checks otherwise: size cap, address policy for every endpoint and the keys.
pub async fn discover_multi_tenant(
    http: &ProviderClient,
    issuer: &IssuerUrl,
) -> Result<IssuerMetadata, String> {
    use oauth2::AsyncHttpClient;
    let address = issuer
        .join(".well-known/openid-configuration")
        .map_err(|err| format!("has no discovery address ({err})"))?;
    let request = http::Request::get(address.as_str())
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|err| format!("has no discovery address ({err})"))?;
    let client = capped(http);
    let response = client
        .call(request)
        .await
        .map_err(|err| describe(DiscoveryError::Request(err)))?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("HTTP {} at {address}", response.status()));
    }
    let metadata: IssuerMetadata = serde_json::from_slice(response.body())
        .map_err(|err| format!("its discovery document does not read ({err})"))?;
    if !tenants::document_issuer_fits(issuer.url(), metadata.issuer().url()) {
        return Err(format!(
            "its discovery document names the issuer {} of another site",
            metadata.issuer().as_str()
        ));
    }
    check_endpoints(http.policy(), &metadata)?;
    let keys = JsonWebKeySet::fetch_async(metadata.jwks_uri(), &client)
        .await
        .map_err(describe)?;
    Ok(metadata.set_jwks(keys))
}

fn check_endpoints(policy: &AddressPolicy, metadata: &IssuerMetadata) -> Result<(), String> {
    let named = [
        (
            "authorization_endpoint",
            Some(metadata.authorization_endpoint().url()),
        ),
        (
            "token_endpoint",
            metadata.token_endpoint().map(|url| url.url()),
        ),
        (
            "userinfo_endpoint",
            metadata.userinfo_endpoint().map(|url| url.url()),
        ),
        (
            "revocation_endpoint",
            metadata.additional_metadata().revocation_endpoint.as_ref(),
        ),
        // `jwks_uri` is not here: the key set is fetched with the discovery, through a
        // client that checks the URL before sending (see `capped`).
    ];
    for (field, url) in named {
        if let Some(url) = url {
            policy
                .check_url(url)
                .map_err(|refused| format!("its {field} is refused: {}", refused.0))?;
        }
    }
    Ok(())
}

/// The issuer's keys fetched again (a token named a key the cached set lacks: rotation).
pub async fn refetch_keys(
    http: &ProviderClient,
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
        // The configured issuer's own address passes: what is refused is the key set's.
        DiscoveryError::Request(ReadError::Refused(refused)) => {
            format!("its jwks_uri is refused: {}", refused.0)
        }
        DiscoveryError::Response(status, _, message) => format!("HTTP {status}: {message}"),
        other => with_causes(&other),
    }
}

/// How long discovered documents are used as they are, and how long the last good one
/// still serves while the issuer cannot be reached (`OIDC_DISCOVERY_REFRESH_SECS`,
/// `OIDC_DISCOVERY_MAX_STALE_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Older than this, a document is refreshed in the background while it still serves.
    pub refresh_after: Duration,
    /// Older than this, a document no longer serves: the issuer may have rotated its keys
    /// out, so sign-ins wait for a fresh one, or are "temporarily unavailable".
    pub max_stale: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            refresh_after: Duration::from_secs(60 * 60),
            max_stale: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// After a failed discovery with nothing usable cached, sign-ins are refused at once for
/// this long rather than each waiting for a dead issuer.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);
/// An unknown `kid` fetches the key set again at most this often per issuer: tokens naming
/// made-up keys must not turn us into a flood against the issuer.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// A configured issuer and what its discovery found, shared by every request.
///
/// - Fetched at start-up (or on first use); a sign-in that finds nothing cached waits for
///   the discovery under way, or starts one, within the provider timeout.
/// - Once a copy is cached, no sign-in waits on a refresh: a copy older than
///   `refresh_after` serves while one background refresh runs (stale-while-revalidate);
///   a copy older than `max_stale` no longer serves.
/// - Keys are fetched again when a token names a key the cached set lacks, at most once
///   per [`KEY_REFETCH_INTERVAL`].
/// - Every fetch is stamped with when it began; an older one never replaces a newer copy.
pub struct Issuer {
    url: IssuerUrl,
    /// One document for many tenants' issuers (see `tenants`).
    multi_tenant: bool,
    timing: Timing,
    state: Mutex<State>,
    /// One fetch of the document at a time; sign-ins with nothing usable wait on it.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    cached: Option<Discovered>,
    last_failure: Option<Instant>,
    /// Fetches of the document finished so far: a waiter knows whether one ended meanwhile.
    fetches_done: u64,
    refreshing_in_background: bool,
    last_key_refetch: Option<Instant>,
}

struct Discovered {
    metadata: Arc<IssuerMetadata>,
    /// When the document was fetched: how old it is.
    document_at: Instant,
    /// When the fetch that produced this copy (document or keys) began.
    version: Instant,
}

/// Where an issuer's discovery stands (see [`Issuer::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryPhase {
    /// Nobody has needed it yet (discovery at start-up is under way or failed silently).
    NotYetDiscovered,
    /// A copy younger than the refresh interval.
    Fresh,
    /// A copy that still serves while a refresh is due (or failing).
    Stale,
    /// Nothing usable: its sign-ins fail until a discovery succeeds.
    Unavailable,
}

impl DiscoveryPhase {
    pub const ALL: [DiscoveryPhase; 4] = [
        DiscoveryPhase::NotYetDiscovered,
        DiscoveryPhase::Fresh,
        DiscoveryPhase::Stale,
        DiscoveryPhase::Unavailable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DiscoveryPhase::NotYetDiscovered => "not_yet_discovered",
            DiscoveryPhase::Fresh => "fresh",
            DiscoveryPhase::Stale => "stale",
            DiscoveryPhase::Unavailable => "unavailable",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct DiscoveryStatus {
    pub phase: DiscoveryPhase,
    /// How old the cached document is, if there is one.
    pub age: Option<std::time::Duration>,
}

/// The issuer could not be discovered and nothing usable is cached: its sign-in is
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
    pub fn new(url: IssuerUrl, timing: Timing) -> Self {
        Self {
            url,
            multi_tenant: false,
            timing,
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// An issuer whose document serves many tenants (see `tenants`).
    pub fn multi_tenant(url: IssuerUrl, timing: Timing) -> Self {
        Self {
            multi_tenant: true,
            ..Self::new(url, timing)
        }
    }

    pub fn url(&self) -> &IssuerUrl {
        &self.url
    }

    /// Whether a sign-in can start now as far as anyone knows: a usable copy, or no
    /// failure moments ago.
    pub fn is_available(&self) -> bool {
        let state = self.state.lock().unwrap();
        self.usable(&state).is_some() || !failed_recently(&state)
    }

    /// Where this issuer's discovery stands, for `/metrics`.
    pub fn status(&self) -> DiscoveryStatus {
        let state = self.state.lock().unwrap();
        let phase = match self.usable(&state) {
            Some((_, refresh_due)) if !refresh_due => DiscoveryPhase::Fresh,
            Some(_) => DiscoveryPhase::Stale,
            None if state.cached.is_none() && state.last_failure.is_none() => {
                DiscoveryPhase::NotYetDiscovered
            }
            None => DiscoveryPhase::Unavailable,
        };
        DiscoveryStatus {
            phase,
            age: state
                .cached
                .as_ref()
                .map(|found| found.document_at.elapsed()),
        }
    }

    /// The issuer's authorization endpoint, once discovered.
    pub fn authorization_endpoint(&self) -> Option<url::Url> {
        let state = self.state.lock().unwrap();
        state
            .cached
            .as_ref()
            .map(|found| found.metadata.authorization_endpoint().url().clone())
    }

    /// The issuer's metadata and keys. A usable copy is returned at once (and refreshed in
    /// the background when due); with none, this waits for a discovery.
    pub async fn metadata(
        self: &Arc<Self>,
        http: &ProviderClient,
    ) -> Result<Arc<IssuerMetadata>, Unavailable> {
        let fetches_before = {
            let mut state = self.state.lock().unwrap();
            if let Some((metadata, due)) = self.usable(&state) {
                if due && !state.refreshing_in_background && !failed_recently(&state) {
                    state.refreshing_in_background = true;
                    self.refresh_in_background(http.clone());
                }
                return Ok(metadata);
            }
            state.fetches_done
        };
        let _one_at_a_time = self.fetching.lock().await;
        {
            let state = self.state.lock().unwrap();
            if let Some((metadata, _)) = self.usable(&state) {
                return Ok(metadata);
            }
            // A discovery ended while this one waited, or moments before it came: its
            // failure is this request's answer too.
            if state.fetches_done > fetches_before || failed_recently(&state) {
                return Err(Unavailable(
                    "its discovery failed moments ago; nothing usable is cached".into(),
                ));
            }
        }
        self.fetch(http).await
    }

    /// A refresh nobody waits for; the copy in use serves until it succeeds.
    fn refresh_in_background(self: &Arc<Self>, http: ProviderClient) {
        let issuer = self.clone();
        tokio::spawn(async move {
            let _one_at_a_time = issuer.fetching.lock().await;
            // The outcome is logged and cached.
            let _ = issuer.fetch(&http).await;
            issuer.state.lock().unwrap().refreshing_in_background = false;
        });
    }

    /// Fetches the document and its keys now, and keeps them. Call holding `fetching`.
    async fn fetch(&self, http: &ProviderClient) -> Result<Arc<IssuerMetadata>, Unavailable> {
        let began = Instant::now();
        let outcome = if self.multi_tenant {
            discover_multi_tenant(http, &self.url).await
        } else {
            discover(http, &self.url).await
        };
        let mut state = self.state.lock().unwrap();
        state.fetches_done += 1;
        match outcome {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                store(&mut state, metadata.clone(), began, began);
                state.last_failure = None;
                tracing::info!(issuer = self.url.as_str(), "issuer discovered");
                Ok(metadata)
            }
            Err(problem) => {
                state.last_failure = Some(Instant::now());
                tracing::warn!(issuer = self.url.as_str(), %problem, "issuer discovery failed");
                Err(Unavailable(problem))
            }
        }
    }

    /// The metadata with the issuer's keys fetched again (a token named a key the cached
    /// set lacks: the issuer rotated its keys). Within [`KEY_REFETCH_INTERVAL`] of the last
    /// refetch, the cached copy (which that refetch updated) is the answer.
    pub async fn refresh_keys(
        &self,
        http: &ProviderClient,
        metadata: &Arc<IssuerMetadata>,
    ) -> Result<Arc<IssuerMetadata>, Unavailable> {
        let (base, document_at) = {
            let mut state = self.state.lock().unwrap();
            let current = state
                .cached
                .as_ref()
                .map(|found| (found.metadata.clone(), found.document_at));
            if state
                .last_key_refetch
                .is_some_and(|at| at.elapsed() < KEY_REFETCH_INTERVAL)
            {
                return Ok(current.map_or_else(|| metadata.clone(), |(cached, _)| cached));
            }
            state.last_key_refetch = Some(Instant::now());
            current.unwrap_or_else(|| (metadata.clone(), Instant::now()))
        };
        let began = Instant::now();
        let keys = refetch_keys(http, &base).await.map_err(|problem| {
            tracing::warn!(issuer = self.url.as_str(), %problem, "issuer keys unavailable");
            Unavailable(problem)
        })?;
        let metadata = Arc::new(base.as_ref().clone().set_jwks(keys));
        // New keys, not a newer document: it stays as old as it was.
        store(
            &mut self.state.lock().unwrap(),
            metadata.clone(),
            document_at,
            began,
        );
        tracing::info!(issuer = self.url.as_str(), "issuer keys fetched again");
        Ok(metadata)
    }

    /// The cached copy if it may still serve, and whether a refresh is due.
    fn usable(&self, state: &State) -> Option<(Arc<IssuerMetadata>, bool)> {
        let found = state.cached.as_ref()?;
        let age = found.document_at.elapsed();
        (age < self.timing.max_stale)
            .then(|| (found.metadata.clone(), age >= self.timing.refresh_after))
    }
}

/// Keeps `metadata` unless the cache holds a copy from a fetch that began later: an answer
/// that was slow to come never replaces a newer one.
fn store(state: &mut State, metadata: Arc<IssuerMetadata>, document_at: Instant, version: Instant) {
    if state
        .cached
        .as_ref()
        .is_some_and(|found| found.version > version)
    {
        return;
    }
    state.cached = Some(Discovered {
        metadata,
        document_at,
        version,
    });
}

fn failed_recently(state: &State) -> bool {
    state
        .last_failure
        .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(token_endpoint: &str) -> Arc<IssuerMetadata> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "issuer": "https://issuer.example.com",
                "authorization_endpoint": "https://issuer.example.com/authorize",
                "token_endpoint": token_endpoint,
                "jwks_uri": "https://issuer.example.com/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }))
            .unwrap(),
        )
    }

    fn token_endpoint(state: &State) -> String {
        let cached = state.cached.as_ref().unwrap();
        cached
            .metadata
            .token_endpoint()
            .unwrap()
            .as_str()
            .to_owned()
    }

    #[test]
    fn an_answer_from_an_older_fetch_never_replaces_a_newer_copy() {
        let mut state = State::default();
        let early = Instant::now();
        let late = early + Duration::from_millis(5);
        store(
            &mut state,
            document("https://issuer.example.com/new"),
            late,
            late,
        );
        // The keys refetched from a request that began earlier came back last.
        store(
            &mut state,
            document("https://issuer.example.com/old"),
            early,
            early,
        );
        assert_eq!(token_endpoint(&state), "https://issuer.example.com/new");
        let later = late + Duration::from_millis(5);
        store(
            &mut state,
            document("https://issuer.example.com/newer"),
            later,
            later,
        );
        assert_eq!(token_endpoint(&state), "https://issuer.example.com/newer");
    }

    #[test]
    fn a_copy_serves_until_the_bound_and_is_refreshed_after_its_interval() {
        let issuer = Issuer::new(
            issuer_url("https://issuer.example.com").unwrap(),
            Timing {
                refresh_after: Duration::from_secs(60),
                max_stale: Duration::from_secs(600),
            },
        );
        let mut state = State::default();
        let now = Instant::now();
        store(
            &mut state,
            document("https://issuer.example.com/t"),
            now,
            now,
        );
        assert!(matches!(issuer.usable(&state), Some((_, false))), "fresh");
        state.cached.as_mut().unwrap().document_at = now - Duration::from_secs(61);
        assert!(matches!(issuer.usable(&state), Some((_, true))), "due");
        state.cached.as_mut().unwrap().document_at = now - Duration::from_secs(601);
        assert!(issuer.usable(&state).is_none(), "too old to trust");
    }
}
