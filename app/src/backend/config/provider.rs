//! The configured providers: what each is, and how a built-in one is built from its spec
//! and its `OAUTH_<NAME>_*` variables.

use std::sync::Arc;

use oauth2::AuthType;
use openidconnect::IssuerUrl;
use url::Url;

use super::oidc_issuers;
use super::{config_error, parse_switch, ConfigError, DEMO_CLIENT_ID};
use crate::backend::oauth::profile::EmailTrust;
use crate::backend::oauth::profile::ProfileReader;
use crate::backend::oauth::providers::{self, EndpointSpec, Protocol, ProviderSpec};
use crate::backend::oauth::tenants::Tenancy;
use crate::backend::oauth::{apple, discovery};
use crate::backend::secret::Secret;

/// One configured provider, built once at start-up: owned values, so that a provider
/// defined by configuration alone is no different from a built-in one.
#[derive(Debug)]
pub struct ProviderConfig {
    /// Path segment in `/authorize/{name}` and `/callback/{name}`, and the prefix of the
    /// social ids of its identities.
    pub name: String,
    /// Shown on the button: "Sign in with {label}".
    pub label: String,
    /// The prefix of this provider's variables (`OAUTH_GITHUB`), named in log lines that
    /// point at a setting to fix; `None` for the built-in demo provider, which has none.
    pub settings_prefix: Option<String>,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// The provider accepts only https:// callback URLs (loopback ones aside).
    pub https_callback_only: bool,
    /// `OAUTH_<NAME>_KEEP_TOKENS`: sign-ins keep the provider's tokens (sealed, in
    /// `provider_tokens`) for calls on the person's behalf later. On by default for OAuth
    /// 1.0a (Twitter), whose tokens do not expire; off for the others.
    pub keep_tokens: bool,
    pub protocol: ProtocolSettings,
}

/// How the client proves itself to the provider.
#[derive(Debug)]
pub enum ClientSecret {
    /// `OAUTH_<NAME>_CLIENT_SECRET`, as the provider issued it.
    Fixed(Secret),
    /// Sign in with Apple's: a JWT signed with the site's key, renewed as it ages.
    Apple(Arc<apple::ClientSecretMinter>),
}

impl ClientSecret {
    /// The secret to send now.
    pub fn current(&self) -> Secret {
        match self {
            ClientSecret::Fixed(secret) => secret.clone(),
            ClientSecret::Apple(minter) => minter.current(),
        }
    }
}

impl ProviderConfig {
    /// Whether sign-ins with this provider keep its tokens.
    pub fn keeps_tokens(&self) -> bool {
        self.keep_tokens
    }
}

/// `{prefix}_KEEP_TOKENS`, by default on for OAuth 1.0a only.
pub(super) fn keep_tokens(
    prefix: &str,
    get: &impl Fn(&str) -> Option<String>,
    protocol: &ProtocolSettings,
) -> Result<bool, ConfigError> {
    let variable = format!("{prefix}_KEEP_TOKENS");
    let default = matches!(protocol, ProtocolSettings::OAuth1(_));
    parse_switch(&variable, get(&variable), default)
}

/// What the provider's protocol needs beyond the credentials every provider has, and
/// nothing another protocol needs: flow code matches on this once and never checks for a
/// setting that "must" be there.
#[derive(Debug)]
pub enum ProtocolSettings {
    OAuth2(OAuth2Settings),
    OAuth1(OAuth1Settings),
    OpenIdConnect(OidcSettings),
}

/// The fixed endpoints of an OAuth 2 or OAuth 1.0a provider and how its profile reads (an
/// OpenID Connect issuer publishes its own endpoints: see [`OidcSettings`]).
#[derive(Debug)]
pub struct Endpoints {
    pub authorize_url: Url,
    /// OAuth 2 token endpoint, or OAuth 1.0a access-token endpoint.
    pub token_url: Url,
    pub userinfo_url: Url,
    /// Added to the userinfo request, e.g. Facebook's `fields`.
    pub userinfo_query: Vec<(String, String)>,
    /// Reads the provider's userinfo answer.
    pub map_profile: ProfileReader,
}

#[derive(Debug)]
pub struct OAuth2Settings {
    pub endpoints: Endpoints,
    /// Facebook wants one comma-separated scope string.
    pub scope: String,
    /// How the client authenticates at the token endpoint.
    pub token_auth: AuthType,
    /// Where to find the person's verified primary address when the profile has none
    /// (GitHub's `/user/emails`).
    pub emails_url: Option<Url>,
    /// Where the person's grant is deleted when kept tokens are given up (GitHub's).
    pub grant_url: Option<Url>,
}

#[derive(Debug)]
pub struct OAuth1Settings {
    pub endpoints: Endpoints,
    pub request_token_url: Url,
    /// Ask the person to log in at the provider every time.
    pub force_login: bool,
}

/// An OpenID Connect issuer: everything else comes from its discovery document.
#[derive(Debug)]
pub struct OidcSettings {
    /// The issuer, its metadata and keys once discovered (shared by every request).
    pub issuer: Arc<discovery::Issuer>,
    /// Asked for besides `openid`.
    pub scopes: Vec<String>,
    /// How to ask for a refresh token when tokens are kept, if not with the standard
    /// `offline_access` scope (see `ProviderSpec`).
    pub offline_access: &'static [(&'static str, &'static str)],
    /// A multi-tenant issuer's accepted tenants (Microsoft's; see `tenants`).
    pub tenancy: Option<Tenancy>,
    /// Whose word the addresses it gives are.
    pub email_trust: EmailTrust,
    /// Its `picture` claims can be shown as they are (see `IssuerTraits`).
    pub public_pictures: bool,
    /// It answers by form post (see `IssuerTraits`).
    pub form_post: bool,
}

/// The variables of a provider whose settings start with `prefix` (`OAUTH_GITHUB`): its
/// client id and secret, both or neither (`None`: the provider is not offered).
pub(super) fn credentials(
    prefix: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, Secret)>, ConfigError> {
    let (id_var, secret_var) = (
        format!("{prefix}_CLIENT_ID"),
        format!("{prefix}_CLIENT_SECRET"),
    );
    match (get(&id_var), get(&secret_var)) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => Ok(Some((id.trim().to_owned(), Secret::new(secret.trim())))),
        (Some(_), None) => Err(config_error(
            &secret_var,
            format!("is missing ({id_var} is set)"),
        )),
        (None, Some(_)) => Err(config_error(
            &id_var,
            format!("is missing ({secret_var} is set)"),
        )),
    }
}

/// A built-in provider, offered when its client id and secret are set.
pub(super) fn preset_from_env(
    spec: &'static ProviderSpec,
    get: &impl Fn(&str) -> Option<String>,
    timing: discovery::Timing,
) -> Result<Option<ProviderConfig>, ConfigError> {
    let prefix = format!("OAUTH_{}", spec.env);
    let var = |suffix: &str| format!("{prefix}_{suffix}");
    let Some((client_id, client_secret)) = credentials(&prefix, get)? else {
        return Ok(None);
    };
    let endpoint = |suffix: &str, default: &str| -> Result<Url, ConfigError> {
        let variable = var(suffix);
        let raw = get(&variable).unwrap_or_else(|| default.to_owned());
        let url = Url::parse(raw.trim())
            .map_err(|e| config_error(&variable, format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config_error(
                &variable,
                "must be an http:// or https:// URL",
            ));
        }
        Ok(url)
    };
    let protocol = match &spec.protocol {
        Protocol::OAuth2 {
            endpoints: defaults,
            scope,
            token_auth,
            emails_url,
            grant_url,
        } => ProtocolSettings::OAuth2(OAuth2Settings {
            emails_url: emails_url
                .map(|default| endpoint("EMAILS_URL", default))
                .transpose()?,
            grant_url: grant_url
                .map(|default| {
                    let id = url::form_urlencoded::byte_serialize(client_id.as_bytes())
                        .collect::<String>();
                    endpoint("GRANT_URL", &default.replace("{client_id}", &id))
                })
                .transpose()?,
            endpoints: endpoints(
                defaults,
                [
                    endpoint("AUTHORIZE_URL", defaults.authorize_url)?,
                    endpoint("TOKEN_URL", defaults.token_url)?,
                    endpoint("USERINFO_URL", defaults.userinfo_url)?,
                ],
            ),
            scope: (*scope).to_owned(),
            token_auth: token_auth.clone(),
        }),
        Protocol::OAuth1 {
            endpoints: defaults,
            request_token_url,
            force_login_authorize_url,
        } => {
            let force_login = parse_switch(&var("FORCE_LOGIN"), get(&var("FORCE_LOGIN")), false)?;
            let authorize = if force_login {
                force_login_authorize_url
            } else {
                defaults.authorize_url
            };
            ProtocolSettings::OAuth1(OAuth1Settings {
                endpoints: endpoints(
                    defaults,
                    [
                        endpoint("AUTHORIZE_URL", authorize)?,
                        endpoint("ACCESS_TOKEN_URL", defaults.token_url)?,
                        endpoint("USERINFO_URL", defaults.userinfo_url)?,
                    ],
                ),
                request_token_url: endpoint("REQUEST_TOKEN_URL", request_token_url)?,
                force_login,
            })
        }
        Protocol::OpenIdConnect {
            issuer,
            scopes,
            offline_access,
            traits,
        } => oidc_issuers::settings(
            &prefix,
            get,
            oidc_issuers::Preset {
                issuer: Some(issuer),
                scopes,
                offline_access,
                traits,
            },
            timing,
        )?,
    };
    let mut provider = from_spec(
        spec,
        client_id,
        ClientSecret::Fixed(client_secret),
        protocol,
    );
    provider.keep_tokens = keep_tokens(&prefix, get, &provider.protocol)?;
    provider.settings_prefix = Some(prefix);
    Ok(Some(provider))
}

/// The built-in demo provider, an OpenID Connect issuer served by this app.
pub(super) fn demo(
    public_url: &Url,
    client_secret: Secret,
    timing: discovery::Timing,
) -> ProviderConfig {
    let spec = &providers::DEMO;
    let Protocol::OpenIdConnect {
        scopes,
        offline_access,
        ..
    } = &spec.protocol
    else {
        unreachable!("the demo provider is an OpenID Connect issuer")
    };
    // Its own address, whatever the scheme: no `https://` rule for talking to ourselves.
    let issuer = IssuerUrl::from_url(demo_issuer(public_url));
    let protocol = ProtocolSettings::OpenIdConnect(OidcSettings {
        issuer: Arc::new(discovery::Issuer::new(issuer, timing)),
        scopes: scopes.split(' ').map(str::to_owned).collect(),
        offline_access,
        tenancy: None,
        email_trust: EmailTrust::SelfAsserted,
        public_pictures: true,
        form_post: false,
    });
    from_spec(
        spec,
        DEMO_CLIENT_ID.to_owned(),
        ClientSecret::Fixed(client_secret),
        protocol,
    )
}

/// The demo provider's issuer: `{PUBLIC_URL}/demo-provider`.
pub fn demo_issuer(public_url: &Url) -> Url {
    let Protocol::OpenIdConnect { issuer, .. } = providers::DEMO.protocol else {
        unreachable!("the demo provider is an OpenID Connect issuer")
    };
    public_url.join(issuer).expect("static path joins")
}

/// A spec's endpoints at the addresses chosen for them (authorize, token, userinfo).
fn endpoints(spec: &EndpointSpec, [authorize_url, token_url, userinfo_url]: [Url; 3]) -> Endpoints {
    Endpoints {
        authorize_url,
        token_url,
        userinfo_url,
        userinfo_query: spec
            .userinfo_query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        map_profile: ProfileReader::Builtin(spec.map_profile),
    }
}

/// The provider of a built-in spec, with the credentials and protocol settings chosen for
/// it; no settings prefix (the caller sets it where the provider has variables).
pub(super) fn from_spec(
    spec: &ProviderSpec,
    client_id: String,
    client_secret: ClientSecret,
    protocol: ProtocolSettings,
) -> ProviderConfig {
    ProviderConfig {
        name: spec.name.to_owned(),
        label: spec.label.to_owned(),
        settings_prefix: None,
        client_id,
        client_secret,
        https_callback_only: spec.https_callback_only,
        keep_tokens: matches!(protocol, ProtocolSettings::OAuth1(_)),
        protocol,
    }
}
