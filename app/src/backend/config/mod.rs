//! Configuration from environment variables (main also reads a `.env` file into them).
//! Every problem names the variable, so a bad deployment fails at start-up, not mid-sign-in.

mod apple;
mod oauth2_providers;
mod oidc_issuers;
mod provider;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use rand::distr::{Alphanumeric, SampleString};
use url::Url;

pub use provider::{
    demo_issuer, ClientSecret, Endpoints, OAuth1Settings, OAuth2Settings, OidcSettings,
    ProtocolSettings, ProviderConfig,
};

use super::client_ip;
pub use super::oauth::address_policy::is_loopback;
use super::oauth::providers;
use super::provider_tokens::keys::{TokenKey, TokenKeys};
use super::secret::Secret;

pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://social-signin.db?mode=rwc";
/// Where the server listens unless `LEPTOS_SITE_ADDR` says otherwise (Leptos's default too).
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
const DEFAULT_HTTP_TIMEOUT_MS: u64 = 10_000;
/// The client id under which the app talks to its own built-in demo provider.
pub const DEMO_CLIENT_ID: &str = "social-signin-demo";

#[derive(Debug)]
pub struct Config {
    /// Where browsers reach the app; redirect URIs are `{public_url}/callback/{provider}`.
    pub public_url: Url,
    /// `LEPTOS_SITE_ADDR`: where the server listens (read by Leptos for the listener; here
    /// because it decides whether the demo provider may run by default).
    pub listen_addr: SocketAddr,
    /// May hold a password, hence a [`Secret`].
    pub database_url: Secret,
    /// `SECRET_KEY`: what the pending sign-in's cookie is sealed with (see
    /// `pending_sign_in`); the same on every instance. Made up at start-up for a loopback
    /// `PUBLIC_URL`, required otherwise.
    pub secret_key: Secret,
    pub database_tuning: DatabaseTuning,
    /// `None` when off (`DEMO_PROVIDER=off`, or by default unless both `PUBLIC_URL` and the
    /// listening address are loopback).
    pub demo_provider: Option<DemoProviderConfig>,
    /// Offered providers, in button order.
    pub providers: Vec<ProviderConfig>,
    /// Upper bound for one request to a provider.
    pub http_timeout: Duration,
    /// Per client IP on the sign-in routes; `None` when `SIGN_IN_RATE_LIMIT_BURST=0`.
    pub sign_in_rate_limit: Option<RateLimit>,
    /// `SIGN_IN_REQUEST_TOKENS_PER_MINUTE`: how many sign-in starts per minute this instance
    /// lets call a provider (OAuth 1.0a request tokens, which spend the app's quota there);
    /// `None` when 0.
    pub request_tokens_per_minute: Option<std::num::NonZeroU32>,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client (see `client_ip`).
    pub trusted_proxies: Vec<IpNet>,
    /// `LINK_BY_VERIFIED_EMAIL=on`: a first sign-in whose provider-verified address is one
    /// an existing account has verified joins that account (off: it is refused with a
    /// hint, and linking is done from the account page).
    pub link_by_verified_email: bool,
    /// `METRICS_ADDR`: where `GET /metrics` is served, apart from the public listener;
    /// `None`: no metrics at all.
    pub metrics_addr: Option<SocketAddr>,
    /// `SHUTDOWN_DRAIN_SECS`: how long a stopping server lets requests in flight finish.
    pub shutdown_drain: Duration,
    /// What seals the provider tokens that are kept (`provider_tokens`).
    pub token_encryption: TokenEncryption,
}

/// Where the key that seals provider tokens comes from.
#[derive(Debug)]
pub enum TokenEncryption {
    /// `TOKEN_ENCRYPTION_KEY` (and `TOKEN_ENCRYPTION_KEY_PREVIOUS`).
    Given(TokenKeys),
    /// A loopback set-up that keeps tokens without a key: one made once and kept beside the
    /// SQLite database (or, for another database, for as long as the process runs).
    MadeUpOnLoopback,
    /// No provider keeps tokens, and no key was given: nothing will be sealed.
    Unneeded,
}

/// How the database is used; defaults suit one machine. See `db::connect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatabaseTuning {
    /// `DATABASE_POOL_SIZE`: connections per instance: PostgreSQL's pool (default 16), or
    /// SQLite's readers (default 4; SQLite always has one writer besides).
    pub pool_size: Option<u32>,
    /// `SQLITE_SYNCHRONOUS=full`: sync at every commit, so a power cut loses no commit
    /// (default `normal`: sync at checkpoints).
    pub sqlite_full_sync: bool,
}

/// A token bucket: `burst` requests at once, then one more every `refill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub burst: u32,
    pub refill: Duration,
}

/// The clients the built-in demo provider accepts.
#[derive(Debug)]
pub struct DemoProviderConfig {
    pub clients: Vec<(String, Secret)>,
    /// On with a `PUBLIC_URL` other people can reach (only by [`DEMO_PROVIDER_EXPOSED`]):
    /// warned about at start-up and on its consent page.
    pub exposed: bool,
}

/// The only `DEMO_PROVIDER` value that turns the demo provider on when `PUBLIC_URL` is not a
/// loopback address: it lets anyone sign in as anyone, with any unverified email.
pub const DEMO_PROVIDER_EXPOSED: &str = "on-and-anyone-can-sign-in-as-anyone";

/// Whether the demo provider runs, and whether people other than this machine's can reach
/// it: `None` off; on by default only when both `PUBLIC_URL` and the listening address are
/// loopback (a fresh clone's demo). `LEPTOS_SITE_ADDR=0.0.0.0:3000` with the default
/// `PUBLIC_URL`, as containers are often run, puts the server on the network although its
/// public URL says this machine.
fn demo_provider_switch(
    raw: Option<String>,
    public_url: &Url,
    listen_addr: SocketAddr,
) -> Result<Option<bool>, ConfigError> {
    let local_only = is_loopback(public_url) && listen_addr.ip().is_loopback();
    if raw.as_deref().map(str::trim) == Some(DEMO_PROVIDER_EXPOSED) {
        return Ok(Some(!local_only));
    }
    match (parse_switch("DEMO_PROVIDER", raw, local_only)?, local_only) {
        (false, _) => Ok(None),
        (true, true) => Ok(Some(false)),
        (true, false) => {
            let reachable = if is_loopback(public_url) {
                format!(
                    "the server listens on {listen_addr} (LEPTOS_SITE_ADDR), not only on a \
                     loopback address"
                )
            } else {
                format!(
                    "PUBLIC_URL ({}) is not a loopback address",
                    public_url.origin().ascii_serialization()
                )
            };
            Err(config_error(
                "DEMO_PROVIDER",
                format!(
                    "is on, but {reachable}, and the demo provider lets anyone sign in as \
                     anyone. Set DEMO_PROVIDER=off, or DEMO_PROVIDER={DEMO_PROVIDER_EXPOSED} \
                     if that is really what you want"
                ),
            ))
        }
    }
}

/// Shortest `SECRET_KEY` accepted: 32 bytes, the HKDF master key the cookie key is derived
/// from (32 random characters of base64 carry 192 bits).
const MIN_SECRET_KEY_BYTES: usize = 32;

fn parse_secret_key(raw: Option<String>, public_url: &Url) -> Result<Secret, ConfigError> {
    match raw.map(|raw| raw.trim().to_owned()) {
        Some(key) if key.len() >= MIN_SECRET_KEY_BYTES => Ok(Secret::new(key)),
        Some(_) => Err(config_error(
            "SECRET_KEY",
            format!(
                "must be at least {MIN_SECRET_KEY_BYTES} characters of random text, e.g. the \
                 output of `openssl rand -base64 48`"
            ),
        )),
        // A fresh clone: one instance, whose sign-ins in progress may end with it.
        None if is_loopback(public_url) => Ok(Secret::new(
            Alphanumeric.sample_string(&mut rand::rng(), 64),
        )),
        None => Err(config_error(
            "SECRET_KEY",
            "is missing: set it to at least 32 characters of random text (e.g. `openssl rand \
             -base64 48`), the same on every instance. It seals the cookie of a sign-in in \
             progress",
        )),
    }
}

/// `TOKEN_ENCRYPTION_KEY` is required once a provider keeps tokens, except on a loopback
/// set-up; `TOKEN_ENCRYPTION_KEY_PREVIOUS` only opens what an earlier key sealed.
fn parse_token_encryption(
    get: &impl Fn(&str) -> Option<String>,
    public_url: &Url,
    providers: &[ProviderConfig],
) -> Result<TokenEncryption, ConfigError> {
    let key = |name: &str| {
        get(name)
            .map(|text| TokenKey::parse(&text).map_err(|problem| config_error(name, problem)))
            .transpose()
    };
    let current = key("TOKEN_ENCRYPTION_KEY")?;
    let previous = key("TOKEN_ENCRYPTION_KEY_PREVIOUS")?;
    let keeping: Vec<&str> = providers
        .iter()
        .filter(|provider| provider.keeps_tokens())
        .map(|provider| provider.name.as_str())
        .collect();
    match (current, previous) {
        (Some(current), previous) => Ok(TokenEncryption::Given(TokenKeys::new(current, previous))),
        (None, Some(_)) => Err(config_error(
            "TOKEN_ENCRYPTION_KEY",
            "is missing while TOKEN_ENCRYPTION_KEY_PREVIOUS is set: the previous key only \
             opens what it sealed; set the new key here",
        )),
        (None, None) if keeping.is_empty() => Ok(TokenEncryption::Unneeded),
        (None, None) if is_loopback(public_url) => Ok(TokenEncryption::MadeUpOnLoopback),
        (None, None) => Err(config_error(
            "TOKEN_ENCRYPTION_KEY",
            format!(
                "is missing: {} keep provider tokens, which are sealed at rest with this key. \
                 Set it to 32 random bytes in base64 (`openssl rand -base64 32`), the same on \
                 every instance, and keep it as safe as the database's backups",
                keeping.join(", ")
            ),
        )),
    }
}

fn parse_listen_addr(raw: Option<&str>) -> Result<SocketAddr, ConfigError> {
    raw.unwrap_or(DEFAULT_LISTEN_ADDR)
        .trim()
        .parse()
        .map_err(|_| {
            config_error(
                "LEPTOS_SITE_ADDR",
                "must be an IP address and port, e.g. 127.0.0.1:3000 or [::]:3000",
            )
        })
}

/// Long enough for any request (a provider call is bounded by `OAUTH_HTTP_TIMEOUT_MS`,
/// 10 s by default), short enough for a deployment tool's patience (systemd waits 90 s,
/// Kubernetes 30 s by default).
const DEFAULT_SHUTDOWN_DRAIN_SECS: u64 = 20;

/// The metrics listener's address: not the public one (metrics say how many people sign in
/// with what, which is nobody else's business).
fn parse_metrics_addr(
    raw: Option<&str>,
    listen_addr: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    let addr: SocketAddr = raw.parse().map_err(|_| {
        config_error(
            "METRICS_ADDR",
            "must be an IP address and port, e.g. 127.0.0.1:9100",
        )
    })?;
    if addr.port() == listen_addr.port()
        && (addr.ip() == listen_addr.ip()
            || addr.ip().is_unspecified()
            || listen_addr.ip().is_unspecified())
    {
        return Err(config_error(
            "METRICS_ADDR",
            "must differ from the public listening address (LEPTOS_SITE_ADDR): metrics are \
             served on a port of their own",
        ));
    }
    Ok(Some(addr))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {variable} {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

fn config_error(variable: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        problem: problem.into(),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        // Variables that are not UTF-8 are none of ours.
        Self::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// Reads the configuration from these variables; an empty value counts as unset. All
    /// of them, not a lookup by name: an OpenID Connect issuer is found by its variables'
    /// names (`OAUTH_<NAME>_ISSUER`).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .collect();
        let get = |name: &str| vars.get(name).cloned();

        let public_url = parse_public_url(get("PUBLIC_URL").as_deref())?;
        let listen_addr = parse_listen_addr(get("LEPTOS_SITE_ADDR").as_deref())?;
        let secret_key = parse_secret_key(get("SECRET_KEY"), &public_url)?;
        let database_url =
            Secret::new(get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()));
        let database_tuning = DatabaseTuning {
            pool_size: get("DATABASE_POOL_SIZE")
                .map(|raw| parse_number(Some(raw), "DATABASE_POOL_SIZE", 4, 1..=1_000))
                .transpose()?
                .map(|n| n as u32),
            sqlite_full_sync: match get("SQLITE_SYNCHRONOUS")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("normal") => false,
                Some("full") => true,
                Some(_) => {
                    return Err(config_error("SQLITE_SYNCHRONOUS", "must be normal or full"))
                }
            },
        };
        let http_timeout = match get("OAUTH_HTTP_TIMEOUT_MS") {
            None => Duration::from_millis(DEFAULT_HTTP_TIMEOUT_MS),
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(ms @ 100..=120_000) => Duration::from_millis(ms),
                _ => {
                    return Err(config_error(
                        "OAUTH_HTTP_TIMEOUT_MS",
                        "must be a number of milliseconds from 100 to 120000",
                    ))
                }
            },
        };

        let burst = parse_number(
            get("SIGN_IN_RATE_LIMIT_BURST"),
            "SIGN_IN_RATE_LIMIT_BURST",
            30,
            0..=100_000,
        )?;
        let refill_ms = parse_number(
            get("SIGN_IN_RATE_LIMIT_REFILL_MS"),
            "SIGN_IN_RATE_LIMIT_REFILL_MS",
            1_000,
            1..=3_600_000,
        )?;
        let sign_in_rate_limit = (burst > 0).then(|| RateLimit {
            burst: burst as u32,
            refill: Duration::from_millis(refill_ms),
        });

        let request_tokens_per_minute = std::num::NonZeroU32::new(parse_number(
            get("SIGN_IN_REQUEST_TOKENS_PER_MINUTE"),
            "SIGN_IN_REQUEST_TOKENS_PER_MINUTE",
            300,
            0..=1_000_000,
        )? as u32);

        let trusted_proxies = client_ip::parse_trusted_proxies(get("TRUSTED_PROXIES").as_deref())
            .map_err(|problem| config_error("TRUSTED_PROXIES", problem))?;

        let link_by_verified_email = parse_switch(
            "LINK_BY_VERIFIED_EMAIL",
            get("LINK_BY_VERIFIED_EMAIL"),
            false,
        )?;

        let metrics_addr = parse_metrics_addr(get("METRICS_ADDR").as_deref(), listen_addr)?;
        let shutdown_drain = Duration::from_secs(parse_number(
            get("SHUTDOWN_DRAIN_SECS"),
            "SHUTDOWN_DRAIN_SECS",
            DEFAULT_SHUTDOWN_DRAIN_SECS,
            0..=3_600,
        )?);

        let timing = oidc_issuers::discovery_timing(&get)?;
        let mut providers = Vec::new();
        let demo_provider = if let Some(exposed) =
            demo_provider_switch(get("DEMO_PROVIDER"), &public_url, listen_addr)?
        {
            let secret = Secret::new(Alphanumeric.sample_string(&mut rand::rng(), 40));
            let mut clients = vec![(DEMO_CLIENT_ID.to_owned(), secret.clone())];
            clients.extend(parse_demo_clients(get("DEMO_PROVIDER_CLIENTS"))?);
            providers.push(provider::demo(&public_url, secret, timing));
            Some(DemoProviderConfig { clients, exposed })
        } else {
            None
        };

        for spec in providers::CONFIGURABLE {
            // Apple's client secret is signed here, from variables of its own.
            let preset = if spec.name == providers::APPLE.name {
                apple::from_env(&get, timing)?
            } else {
                provider::preset_from_env(spec, &get, timing)?
            };
            if let Some(provider) = preset {
                providers.push(provider);
            }
        }
        providers.extend(oidc_issuers::from_vars(&vars, timing)?);
        providers.extend(oauth2_providers::from_vars(&vars)?);

        let token_encryption = parse_token_encryption(&get, &public_url, &providers)?;

        Ok(Config {
            token_encryption,
            public_url,
            listen_addr,
            database_url,
            secret_key,
            database_tuning,
            demo_provider,
            providers,
            http_timeout,
            sign_in_rate_limit,
            request_tokens_per_minute,
            trusted_proxies,
            link_by_verified_email,
            metrics_addr,
            shutdown_drain,
        })
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// The configured provider's name as people know it ("GitHub").
    pub fn provider_label(&self, name: &str) -> Option<String> {
        self.provider(name).map(|provider| provider.label.clone())
    }

    /// `{PUBLIC_URL}/callback/{provider}`, the redirect URI registered at the provider.
    pub fn redirect_uri(&self, provider: &str) -> Url {
        self.public_url
            .join(&format!("/callback/{provider}"))
            .expect("provider names are plain path segments")
    }

    /// Cookies get `Secure` and the `__Host-` prefix only when served over https.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The `scheme://host:port` browsers use, for same-origin checks.
    pub fn origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

fn parse_public_url(raw: Option<&str>) -> Result<Url, ConfigError> {
    let raw = raw.unwrap_or(DEFAULT_PUBLIC_URL).trim();
    let url =
        Url::parse(raw).map_err(|e| config_error("PUBLIC_URL", format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(config_error(
            "PUBLIC_URL",
            "must be an http:// or https:// URL",
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(config_error(
            "PUBLIC_URL",
            "must be the site's origin only, e.g. https://signin.example.com",
        ));
    }
    Ok(url)
}

fn parse_number(
    raw: Option<String>,
    variable: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(config_error(
            variable,
            format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn parse_switch(variable: &str, raw: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match raw
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("on" | "true" | "1" | "yes") => Ok(true),
        Some("off" | "false" | "0" | "no") => Ok(false),
        Some(_) => Err(config_error(variable, "must be on or off")),
    }
}

/// `id:secret,id2:secret2`: extra clients the demo provider accepts, e.g. to stand in for
/// Facebook in tests.
fn parse_demo_clients(raw: Option<String>) -> Result<Vec<(String, Secret)>, ConfigError> {
    let Some(raw) = raw else { return Ok(vec![]) };
    raw.split(',')
        .map(|pair| match pair.trim().split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok((id.to_owned(), Secret::new(secret)))
            }
            _ => Err(config_error(
                "DEMO_PROVIDER_CLIENTS",
                "must be a comma-separated list of client_id:client_secret",
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::oauth::tenants::Tenancy;
    use std::collections::HashMap;

    const TEST_SECRET_KEY: &str = "a test key of more than thirty-two bytes";

    /// The configuration from `vars`, with a `SECRET_KEY` unless they name one.
    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.entry("SECRET_KEY".into())
            .or_insert_with(|| TEST_SECRET_KEY.into());
        Config::from_vars(vars)
    }

    #[test]
    fn a_secret_key_is_required_unless_only_this_machine_signs_in() {
        // A fresh clone: made up, different each start.
        let local = config(&[("SECRET_KEY", "")]).unwrap();
        let again = config(&[("SECRET_KEY", "")]).unwrap();
        assert!(local.secret_key.expose().len() >= MIN_SECRET_KEY_BYTES);
        assert_ne!(local.secret_key, again.secret_key);
        // Deployed: required, and long enough.
        let public = ("PUBLIC_URL", "https://signin.example.com");
        let missing = config(&[public, ("SECRET_KEY", "")]).unwrap_err();
        assert_eq!(missing.variable, "SECRET_KEY");
        assert!(missing.problem.contains("every instance"), "{missing}");
        let short = config(&[public, ("SECRET_KEY", "too short")]).unwrap_err();
        assert_eq!(short.variable, "SECRET_KEY");
        let given = config(&[public]).unwrap();
        assert_eq!(given.secret_key.expose(), TEST_SECRET_KEY);
        assert!(
            !format!("{given:?}").contains(TEST_SECRET_KEY),
            "never in Debug"
        );
    }

    /// A preset's fixed endpoints.
    fn endpoints(provider: &ProviderConfig) -> &Endpoints {
        match &provider.protocol {
            ProtocolSettings::OAuth2(oauth2) => &oauth2.endpoints,
            ProtocolSettings::OAuth1(oauth1) => &oauth1.endpoints,
            ProtocolSettings::OpenIdConnect(_) => {
                panic!("{} has no fixed endpoints", provider.name)
            }
        }
    }

    #[test]
    fn defaults_work_with_no_configuration() {
        let config = config(&[]).unwrap();
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
        let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["demo"]);
        // The demo provider is an OpenID Connect issuer on this very server.
        let ProtocolSettings::OpenIdConnect(demo) = &config.provider("demo").unwrap().protocol
        else {
            panic!("the demo provider is an OpenID Connect issuer");
        };
        assert_eq!(
            demo.issuer.url().as_str(),
            "http://127.0.0.1:3000/demo-provider"
        );
        assert_eq!(demo.scopes, ["profile", "email"]);
        assert_eq!(
            config.redirect_uri("demo").as_str(),
            "http://127.0.0.1:3000/callback/demo"
        );
        assert!(!config.is_https());
        assert_eq!(config.origin(), "http://127.0.0.1:3000");
    }

    #[test]
    fn the_demo_provider_cannot_ship_by_accident() {
        // A fresh clone (loopback PUBLIC_URL): on by default.
        for url in [
            "http://127.0.0.1:3000",
            "http://localhost:8080",
            "http://[::1]:3000",
        ] {
            let demo = config(&[("PUBLIC_URL", url)]).unwrap().demo_provider;
            assert!(!demo.expect(url).exposed, "{url}");
        }
        // Deployed: off by default, `on` refused with the reason, only the explicit value
        // turns it on, marked as exposed.
        let public = ("PUBLIC_URL", "https://signin.example.com");
        assert!(config(&[public]).unwrap().demo_provider.is_none());
        let refused = config(&[public, ("DEMO_PROVIDER", "on")]).unwrap_err();
        assert_eq!(refused.variable, "DEMO_PROVIDER");
        assert!(
            refused.to_string().contains(DEMO_PROVIDER_EXPOSED),
            "{refused}"
        );
        let exposed = config(&[public, ("DEMO_PROVIDER", DEMO_PROVIDER_EXPOSED)]).unwrap();
        assert!(exposed.demo_provider.unwrap().exposed);
        assert!(config(&[public, ("DEMO_PROVIDER", "off")])
            .unwrap()
            .demo_provider
            .is_none());
    }

    #[test]
    fn the_demo_provider_is_off_when_the_server_listens_beyond_this_machine() {
        // The default PUBLIC_URL, but listening on every interface (a container's set-up).
        for addr in ["0.0.0.0:3000", "[::]:3000", "192.0.2.7:3000"] {
            let listening = ("LEPTOS_SITE_ADDR", addr);
            assert!(
                config(&[listening]).unwrap().demo_provider.is_none(),
                "{addr}"
            );
            let refused = config(&[listening, ("DEMO_PROVIDER", "on")]).unwrap_err();
            assert_eq!(refused.variable, "DEMO_PROVIDER");
            assert!(refused.problem.contains("LEPTOS_SITE_ADDR"), "{refused}");
            let exposed = config(&[listening, ("DEMO_PROVIDER", DEMO_PROVIDER_EXPOSED)]).unwrap();
            assert!(exposed.demo_provider.unwrap().exposed, "{addr}");
        }
        // Loopback on both sides: the fresh clone's demo, over IPv4 or IPv6.
        for addr in ["127.0.0.1:3000", "[::1]:3000"] {
            let demo = config(&[("LEPTOS_SITE_ADDR", addr)]).unwrap().demo_provider;
            assert!(!demo.expect(addr).exposed, "{addr}");
        }
        assert_eq!(
            config(&[("LEPTOS_SITE_ADDR", "localhost:3000")])
                .unwrap_err()
                .variable,
            "LEPTOS_SITE_ADDR"
        );
    }

    #[test]
    fn facebook_is_offered_only_with_id_and_secret() {
        let config = config(&[
            ("DEMO_PROVIDER", "off"),
            ("OAUTH_FACEBOOK_CLIENT_ID", "123"),
            ("OAUTH_FACEBOOK_CLIENT_SECRET", "shh"),
            ("OAUTH_FACEBOOK_TOKEN_URL", "http://127.0.0.1:9/token"),
            ("PUBLIC_URL", "https://signin.example.com"),
        ])
        .unwrap();
        assert!(config.demo_provider.is_none());
        let facebook = config.provider("facebook").unwrap();
        assert_eq!(
            endpoints(facebook).token_url.as_str(),
            "http://127.0.0.1:9/token"
        );
        assert_eq!(
            endpoints(facebook).userinfo_url.as_str(),
            "https://graph.facebook.com/v21.0/me"
        );
        assert_eq!(
            config.redirect_uri("facebook").as_str(),
            "https://signin.example.com/callback/facebook"
        );
        assert!(config.is_https());
        assert!(!format!("{config:?}").contains("shh"));
    }

    #[test]
    fn twitter_uses_oauth1_endpoints_and_force_login_switches_to_authorize() {
        let twitter = |extra: &[(&str, &str)]| {
            let mut vars = vec![
                ("OAUTH_TWITTER_CLIENT_ID", "ck"),
                ("OAUTH_TWITTER_CLIENT_SECRET", "cs"),
            ];
            vars.extend_from_slice(extra);
            config(&vars).unwrap()
        };
        let config = twitter(&[("OAUTH_TWITTER_ACCESS_TOKEN_URL", "http://127.0.0.1:9/at")]);
        let provider = config.provider("twitter").unwrap();
        let ProtocolSettings::OAuth1(oauth1) = &provider.protocol else {
            panic!("Twitter speaks OAuth 1.0a");
        };
        assert_eq!(
            oauth1.request_token_url.as_str(),
            "https://api.twitter.com/oauth/request_token"
        );
        assert_eq!(
            endpoints(provider).authorize_url.as_str(),
            "https://api.twitter.com/oauth/authenticate"
        );
        assert_eq!(
            endpoints(provider).token_url.as_str(),
            "http://127.0.0.1:9/at"
        );
        assert!(!oauth1.force_login);

        let config = twitter(&[("OAUTH_TWITTER_FORCE_LOGIN", "on")]);
        let provider = config.provider("twitter").unwrap();
        assert_eq!(
            endpoints(provider).authorize_url.as_str(),
            "https://api.twitter.com/oauth/authorize"
        );
        assert!(matches!(
            provider.protocol,
            ProtocolSettings::OAuth1(OAuth1Settings {
                force_login: true,
                ..
            })
        ));
    }

    #[test]
    fn github_reads_the_verified_primary_email_from_an_overridable_endpoint() {
        let github = |extra: &[(&str, &str)]| {
            let mut vars = vec![
                ("OAUTH_GITHUB_CLIENT_ID", "Iv1.abc"),
                ("OAUTH_GITHUB_CLIENT_SECRET", "s3cret"),
            ];
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let config = github(&[]).unwrap();
        let provider = config.provider("github").expect("offered");
        assert_eq!(provider.label, "GitHub");
        assert_eq!(
            endpoints(provider).token_url.as_str(),
            "https://github.com/login/oauth/access_token"
        );
        let ProtocolSettings::OAuth2(oauth2) = &provider.protocol else {
            panic!("GitHub speaks OAuth 2");
        };
        assert_eq!(oauth2.scope, "read:user user:email");
        assert_eq!(
            oauth2.emails_url.as_ref().map(Url::as_str),
            Some("https://api.github.com/user/emails")
        );
        let config = github(&[("OAUTH_GITHUB_EMAILS_URL", "http://127.0.0.1:9/emails")]).unwrap();
        let ProtocolSettings::OAuth2(oauth2) = &config.provider("github").unwrap().protocol else {
            panic!("GitHub speaks OAuth 2");
        };
        assert_eq!(
            oauth2.emails_url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9/emails")
        );
        let err = github(&[("OAUTH_GITHUB_EMAILS_URL", "nope")]).unwrap_err();
        assert_eq!(err.variable, "OAUTH_GITHUB_EMAILS_URL");
        // Facebook has no emails endpoint, so no such setting.
        let config = super::tests::config(&[
            ("OAUTH_FACEBOOK_CLIENT_ID", "1"),
            ("OAUTH_FACEBOOK_CLIENT_SECRET", "2"),
            ("OAUTH_FACEBOOK_EMAILS_URL", "nope"),
        ])
        .unwrap();
        let ProtocolSettings::OAuth2(oauth2) = &config.provider("facebook").unwrap().protocol
        else {
            panic!("Facebook speaks OAuth 2");
        };
        assert!(oauth2.emails_url.is_none());
    }

    #[test]
    fn bad_configuration_names_the_variable() {
        let err = config(&[("OAUTH_FACEBOOK_CLIENT_ID", "123")]).unwrap_err();
        assert_eq!(err.variable, "OAUTH_FACEBOOK_CLIENT_SECRET");
        let err = config(&[
            ("OAUTH_FACEBOOK_CLIENT_ID", "1"),
            ("OAUTH_FACEBOOK_CLIENT_SECRET", "2"),
            ("OAUTH_FACEBOOK_AUTHORIZE_URL", "not a url"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "OAUTH_FACEBOOK_AUTHORIZE_URL");
        assert_eq!(
            config(&[("PUBLIC_URL", "ftp://x")]).unwrap_err().variable,
            "PUBLIC_URL"
        );
        assert_eq!(
            config(&[("PUBLIC_URL", "http://x/app")])
                .unwrap_err()
                .variable,
            "PUBLIC_URL"
        );
        assert_eq!(
            config(&[("DEMO_PROVIDER", "maybe")]).unwrap_err().variable,
            "DEMO_PROVIDER"
        );
        assert_eq!(
            config(&[("DEMO_PROVIDER_CLIENTS", "nocolon")])
                .unwrap_err()
                .variable,
            "DEMO_PROVIDER_CLIENTS"
        );
        assert_eq!(
            config(&[("OAUTH_HTTP_TIMEOUT_MS", "5")])
                .unwrap_err()
                .variable,
            "OAUTH_HTTP_TIMEOUT_MS"
        );
        assert_eq!(
            config(&[("SIGN_IN_RATE_LIMIT_BURST", "-1")])
                .unwrap_err()
                .variable,
            "SIGN_IN_RATE_LIMIT_BURST"
        );
    }

    #[test]
    fn sign_in_rate_limit_defaults_and_can_be_turned_off() {
        assert_eq!(
            config(&[]).unwrap().sign_in_rate_limit,
            Some(RateLimit {
                burst: 30,
                refill: Duration::from_secs(1)
            })
        );
        let off = config(&[("SIGN_IN_RATE_LIMIT_BURST", "0")]).unwrap();
        assert_eq!(off.sign_in_rate_limit, None);
    }

    #[test]
    fn the_request_token_budget_defaults_to_300_a_minute_and_can_be_turned_off() {
        let per_minute = |vars: &[(&str, &str)]| {
            config(vars)
                .map(|config| config.request_tokens_per_minute.map(|n| n.get()))
                .map_err(|err| err.variable)
        };
        assert_eq!(per_minute(&[]), Ok(Some(300)));
        assert_eq!(
            per_minute(&[("SIGN_IN_REQUEST_TOKENS_PER_MINUTE", "5")]),
            Ok(Some(5))
        );
        assert_eq!(
            per_minute(&[("SIGN_IN_REQUEST_TOKENS_PER_MINUTE", "0")]),
            Ok(None)
        );
        assert_eq!(
            per_minute(&[("SIGN_IN_REQUEST_TOKENS_PER_MINUTE", "lots")]),
            Err("SIGN_IN_REQUEST_TOKENS_PER_MINUTE".into())
        );
    }

    #[test]
    fn demo_provider_accepts_extra_clients() {
        let config = config(&[("DEMO_PROVIDER_CLIENTS", "fb-test:fb-secret")]).unwrap();
        let clients = &config.demo_provider.unwrap().clients;
        assert_eq!(clients.len(), 2);
        assert_eq!(clients[1].0, "fb-test");
        assert_eq!(clients[1].1.expose(), "fb-secret");
    }

    #[test]
    fn any_openid_connect_issuer_is_four_variables() {
        let config = config(&[
            (
                "OAUTH_MY_CORP_ISSUER",
                "https://login.corp.example/realms/staff",
            ),
            ("OAUTH_MY_CORP_CLIENT_ID", "signin"),
            ("OAUTH_MY_CORP_CLIENT_SECRET", "s3cret"),
            ("OAUTH_ACME_ISSUER", "https://id.acme.example"),
            ("OAUTH_ACME_CLIENT_ID", "a"),
            ("OAUTH_ACME_CLIENT_SECRET", "b"),
            ("OAUTH_ACME_LABEL", "ACME Staff"),
            ("OAUTH_ACME_SCOPES", "openid, email groups"),
        ])
        .unwrap();
        let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["demo", "acme", "my_corp"]);
        let corp = config.provider("my_corp").unwrap();
        assert_eq!(corp.label, "My Corp");
        assert_eq!(corp.settings_prefix.as_deref(), Some("OAUTH_MY_CORP"));
        let ProtocolSettings::OpenIdConnect(oidc) = &corp.protocol else {
            panic!("an issuer speaks OpenID Connect");
        };
        assert_eq!(
            oidc.issuer.url().as_str(),
            "https://login.corp.example/realms/staff"
        );
        assert_eq!(oidc.scopes, ["email", "profile"]);
        let acme = config.provider("acme").unwrap();
        assert_eq!(acme.label, "ACME Staff");
        let ProtocolSettings::OpenIdConnect(oidc) = &acme.protocol else {
            panic!("an issuer speaks OpenID Connect");
        };
        assert_eq!(oidc.scopes, ["email", "groups"]);
        assert_eq!(
            config.redirect_uri("my_corp").as_str(),
            "http://127.0.0.1:3000/callback/my_corp"
        );
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn microsoft_is_a_multi_tenant_issuer_with_common_by_default() {
        let microsoft = |extra: &[(&str, &str)]| {
            let mut vars = vec![
                (
                    "OAUTH_MICROSOFT_CLIENT_ID",
                    "00000000-aaaa-bbbb-cccc-000000000000",
                ),
                ("OAUTH_MICROSOFT_CLIENT_SECRET", "s3cret"),
            ];
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let issuer_and_tenancy = |config: &Config| {
            let ProtocolSettings::OpenIdConnect(oidc) =
                &config.provider("microsoft").unwrap().protocol
            else {
                panic!("Microsoft speaks OpenID Connect");
            };
            (oidc.issuer.url().as_str().to_owned(), oidc.tenancy.clone())
        };
        let (issuer, tenancy) = issuer_and_tenancy(&microsoft(&[]).unwrap());
        assert_eq!(issuer, "https://login.microsoftonline.com/common/v2.0");
        assert_eq!(tenancy, Some(Tenancy { allowed: None }));

        let only_one = microsoft(&[
            ("OAUTH_MICROSOFT_TENANT", "organizations"),
            (
                "OAUTH_MICROSOFT_TENANTS",
                "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
            ),
        ])
        .unwrap();
        let (issuer, tenancy) = issuer_and_tenancy(&only_one);
        assert_eq!(
            issuer,
            "https://login.microsoftonline.com/organizations/v2.0"
        );
        assert_eq!(
            tenancy.unwrap().allowed.unwrap(),
            ["72f988bf-86f1-41af-91ab-2d7cd011db47"]
        );

        for (variable, value) in [
            ("OAUTH_MICROSOFT_TENANT", "contoso/../evil"),
            ("OAUTH_MICROSOFT_TENANTS", "contoso.com"),
        ] {
            let err = microsoft(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
        }
        // A tenant that an issuer without `{tenant}` would silently ignore.
        let err = microsoft(&[
            ("OAUTH_MICROSOFT_ISSUER", "https://login.example/v2.0"),
            ("OAUTH_MICROSOFT_TENANT", "consumers"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "OAUTH_MICROSOFT_TENANT", "{err}");
    }

    #[test]
    fn apple_signs_its_own_client_secret_and_says_which_variable_is_wrong() {
        const KEY: &str = include_str!("../oauth/testdata/apple-test-key.p8");
        const PUBLIC_KEY: &str = include_str!("../oauth/testdata/apple-test-key.pub.pem");
        let apple = |extra: &[(&str, &str)], without: &str| {
            let mut vars = vec![
                ("OAUTH_APPLE_CLIENT_ID", "com.example.web"),
                ("OAUTH_APPLE_TEAM_ID", "TEAM123456"),
                ("OAUTH_APPLE_KEY_ID", "KEY1234567"),
                ("OAUTH_APPLE_PRIVATE_KEY", KEY),
            ];
            vars.retain(|(name, _)| *name != without);
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let config = apple(&[], "").unwrap();
        let provider = config.provider("apple").unwrap();
        assert_eq!(provider.label, "Apple");
        assert!(matches!(provider.client_secret, ClientSecret::Apple(_)));
        assert!(crate::backend::oauth::protocol::answers_by_form_post(
            provider
        ));
        assert!(
            !format!("{config:?}").contains("PRIVATE KEY"),
            "the key never in Debug"
        );
        // The key from a file, as Apple's download is.
        let dir = std::env::temp_dir().join(format!("apple-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("AuthKey_KEY1234567.p8");
        std::fs::write(&file, KEY).unwrap();
        let path = file.to_str().unwrap();
        assert!(apple(
            &[("OAUTH_APPLE_PRIVATE_KEY_FILE", path)],
            "OAUTH_APPLE_PRIVATE_KEY"
        )
        .is_ok());

        for (extra, without, variable) in [
            (vec![], "OAUTH_APPLE_TEAM_ID", "OAUTH_APPLE_TEAM_ID"),
            (vec![], "OAUTH_APPLE_PRIVATE_KEY", "OAUTH_APPLE_PRIVATE_KEY"),
            (
                vec![("OAUTH_APPLE_KEY_ID", "key")],
                "OAUTH_APPLE_KEY_ID",
                "OAUTH_APPLE_KEY_ID",
            ),
            (
                vec![("OAUTH_APPLE_PRIVATE_KEY", PUBLIC_KEY)],
                "OAUTH_APPLE_PRIVATE_KEY",
                "OAUTH_APPLE_PRIVATE_KEY",
            ),
            (
                vec![("OAUTH_APPLE_PRIVATE_KEY_FILE", "/nonexistent/AuthKey.p8")],
                "OAUTH_APPLE_PRIVATE_KEY",
                "OAUTH_APPLE_PRIVATE_KEY_FILE",
            ),
            (
                vec![("OAUTH_APPLE_PRIVATE_KEY_FILE", path)],
                "",
                "OAUTH_APPLE_PRIVATE_KEY_FILE",
            ),
            (
                vec![("OAUTH_APPLE_CLIENT_SECRET", "s")],
                "",
                "OAUTH_APPLE_CLIENT_SECRET",
            ),
            (vec![], "OAUTH_APPLE_CLIENT_ID", "OAUTH_APPLE_CLIENT_ID"),
        ] {
            let err = apple(&extra, without).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
            assert!(!err.to_string().contains("PRIVATE KEY-----"), "{err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn google_is_the_generic_issuer_with_google_as_preset() {
        let config = config(&[
            ("OAUTH_GOOGLE_CLIENT_ID", "1234.apps.googleusercontent.com"),
            ("OAUTH_GOOGLE_CLIENT_SECRET", "GOCSPX-x"),
        ])
        .unwrap();
        let google = config.provider("google").unwrap();
        assert_eq!(google.label, "Google");
        let ProtocolSettings::OpenIdConnect(oidc) = &google.protocol else {
            panic!("Google is signed in with through OpenID Connect");
        };
        assert_eq!(oidc.issuer.url().as_str(), "https://accounts.google.com");
        assert_eq!(oidc.scopes, ["email", "profile"]);
        // The issuer is overridable like any preset endpoint (tests point it at a stand-in).
        let config = super::tests::config(&[
            ("OAUTH_GOOGLE_CLIENT_ID", "1"),
            ("OAUTH_GOOGLE_CLIENT_SECRET", "2"),
            ("OAUTH_GOOGLE_ISSUER", "http://127.0.0.1:9"),
        ])
        .unwrap();
        let ProtocolSettings::OpenIdConnect(oidc) = &config.provider("google").unwrap().protocol
        else {
            panic!("OpenID Connect");
        };
        assert_eq!(oidc.issuer.url().as_str(), "http://127.0.0.1:9");
    }

    #[test]
    fn a_misconfigured_issuer_names_the_variable() {
        let refused = |vars: &[(&str, &str)]| config(vars).unwrap_err().variable;
        let credentials = [
            ("OAUTH_CORP_CLIENT_ID", "a"),
            ("OAUTH_CORP_CLIENT_SECRET", "b"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = credentials.to_vec();
            vars.push(extra);
            vars
        };
        // Plain http only on this machine.
        assert_eq!(
            refused(&with(("OAUTH_CORP_ISSUER", "http://id.corp.example"))),
            "OAUTH_CORP_ISSUER"
        );
        assert_eq!(
            refused(&with(("OAUTH_CORP_ISSUER", "not a url"))),
            "OAUTH_CORP_ISSUER"
        );
        assert_eq!(
            refused(&[("OAUTH_CORP_ISSUER", "https://id.corp.example")]),
            "OAUTH_CORP_CLIENT_ID"
        );
        assert_eq!(
            refused(&[
                ("OAUTH_CORP_ISSUER", "https://id.corp.example"),
                ("OAUTH_CORP_CLIENT_ID", "a"),
            ]),
            "OAUTH_CORP_CLIENT_SECRET"
        );
        let mut bad_scope = with(("OAUTH_CORP_ISSUER", "https://id.corp.example"));
        bad_scope.push(("OAUTH_CORP_SCOPES", "email pro\\file"));
        assert_eq!(refused(&bad_scope), "OAUTH_CORP_SCOPES");
        // Names that cannot be a path segment, or that belong to a built-in provider.
        for variable in [
            "OAUTH_Corp_ISSUER",
            "OAUTH_9CORP_ISSUER",
            "OAUTH_GITHUB_ISSUER",
            "OAUTH_DEMO_ISSUER",
        ] {
            assert_eq!(refused(&[(variable, "https://id.corp.example")]), variable);
        }
    }

    const TWITTER: [(&str, &str); 2] = [
        ("OAUTH_TWITTER_CLIENT_ID", "tw-key"),
        ("OAUTH_TWITTER_CLIENT_SECRET", "tw-secret"),
    ];
    const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

    fn with(
        base: &[(&'static str, &'static str)],
        more: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        base.iter().chain(more).copied().collect()
    }

    #[test]
    fn kept_provider_tokens_need_a_key_outside_a_loopback_set_up() {
        let public = ("PUBLIC_URL", "https://signin.example.com");
        let err = config(&with(&TWITTER, &[public])).unwrap_err();
        assert_eq!(err.variable, "TOKEN_ENCRYPTION_KEY");
        assert!(
            err.problem.contains("twitter keep provider tokens"),
            "{}",
            err.problem
        );
        let given = config(&with(&TWITTER, &[public, ("TOKEN_ENCRYPTION_KEY", KEY)])).unwrap();
        assert!(matches!(given.token_encryption, TokenEncryption::Given(_)));
        // Nothing kept, nothing to seal: no key needed.
        assert!(matches!(
            config(&[public]).unwrap().token_encryption,
            TokenEncryption::Unneeded
        ));
        // A fresh clone with Twitter: a key file beside the database.
        assert!(matches!(
            config(&TWITTER).unwrap().token_encryption,
            TokenEncryption::MadeUpOnLoopback
        ));
    }

    #[test]
    fn keeping_tokens_is_each_providers_choice_on_for_twitter_only_by_default() {
        const GITHUB: [(&str, &str); 2] = [
            ("OAUTH_GITHUB_CLIENT_ID", "gh"),
            ("OAUTH_GITHUB_CLIENT_SECRET", "gh-secret"),
        ];
        let keeps = |vars: &[(&'static str, &'static str)], name: &str| {
            config(vars).unwrap().provider(name).unwrap().keeps_tokens()
        };
        assert!(keeps(&TWITTER, "twitter"));
        assert!(!keeps(
            &with(&TWITTER, &[("OAUTH_TWITTER_KEEP_TOKENS", "off")]),
            "twitter"
        ));
        assert!(!keeps(&GITHUB, "github"));
        assert!(keeps(
            &with(&GITHUB, &[("OAUTH_GITHUB_KEEP_TOKENS", "on")]),
            "github"
        ));
        let corp = [
            ("OAUTH_CORP_ISSUER", "https://id.corp.example"),
            ("OAUTH_CORP_CLIENT_ID", "corp"),
            ("OAUTH_CORP_CLIENT_SECRET", "corp-secret"),
            ("OAUTH_CORP_KEEP_TOKENS", "on"),
        ];
        assert!(keeps(&corp, "corp"));
        // Kept tokens outside loopback need the key, whichever provider keeps them.
        let public = ("PUBLIC_URL", "https://signin.example.com");
        let err = config(&with(&corp, &[public])).unwrap_err();
        assert_eq!(err.variable, "TOKEN_ENCRYPTION_KEY");
        let typo = config(&with(&GITHUB, &[("OAUTH_GITHUB_KEEP_TOKENS", "perhaps")])).unwrap_err();
        assert_eq!(typo.variable, "OAUTH_GITHUB_KEEP_TOKENS");
    }

    const ACME: [(&str, &str); 5] = [
        (
            "OAUTH_ACME_AUTHORIZE_URL",
            "https://acme.example/oauth/authorize",
        ),
        ("OAUTH_ACME_TOKEN_URL", "https://acme.example/oauth/token"),
        ("OAUTH_ACME_USERINFO_URL", "https://api.acme.example/me"),
        ("OAUTH_ACME_CLIENT_ID", "acme-id"),
        ("OAUTH_ACME_CLIENT_SECRET", "acme-secret"),
    ];

    #[test]
    fn any_oauth2_provider_is_configured_by_its_variables_alone() {
        let configured = config(&with(
            &ACME,
            &[
                ("OAUTH_ACME_SCOPES", "identify,email"),
                ("OAUTH_ACME_LABEL", "Acme Chat"),
                ("OAUTH_ACME_SUBJECT_FIELD", "/user/id"),
                ("OAUTH_ACME_EMAIL_VERIFIED_FIELD", "/user/verified"),
                ("OAUTH_ACME_TOKEN_AUTH", "post"),
            ],
        ))
        .unwrap();
        let acme = configured.provider("acme").unwrap();
        assert_eq!(acme.label, "Acme Chat");
        let ProtocolSettings::OAuth2(oauth2) = &acme.protocol else {
            panic!("an OAuth 2 provider");
        };
        assert_eq!(oauth2.scope, "identify email");
        assert!(matches!(oauth2.token_auth, oauth2::AuthType::RequestBody));
        let crate::backend::oauth::profile::ProfileReader::Fields(fields) =
            &oauth2.endpoints.map_profile
        else {
            panic!("read by the configured fields");
        };
        assert_eq!(fields.subject, "/user/id");
        assert_eq!(fields.name, "/name", "the default");
        assert_eq!(fields.email_verified.as_deref(), Some("/user/verified"));
        // Defaults: the label from the name, HTTP Basic, nothing verified.
        let plain = config(&ACME).unwrap();
        let acme = plain.provider("acme").unwrap();
        assert_eq!(acme.label, "Acme");
        let ProtocolSettings::OAuth2(oauth2) = &acme.protocol else {
            panic!();
        };
        assert!(matches!(oauth2.token_auth, oauth2::AuthType::BasicAuth));
        // A preset's endpoint override is not a provider of its own.
        let github = config(&[
            ("OAUTH_GITHUB_CLIENT_ID", "gh"),
            ("OAUTH_GITHUB_CLIENT_SECRET", "gh-secret"),
            ("OAUTH_GITHUB_AUTHORIZE_URL", "http://127.0.0.1:9/authorize"),
        ])
        .unwrap();
        let names: Vec<&str> = github.providers.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"github"), "{names:?}");
        assert!(
            names.iter().all(|name| ["github", "demo"].contains(name)),
            "{names:?}"
        );
    }

    #[test]
    fn a_configured_oauth2_provider_with_a_wrong_setting_stops_the_start_naming_it() {
        let without = |missing: &str| -> Vec<(&'static str, &'static str)> {
            ACME.iter()
                .filter(|(name, _)| *name != missing)
                .copied()
                .collect()
        };
        for missing in [
            "OAUTH_ACME_TOKEN_URL",
            "OAUTH_ACME_USERINFO_URL",
            "OAUTH_ACME_CLIENT_ID",
        ] {
            let err = config(&without(missing)).unwrap_err();
            assert_eq!(err.variable, missing);
            assert!(err.problem.contains("is missing"), "{}", err.problem);
        }
        let cases: [(&str, &str, &str); 5] = [
            ("OAUTH_ACME_SUBJECT_FIELD", "user.id", "JSON pointer"),
            (
                "OAUTH_ACME_TOKEN_URL",
                "http://acme.example/token",
                "https://",
            ),
            ("OAUTH_ACME_USERINFO_URL", "not a url", "not a URL"),
            ("OAUTH_ACME_TOKEN_AUTH", "jwt", "basic"),
            ("OAUTH_ACME_SCOPES", "a\\b", "not a scope"),
        ];
        for (variable, value, problem) in cases {
            let err = config(&with(&ACME, &[(variable, value)])).unwrap_err();
            assert_eq!(err.variable, variable, "{value}");
            assert!(err.problem.contains(problem), "{}", err.problem);
        }
        let both = config(&with(
            &ACME,
            &[("OAUTH_ACME_ISSUER", "https://acme.example")],
        ))
        .unwrap_err();
        assert_eq!(both.variable, "OAUTH_ACME_AUTHORIZE_URL");
        let demo = config(&[("OAUTH_DEMO_AUTHORIZE_URL", "https://x.example/a")]).unwrap_err();
        assert_eq!(demo.variable, "OAUTH_DEMO_AUTHORIZE_URL");
    }

    #[test]
    fn token_keys_are_checked_and_the_previous_one_needs_a_new_one() {
        let short = config(&[("TOKEN_ENCRYPTION_KEY", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(short.variable, "TOKEN_ENCRYPTION_KEY");
        assert!(short.problem.contains("32 bytes"), "{}", short.problem);
        let bad_previous = config(&[
            ("TOKEN_ENCRYPTION_KEY", KEY),
            ("TOKEN_ENCRYPTION_KEY_PREVIOUS", "not base64!"),
        ])
        .unwrap_err();
        assert_eq!(bad_previous.variable, "TOKEN_ENCRYPTION_KEY_PREVIOUS");
        let alone = config(&[("TOKEN_ENCRYPTION_KEY_PREVIOUS", KEY)]).unwrap_err();
        assert_eq!(alone.variable, "TOKEN_ENCRYPTION_KEY");
        let both = config(&[
            ("TOKEN_ENCRYPTION_KEY", KEY),
            (
                "TOKEN_ENCRYPTION_KEY_PREVIOUS",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ])
        .unwrap();
        let TokenEncryption::Given(keys) = both.token_encryption else {
            panic!("keys given");
        };
        assert!(keys.previous().is_some());
        assert!(!format!("{:?}", keys).contains(KEY), "never in Debug");
    }
}
