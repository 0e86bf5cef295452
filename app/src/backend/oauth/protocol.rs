//! The one place that picks a provider's protocol: how its sign-in starts, which value in
//! the answer ties it to the browser, and how it finishes. The steps themselves live in
//! the protocol modules (`oauth2_flow`, `oauth1_flow`, `oidc_flow`).

use serde::{Deserialize, Serialize};
use url::Url;

use super::address_policy::AddressPolicy;
use super::http_client::{self, ProviderClient};
use super::profile::Profile;
use super::{oauth1_flow, oauth2_flow, oidc_flow};
use crate::backend::config::{Config, ProtocolSettings, ProviderConfig};
use crate::backend::db::users::ProviderTokens;
use crate::error::AppError;
use crate::models::CallbackParams;

/// What the callback must match, per protocol; kept in the pending sign-in's cookie meanwhile.
#[derive(Serialize, Deserialize)]
pub enum PendingProof {
    OAuth2(oauth2_flow::Pending),
    OAuth1(oauth1_flow::Pending),
    OpenIdConnect(oidc_flow::Pending),
}

impl PendingProof {
    /// The secret value the provider hands back, which ties an answer to this sign-in.
    pub fn binding(&self) -> &str {
        match self {
            PendingProof::OAuth2(pending) => &pending.csrf_state,
            PendingProof::OAuth1(pending) => &pending.request_token,
            PendingProof::OpenIdConnect(pending) => &pending.oauth2.csrf_state,
        }
    }

    /// Where the answer carries that value, and what a mismatch is called in messages.
    /// Twitter names the request token in `denied` when the person says no.
    pub fn answered_binding<'a>(
        &self,
        params: &'a CallbackParams,
    ) -> (Option<&'a str>, &'static str) {
        match self {
            PendingProof::OAuth2(_) | PendingProof::OpenIdConnect(_) => {
                (params.state.as_deref(), "state mismatch")
            }
            PendingProof::OAuth1(_) => (
                params.oauth_token.as_deref().or(params.denied.as_deref()),
                "token mismatch",
            ),
        }
    }
}

/// What the provider said to a sign-in attempt made only to check this site's registration
/// (`server doctor`).
#[derive(Debug, PartialEq, Eq)]
pub enum ClientCheck {
    /// The provider knows the client and its secret (it refused only the made-up code).
    Accepted,
    /// Client id or secret refused.
    CredentialsRefused,
    /// The callback URL is not registered with the provider.
    CallbackRefused,
    /// No answer: the endpoint's address, the network or the provider.
    Unreachable(String),
    /// An OpenID Connect issuer whose discovery failed (unreachable, or a document that
    /// names another issuer), as one sentence.
    Undiscoverable(String),
    /// An answer that says neither, as the provider put it (status or error code).
    Unclear(String),
}

/// Checks the provider's registration of this site: the credentials and, where the
/// protocol shows it, the callback URL. Makes no sign-in: the code it offers is made up.
pub async fn check_client(
    http: &ProviderClient,
    provider: &ProviderConfig,
    redirect_uri: &Url,
) -> ClientCheck {
    match &provider.protocol {
        ProtocolSettings::OAuth2(oauth2) => {
            oauth2_flow::check_client(http, provider, &oauth2.token_endpoints(), redirect_uri).await
        }
        ProtocolSettings::OAuth1(oauth1) => {
            oauth1_flow::check_client(http, provider, oauth1, redirect_uri).await
        }
        ProtocolSettings::OpenIdConnect(oidc) => {
            oidc_flow::check_client(http, provider, oidc, redirect_uri).await
        }
    }
}

/// The provider's endpoints, each with the suffix of the variable that sets it
/// (`TOKEN_URL` for `OAUTH_<NAME>_TOKEN_URL`); the first is the one [`check_client`] asks.
pub fn endpoints(provider: &ProviderConfig) -> Vec<(&'static str, &Url)> {
    match &provider.protocol {
        ProtocolSettings::OAuth2(oauth2) => {
            let mut endpoints = vec![
                ("TOKEN_URL", &oauth2.endpoints.token_url),
                ("AUTHORIZE_URL", &oauth2.endpoints.authorize_url),
                ("USERINFO_URL", &oauth2.endpoints.userinfo_url),
            ];
            if let Some(emails_url) = &oauth2.emails_url {
                endpoints.push(("EMAILS_URL", emails_url));
            }
            if let Some(grant_url) = &oauth2.grant_url {
                endpoints.push(("GRANT_URL", grant_url));
            }
            endpoints
        }
        ProtocolSettings::OAuth1(oauth1) => vec![
            ("REQUEST_TOKEN_URL", &oauth1.request_token_url),
            ("AUTHORIZE_URL", &oauth1.endpoints.authorize_url),
            ("ACCESS_TOKEN_URL", &oauth1.endpoints.token_url),
            ("USERINFO_URL", &oauth1.endpoints.userinfo_url),
        ],
        ProtocolSettings::OpenIdConnect(oidc) => vec![("ISSUER", oidc.issuer.url().url())],
    }
}

/// The client for `config`'s providers: private addresses are reachable only on the hosts
/// the operator configured (see [`operator_urls`]).
pub fn provider_client(config: &Config) -> ProviderClient {
    let policy = AddressPolicy::trusting(operator_urls(config));
    http_client::build(config.http_timeout, policy)
}

/// Every URL the operator configured: `PUBLIC_URL` (where the demo provider lives) and each
/// provider's endpoints or issuer. Their hosts may be on private addresses (see
/// `address_policy`); what an issuer's discovery names may not, unless on one of them.
pub fn operator_urls(config: &Config) -> Vec<&Url> {
    std::iter::once(&config.public_url)
        .chain(
            config
                .providers
                .iter()
                .flat_map(|provider| endpoints(provider).into_iter().map(|(_, url)| url)),
        )
        .collect()
}

/// Who vouches for the provider's identities, half of an identity's key (with the subject):
/// an OpenID Connect issuer's identifier (the `iss` of its ID tokens), or for OAuth 2 and
/// OAuth 1.0a providers the site of their authorization endpoint (`https://github.com`;
/// a GitHub Enterprise's own host when the endpoints point there). A multi-tenant issuer's
/// is its site too (`https://login.microsoftonline.com`): its subjects are unique per
/// application across tenants, and choosing another `OAUTH_MICROSOFT_TENANT` must not make
/// strangers of the people already signed in. Renaming the provider's variables changes
/// none of these; pointing them at another issuer or site changes it.
pub fn identity_issuer(provider: &ProviderConfig) -> String {
    match &provider.protocol {
        ProtocolSettings::OAuth2(oauth2) => site_of(&oauth2.endpoints.authorize_url),
        ProtocolSettings::OAuth1(oauth1) => site_of(&oauth1.endpoints.authorize_url),
        ProtocolSettings::OpenIdConnect(oidc) if oidc.tenancy.is_some() => {
            site_of(oidc.issuer.url().url())
        }
        ProtocolSettings::OpenIdConnect(oidc) => oidc.issuer.url().as_str().to_owned(),
    }
}

fn site_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Every configured provider with [`identity_issuer`] (for `identities::adopt_issuers`).
pub fn identity_issuers(config: &Config) -> Vec<(String, String)> {
    config
        .providers
        .iter()
        .map(|provider| (provider.name.clone(), identity_issuer(provider)))
        .collect()
}

/// Where the provider's sign-in page is: an OpenID Connect issuer's once discovered (until
/// then the issuer itself, where it nearly always is).
pub fn sign_in_page(provider: &ProviderConfig) -> Url {
    match &provider.protocol {
        ProtocolSettings::OAuth2(oauth2) => oauth2.endpoints.authorize_url.clone(),
        ProtocolSettings::OAuth1(oauth1) => oauth1.endpoints.authorize_url.clone(),
        ProtocolSettings::OpenIdConnect(oidc) => oidc
            .issuer
            .authorization_endpoint()
            .unwrap_or_else(|| oidc.issuer.url().url().clone()),
    }
}

/// Whether a sign-in with `provider` can start as far as is known: false only while an
/// OpenID Connect issuer's discovery has just failed with nothing cached.
pub fn is_available(provider: &ProviderConfig) -> bool {
    match &provider.protocol {
        ProtocolSettings::OpenIdConnect(oidc) => oidc.issuer.is_available(),
        ProtocolSettings::OAuth2(_) | ProtocolSettings::OAuth1(_) => true,
    }
}

/// Whether `provider` answers by a form posted to the callback (Apple), which
/// `POST /callback/{name}` accepts for it, and only for it.
pub fn answers_by_form_post(provider: &ProviderConfig) -> bool {
    matches!(&provider.protocol, ProtocolSettings::OpenIdConnect(oidc) if oidc.form_post)
}

/// Whether starting a sign-in with `provider` calls the provider (OAuth 1.0a asks for a
/// request token, which spends the app's quota there); the others only build a URL.
pub fn start_calls_provider(provider: &ProviderConfig) -> bool {
    matches!(provider.protocol, ProtocolSettings::OAuth1(_))
}

/// Discovers every OpenID Connect issuer in the background, so that the first sign-in with
/// each does not wait for it and an unreachable one shows on its button from the start.
pub fn discover_issuers_in_background(config: &Config, http: &ProviderClient) {
    for provider in &config.providers {
        if let ProtocolSettings::OpenIdConnect(oidc) = &provider.protocol {
            let (issuer, http) = (oidc.issuer.clone(), http.clone());
            tokio::spawn(async move {
                // The outcome is logged, and cached for the first sign-in.
                let _ = issuer.metadata(&http).await;
            });
        }
    }
}

/// Starts a sign-in with `provider`: what to keep, and where to send the browser.
pub async fn start(
    http: &ProviderClient,
    provider: &ProviderConfig,
    redirect_uri: &Url,
) -> Result<(PendingProof, Url), AppError> {
    Ok(match &provider.protocol {
        ProtocolSettings::OAuth2(oauth2) => {
            let (pending, url) = oauth2_flow::start(provider, oauth2, redirect_uri);
            (PendingProof::OAuth2(pending), url)
        }
        ProtocolSettings::OAuth1(oauth1) => {
            let (pending, url) = oauth1_flow::start(http, provider, oauth1, redirect_uri).await?;
            (PendingProof::OAuth1(pending), url)
        }
        ProtocolSettings::OpenIdConnect(oidc) => {
            let (pending, url) = oidc_flow::start(http, provider, oidc, redirect_uri).await?;
            (PendingProof::OpenIdConnect(pending), url)
        }
    })
}

/// Finishes a sign-in whose answer has been matched to `proof`: who signed in, and the
/// provider credentials worth keeping.
pub async fn finish(
    http: &ProviderClient,
    provider: &ProviderConfig,
    redirect_uri: &Url,
    proof: &PendingProof,
    params: &CallbackParams,
) -> Result<(Profile, ProviderTokens), AppError> {
    match (proof, &provider.protocol) {
        (PendingProof::OAuth2(pending), ProtocolSettings::OAuth2(oauth2)) => {
            oauth2_flow::finish(http, provider, oauth2, redirect_uri, pending, params).await
        }
        (PendingProof::OAuth1(pending), ProtocolSettings::OAuth1(oauth1)) => {
            oauth1_flow::finish(http, provider, oauth1, pending, params).await
        }
        (PendingProof::OpenIdConnect(pending), ProtocolSettings::OpenIdConnect(oidc)) => {
            oidc_flow::finish(http, provider, oidc, redirect_uri, pending, params).await
        }
        // Started before a restart that changed the provider's protocol.
        _ => Err(AppError::bad_request(
            "The sign-in was started with another set-up of this provider. Please start again.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sign-ins in flight across an upgrade are completed from what the previous version
    /// sealed in their cookies.
    #[test]
    fn pending_proofs_keep_the_shape_sealed_in_cookies() {
        for stored in [
            r#"{"OAuth2":{"csrf_state":"s","pkce_verifier":"v"}}"#,
            r#"{"OAuth1":{"request_token":"s","request_token_secret":"x"}}"#,
        ] {
            let proof: PendingProof = serde_json::from_str(stored).unwrap();
            assert_eq!(proof.binding(), "s");
            assert_eq!(serde_json::to_string(&proof).unwrap(), stored);
        }
    }

    #[test]
    fn each_protocol_reads_its_own_binding_from_the_answer() {
        let oauth2 = PendingProof::OAuth2(oauth2_flow::Pending {
            csrf_state: "s".into(),
            pkce_verifier: "v".into(),
        });
        let oauth1 = PendingProof::OAuth1(oauth1_flow::Pending {
            request_token: "t".into(),
            request_token_secret: "x".into(),
        });
        let answer = CallbackParams {
            state: Some("from-state".into()),
            oauth_token: Some("from-token".into()),
            ..Default::default()
        };
        assert_eq!(oauth2.answered_binding(&answer).0, Some("from-state"));
        assert_eq!(oauth1.answered_binding(&answer).0, Some("from-token"));
        let denied = CallbackParams {
            denied: Some("from-denied".into()),
            ..Default::default()
        };
        assert_eq!(oauth1.answered_binding(&denied).0, Some("from-denied"));
        assert_eq!(oauth2.answered_binding(&denied).0, None);
    }
}
