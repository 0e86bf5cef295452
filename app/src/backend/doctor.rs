//! `server doctor`: for every configured provider, the callback URL to register there and
//! whether the provider accepts this site's registration; for the whole set-up, what is
//! wrong. Each problem is one sentence naming the setting to change. Most trouble people
//! have with social sign-in is set-up: an unregistered callback URL, a wrong secret, an
//! http:// address where a provider wants https://.

use std::fmt::Write as _;

use url::Url;

use super::config::{is_loopback, ClientSecret, Config, ProviderConfig};
use super::oauth::http_client::ProviderClient;
use super::oauth::protocol::{self, ClientCheck};

/// One line of the report.
#[derive(Debug, PartialEq, Eq)]
pub enum Finding {
    Fine(String),
    Problem(String),
}

#[derive(Debug)]
pub struct ProviderReport {
    pub label: String,
    /// The callback URL to register at the provider.
    pub callback: Url,
    pub findings: Vec<Finding>,
}

#[derive(Debug)]
pub struct Report {
    pub general: Vec<Finding>,
    pub providers: Vec<ProviderReport>,
}

impl Report {
    pub fn has_problems(&self) -> bool {
        self.general
            .iter()
            .chain(self.providers.iter().flat_map(|p| &p.findings))
            .any(|finding| matches!(finding, Finding::Problem(_)))
    }

    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let line = |text: &mut String, finding: &Finding| {
            let _ = match finding {
                Finding::Fine(sentence) => writeln!(text, "  ok: {sentence}"),
                Finding::Problem(sentence) => writeln!(text, "  PROBLEM: {sentence}"),
            };
        };
        let _ = writeln!(text, "Set-up");
        self.general.iter().for_each(|f| line(&mut text, f));
        for provider in &self.providers {
            let _ = writeln!(
                text,
                "\n{}: register this callback URL with the provider: {}",
                provider.label, provider.callback
            );
            provider.findings.iter().for_each(|f| line(&mut text, f));
        }
        let _ = writeln!(
            text,
            "\n{}",
            if self.has_problems() {
                "Problems found: fix the settings named above and run `server doctor` again."
            } else {
                "No problems found."
            }
        );
        text
    }
}

/// Examines `config`, asking each configured provider (but the built-in demo provider,
/// which lives in the server itself) whether it accepts this site's registration.
pub async fn examine(config: &Config, http: &ProviderClient) -> Report {
    let mut general = Vec::new();
    let public_url = &config.public_url;
    if public_url.scheme() == "https" {
        general.push(Finding::Fine(format!("PUBLIC_URL is {public_url}")));
    } else if is_loopback(public_url) {
        general.push(Finding::Fine(format!(
            "PUBLIC_URL is {public_url}, this machine only (use an https:// address to serve others)"
        )));
    } else {
        general.push(Finding::Problem(format!(
            "PUBLIC_URL is {public_url}: cookies and sign-in codes would cross the network \
             unencrypted; set PUBLIC_URL to the site's https:// address"
        )));
    }
    let mut providers = Vec::new();
    for provider in &config.providers {
        let Some(settings) = provider.settings_prefix.as_deref() else {
            general.push(Finding::Fine(
                "the built-in demo provider is on (DEMO_PROVIDER): anyone can sign in as anyone"
                    .into(),
            ));
            continue;
        };
        providers.push(examine_provider(config, http, provider, settings).await);
    }
    general.extend(token_key_findings(config));
    if providers.is_empty() {
        general.push(Finding::Fine(
            "no real provider is configured: set OAUTH_FACEBOOK_CLIENT_ID and \
             OAUTH_FACEBOOK_CLIENT_SECRET (or those of another provider, see the README)"
                .into(),
        ));
    }
    Report { general, providers }
}

/// Which key seals kept provider tokens, and what to do about the previous one. Reads a
/// loopback set-up's key file but never makes it (the server does, at its first start).
fn token_key_findings(config: &Config) -> Vec<Finding> {
    use super::config::TokenEncryption;
    use super::provider_tokens::keys;
    match &config.token_encryption {
        TokenEncryption::Unneeded => Vec::new(),
        TokenEncryption::Given(token_keys) => {
            let mut findings = vec![Finding::Fine(format!(
                "kept provider tokens are sealed with TOKEN_ENCRYPTION_KEY (key {}); back it up \
                 apart from the database",
                token_keys.current().id()
            ))];
            if let Some(previous) = token_keys.previous() {
                findings.push(Finding::Fine(format!(
                    "TOKEN_ENCRYPTION_KEY_PREVIOUS (key {}) still opens older tokens: run \
                     `server tokens reencrypt`, then remove it",
                    previous.id()
                )));
            }
            findings
        }
        TokenEncryption::MadeUpOnLoopback => {
            match keys::key_file_beside(config.database_url.expose()) {
                None => vec![Finding::Fine(
                    "kept provider tokens are sealed with a key made at each start (no SQLite \
                     file to keep it beside): set TOKEN_ENCRYPTION_KEY to read them after a \
                     restart"
                        .into(),
                )],
                Some(file) if !file.exists() => vec![Finding::Fine(format!(
                    "a key for kept provider tokens will be made in {} at the first start",
                    file.display()
                ))],
                Some(file) => match std::fs::read_to_string(&file)
                    .map_err(|err| err.to_string())
                    .and_then(|text| keys::TokenKey::parse(&text))
                {
                    Ok(key) => vec![Finding::Fine(format!(
                        "kept provider tokens are sealed with the key in {} (key {}); back it \
                         up apart from the database",
                        file.display(),
                        key.id()
                    ))],
                    Err(problem) => vec![Finding::Problem(format!(
                        "the key file {} cannot be used ({problem}): restore it from a backup, \
                         or set TOKEN_ENCRYPTION_KEY",
                        file.display()
                    ))],
                },
            }
        }
    }
}

async fn examine_provider(
    config: &Config,
    http: &ProviderClient,
    provider: &ProviderConfig,
    settings: &str,
) -> ProviderReport {
    let callback = config.redirect_uri(&provider.name);
    let mut findings = Vec::new();
    if provider.https_callback_only && callback.scheme() != "https" && !is_loopback(&callback) {
        findings.push(Finding::Problem(format!(
            "{} accepts only https:// callback URLs: set PUBLIC_URL to the site's https:// \
             address",
            provider.label
        )));
    }
    let signs_its_secret = matches!(provider.client_secret, ClientSecret::Apple(_));
    if signs_its_secret {
        findings.extend(apple_findings(provider, &callback, settings));
    }
    // Which variables make the client's credentials, for the messages below.
    let credentials = if signs_its_secret {
        format!(
            "{settings}_CLIENT_ID, {settings}_TEAM_ID, {settings}_KEY_ID and the key \
             ({settings}_PRIVATE_KEY)"
        )
    } else {
        format!("{settings}_CLIENT_ID and {settings}_CLIENT_SECRET")
    };
    let endpoints = protocol::endpoints(provider);
    for (suffix, url) in &endpoints {
        let variable = format!("{settings}_{suffix}");
        if url.scheme() != "https" && !is_loopback(url) {
            findings.push(Finding::Problem(format!(
                "{variable} is {url}: credentials would cross the network unencrypted; use \
                 the https:// address"
            )));
        }
    }
    let token_variable = format!("{settings}_{}", endpoints[0].0);
    findings.push(
        match protocol::check_client(http, provider, &callback).await {
            ClientCheck::Accepted => Finding::Fine(format!(
                "{} accepts the client id and secret ({settings}_CLIENT_ID)",
                provider.label
            )),
            ClientCheck::CredentialsRefused => Finding::Problem(format!(
                "{} refuses the client credentials: check {credentials}",
                provider.label
            )),
            ClientCheck::CallbackRefused => Finding::Problem(format!(
                "{} does not accept the callback URL {callback}: register it there, or set \
                 PUBLIC_URL to the address the site is served at",
                provider.label
            )),
            ClientCheck::Unreachable(reason) => Finding::Problem(format!(
                "cannot reach {} at {token_variable}: {reason}",
                provider.label
            )),
            ClientCheck::Undiscoverable(reason) => Finding::Problem(format!(
                "the discovery of {} at {token_variable} failed: {reason}; check \
                 {token_variable} (it must be exactly the issuer its \
                 /.well-known/openid-configuration names)",
                provider.label
            )),
            ClientCheck::Unclear(answer) => Finding::Problem(format!(
                "{} answered a check of the credentials with {answer}; check {credentials}, \
                 and {token_variable}",
                provider.label
            )),
        },
    );
    ProviderReport {
        label: provider.label.clone(),
        callback,
        findings,
    }
}

/// Sign in with Apple's own rules: "The return URL must use the https scheme and may not
/// be localhost or an IP address"; and the key that signs the client secret.
fn apple_findings(provider: &ProviderConfig, callback: &Url, settings: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let named_host =
        matches!(callback.host(), Some(url::Host::Domain(host)) if host != "localhost");
    if callback.scheme() != "https" || !named_host {
        findings.push(Finding::Problem(format!(
            "{} accepts only https:// return URLs on a domain name (not localhost, not an IP \
             address): {callback} will be refused there; set PUBLIC_URL to the site's https:// \
             address",
            provider.label
        )));
    }
    if let ClientSecret::Apple(minter) = &provider.client_secret {
        findings.push(Finding::Fine(format!(
            "{settings}_PRIVATE_KEY signs {}'s client secrets (ES256, {})",
            provider.label,
            minter.describe()
        )));
    }
    findings
}
