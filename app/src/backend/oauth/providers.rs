//! The providers we know, as data. A built-in OAuth 2 preset is one spec here and a profile
//! mapping in `profile.rs`; an OpenID Connect one is its issuer. Any other OpenID Connect
//! issuer needs no spec at all (see `config::oidc_issuers`). The flow code is per protocol.

use oauth2::AuthType;
use serde_json::Value;

use super::profile::{self, Profile, ProfileError};

pub enum Protocol {
    /// Authorization code + PKCE (RFC 6749, RFC 7636).
    OAuth2 {
        endpoints: EndpointSpec,
        /// Facebook wants one comma-separated scope string.
        scope: &'static str,
        /// How the client authenticates at the token endpoint.
        token_auth: AuthType,
        /// A GitHub-style list of the person's addresses (`email`, `primary`, `verified`),
        /// read when the profile names no email.
        emails_url: Option<&'static str>,
        /// Where an app deletes a person's grant, revoking its tokens (GitHub's `DELETE
        /// /applications/{client_id}/grant`): `{client_id}` stands for the client id.
        grant_url: Option<&'static str>,
    },
    /// RFC 5849 with HMAC-SHA1: request token, authorize, access token.
    OAuth1 {
        /// `token_url` is the access-token endpoint.
        endpoints: EndpointSpec,
        request_token_url: &'static str,
        /// Used instead of `authorize_url` when `OAUTH_{env}_FORCE_LOGIN=on`.
        force_login_authorize_url: &'static str,
    },
    /// OpenID Connect: endpoints, keys and claims from the issuer's discovery document.
    OpenIdConnect {
        issuer: &'static str,
        /// Asked for besides `openid`.
        scopes: &'static str,
        /// How to ask for a refresh token when tokens are kept, for an issuer that does not
        /// take the standard `offline_access` scope (Google); empty: the standard way.
        offline_access: &'static [(&'static str, &'static str)],
        /// Where the issuer departs from the plain OpenID Connect rules.
        traits: IssuerTraits,
    },
}

/// How an OpenID Connect preset departs from the plain rules.
pub struct IssuerTraits {
    /// The issuer serves many tenants from one discovery document (Microsoft): `issuer`
    /// holds `{tenant}`, filled in from `OAUTH_<NAME>_TENANT` (this by default), and its
    /// ID tokens are checked against the document's `{tenantid}` template (see `tenants`).
    pub default_tenant: Option<&'static str>,
    /// The issuer checks the addresses it gives out; false: kept, but as unverified,
    /// whatever `email_verified` says (Microsoft does not vouch for them).
    pub vouches_for_email: bool,
    /// The `picture` claim is an image anyone may load; false: it needs the person's
    /// token (Microsoft Graph's photo), so it is not shown.
    pub public_pictures: bool,
    /// The issuer answers by a form posted to the callback (`response_mode=form_post`),
    /// whose `user` field names the person the first time (Apple's; see `apple`).
    pub answers_by_form_post: bool,
}

/// A plain OpenID Connect issuer.
pub const PLAIN_ISSUER: IssuerTraits = IssuerTraits {
    default_tenant: None,
    vouches_for_email: true,
    public_pictures: true,
    answers_by_form_post: false,
};

/// The fixed endpoints of an OAuth 2 or OAuth 1.0a provider, and how its profile reads.
pub struct EndpointSpec {
    pub authorize_url: &'static str,
    /// OAuth 2 token endpoint, or OAuth 1.0a access-token endpoint.
    pub token_url: &'static str,
    pub userinfo_url: &'static str,
    /// Added to the userinfo request, e.g. Facebook's `fields`.
    pub userinfo_query: &'static [(&'static str, &'static str)],
    pub map_profile: fn(&Value) -> Result<Profile, ProfileError>,
}

pub struct ProviderSpec {
    /// Path segment in `/authorize/{name}` and the prefix of `social_id`.
    pub name: &'static str,
    /// Shown on the button: "Sign in with {label}".
    pub label: &'static str,
    /// `OAUTH_{env}_CLIENT_ID` and friends.
    pub env: &'static str,
    pub protocol: Protocol,
    /// The person types in their own name and email at the provider (the demo provider):
    /// nothing it says about them is checked, and everything showing it says so.
    pub self_asserted: bool,
    /// The provider accepts only https:// callback URLs (loopback ones aside).
    pub https_callback_only: bool,
}

pub const FACEBOOK: ProviderSpec = ProviderSpec {
    name: "facebook",
    label: "Facebook",
    env: "FACEBOOK",
    protocol: Protocol::OAuth2 {
        endpoints: EndpointSpec {
            authorize_url: "https://www.facebook.com/v21.0/dialog/oauth",
            token_url: "https://graph.facebook.com/v21.0/oauth/access_token",
            userinfo_url: "https://graph.facebook.com/v21.0/me",
            userinfo_query: &[("fields", "id,name,email,picture")],
            map_profile: profile::facebook,
        },
        scope: "email,public_profile",
        // Facebook documents client_id/client_secret as request parameters.
        token_auth: AuthType::RequestBody,
        emails_url: None,
        grant_url: None,
    },
    self_asserted: false,
    https_callback_only: true,
};

pub const TWITTER: ProviderSpec = ProviderSpec {
    name: "twitter",
    label: "Twitter",
    env: "TWITTER",
    protocol: Protocol::OAuth1 {
        endpoints: EndpointSpec {
            // "Sign in with Twitter": asks for consent only the first time.
            authorize_url: "https://api.twitter.com/oauth/authenticate",
            token_url: "https://api.twitter.com/oauth/access_token",
            userinfo_url: "https://api.twitter.com/1.1/account/verify_credentials.json",
            // Email comes only if the app has that permission and the person has one.
            userinfo_query: &[("include_email", "true"), ("skip_status", "true")],
            map_profile: profile::twitter,
        },
        request_token_url: "https://api.twitter.com/oauth/request_token",
        force_login_authorize_url: "https://api.twitter.com/oauth/authorize",
    },
    self_asserted: false,
    https_callback_only: false,
};

pub const GITHUB: ProviderSpec = ProviderSpec {
    name: "github",
    label: "GitHub",
    env: "GITHUB",
    protocol: Protocol::OAuth2 {
        endpoints: EndpointSpec {
            authorize_url: "https://github.com/login/oauth/authorize",
            token_url: "https://github.com/login/oauth/access_token",
            userinfo_url: "https://api.github.com/user",
            userinfo_query: &[],
            map_profile: profile::github,
        },
        // Profile read access, and the addresses (for the verified primary one).
        scope: "read:user user:email",
        // GitHub documents client_id/client_secret as request parameters.
        token_auth: AuthType::RequestBody,
        emails_url: Some("https://api.github.com/user/emails"),
        grant_url: Some("https://api.github.com/applications/{client_id}/grant"),
    },
    self_asserted: false,
    https_callback_only: false,
};

/// Google through the generic OpenID Connect path: its issuer is the whole preset.
pub const GOOGLE: ProviderSpec = ProviderSpec {
    name: "google",
    label: "Google",
    env: "GOOGLE",
    protocol: Protocol::OpenIdConnect {
        issuer: "https://accounts.google.com",
        scopes: "email profile",
        // Google's way: and `consent`, as it sends a refresh token only when it asks.
        offline_access: &[("access_type", "offline"), ("prompt", "consent")],
        traits: PLAIN_ISSUER,
    },
    self_asserted: false,
    // Google accepts http:// redirect URIs for localhost only.
    https_callback_only: true,
};

/// The built-in demo provider, an OpenID Connect issuer served by this app: a fresh clone
/// signs in through the same code as any issuer. Its issuer is relative to `PUBLIC_URL`.
/// GitLab: gitlab.com, or a self-managed instance through `OAUTH_GITLAB_ISSUER`.
pub const GITLAB: ProviderSpec = ProviderSpec {
    name: "gitlab",
    label: "GitLab",
    env: "GITLAB",
    protocol: Protocol::OpenIdConnect {
        issuer: "https://gitlab.com",
        scopes: "email profile",
        offline_access: &[],
        traits: PLAIN_ISSUER,
    },
    self_asserted: false,
    https_callback_only: false,
};

/// LinkedIn's "Sign In with LinkedIn using OpenID Connect" product.
pub const LINKEDIN: ProviderSpec = ProviderSpec {
    name: "linkedin",
    label: "LinkedIn",
    env: "LINKEDIN",
    protocol: Protocol::OpenIdConnect {
        issuer: "https://www.linkedin.com/oauth",
        scopes: "email profile",
        offline_access: &[],
        traits: PLAIN_ISSUER,
    },
    self_asserted: false,
    https_callback_only: false,
};

/// Microsoft accounts (Entra ID), personal and work or school: one issuer per tenant,
/// `common` (both kinds of account) by default.
pub const MICROSOFT: ProviderSpec = ProviderSpec {
    name: "microsoft",
    label: "Microsoft",
    env: "MICROSOFT",
    protocol: Protocol::OpenIdConnect {
        issuer: "https://login.microsoftonline.com/{tenant}/v2.0",
        scopes: "email profile",
        offline_access: &[],
        traits: IssuerTraits {
            default_tenant: Some("common"),
            // "The email claim … is not guaranteed to be verified" (Microsoft's ID token
            // reference): anyone may put any address on a work account.
            vouches_for_email: false,
            public_pictures: false,
            answers_by_form_post: false,
        },
    },
    self_asserted: false,
    // "Redirect URIs must begin with https" (http://localhost aside).
    https_callback_only: true,
};

/// Sign in with Apple: an OpenID Connect issuer whose client secret the site signs (see
/// `apple` and `config::apple`), answering by form post.
pub const APPLE: ProviderSpec = ProviderSpec {
    name: "apple",
    label: "Apple",
    env: "APPLE",
    protocol: Protocol::OpenIdConnect {
        issuer: "https://appleid.apple.com",
        // Apple's own scope names; `openid` is added as for every issuer.
        scopes: "name email",
        offline_access: &[],
        traits: IssuerTraits {
            default_tenant: None,
            // `email_verified` is true for addresses Apple checked and for its relays.
            vouches_for_email: true,
            public_pictures: true,
            answers_by_form_post: true,
        },
    },
    self_asserted: false,
    // "The return URL must use the https scheme and may not be localhost or an IP address."
    https_callback_only: true,
};

/// Discord: OAuth 2 only; `verified` says whether Discord checked the address.
pub const DISCORD: ProviderSpec = ProviderSpec {
    name: "discord",
    label: "Discord",
    env: "DISCORD",
    protocol: Protocol::OAuth2 {
        endpoints: EndpointSpec {
            authorize_url: "https://discord.com/oauth2/authorize",
            token_url: "https://discord.com/api/oauth2/token",
            userinfo_url: "https://discord.com/api/users/@me",
            userinfo_query: &[],
            map_profile: profile::discord,
        },
        scope: "identify email",
        token_auth: AuthType::BasicAuth,
        emails_url: None,
        grant_url: None,
    },
    self_asserted: false,
    https_callback_only: false,
};

pub const DEMO: ProviderSpec = ProviderSpec {
    name: "demo",
    label: "Demo",
    env: "DEMO",
    protocol: Protocol::OpenIdConnect {
        issuer: "/demo-provider",
        scopes: "profile email",
        offline_access: &[],
        traits: PLAIN_ISSUER,
    },
    self_asserted: true,
    https_callback_only: false,
};

/// Whether identities from the provider named `name` are self-asserted (see
/// [`ProviderSpec::self_asserted`]).
pub fn is_self_asserted(name: &str) -> bool {
    std::iter::once(&DEMO)
        .chain(CONFIGURABLE.iter().copied())
        .any(|spec| spec.name == name && spec.self_asserted)
}

/// Real providers configured from the environment, in button order.
pub const CONFIGURABLE: &[&ProviderSpec] = &[
    &FACEBOOK, &TWITTER, &GITHUB, &GOOGLE, &MICROSOFT, &APPLE, &GITLAB, &LINKEDIN, &DISCORD,
];
