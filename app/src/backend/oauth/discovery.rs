//! OpenID Connect discovery: an issuer's metadata (`/.well-known/openid-configuration`,
//! whose `issuer` must be the configured one exactly, Discovery §4.3) and its signing keys,
//! fetched with the capped, redirect-refusing client every provider call uses.

use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{DiscoveryError, IssuerUrl, JsonWebKeySet};

use super::http_client::{with_causes, CappedOAuth2Client, ReadError};
use crate::backend::config::is_loopback;

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
) -> Result<CoreProviderMetadata, String> {
    CoreProviderMetadata::discover_async(issuer.clone(), &capped(http))
        .await
        .map_err(describe)
}

/// The issuer's keys fetched again (a token named a key the cached set lacks: rotation).
pub async fn refetch_keys(
    http: &reqwest::Client,
    metadata: &CoreProviderMetadata,
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
