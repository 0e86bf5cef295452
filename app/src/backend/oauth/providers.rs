//! The providers we know, as data. Adding an OAuth 2 provider means adding a spec here and
//! a profile mapping in `profile.rs`; the flow code is shared.

use oauth2::AuthType;
use serde_json::Value;

use super::profile::{self, Profile, ProfileError};

pub struct ProviderSpec {
    /// Path segment in `/authorize/{name}` and the prefix of `social_id`.
    pub name: &'static str,
    /// Shown on the button: "Sign in with {label}".
    pub label: &'static str,
    /// `OAUTH_{env}_CLIENT_ID` and friends.
    pub env: &'static str,
    pub authorize_url: &'static str,
    pub token_url: &'static str,
    pub userinfo_url: &'static str,
    /// Facebook wants one comma-separated scope string.
    pub scope: &'static str,
    /// Added to the userinfo request, e.g. Facebook's `fields`.
    pub userinfo_query: &'static [(&'static str, &'static str)],
    /// How the client authenticates at the token endpoint.
    pub token_auth: AuthType,
    pub map_profile: fn(&Value) -> Result<Profile, ProfileError>,
}

pub const FACEBOOK: ProviderSpec = ProviderSpec {
    name: "facebook",
    label: "Facebook",
    env: "FACEBOOK",
    authorize_url: "https://www.facebook.com/v21.0/dialog/oauth",
    token_url: "https://graph.facebook.com/v21.0/oauth/access_token",
    userinfo_url: "https://graph.facebook.com/v21.0/me",
    scope: "email,public_profile",
    userinfo_query: &[("fields", "id,name,email,picture")],
    // Facebook documents client_id/client_secret as request parameters.
    token_auth: AuthType::RequestBody,
    map_profile: profile::facebook,
};

/// The built-in demo provider; its URLs are relative to `PUBLIC_URL`.
pub const DEMO: ProviderSpec = ProviderSpec {
    name: "demo",
    label: "Demo",
    env: "DEMO",
    authorize_url: "/demo-provider/authorize",
    token_url: "/demo-provider/token",
    userinfo_url: "/demo-provider/userinfo",
    scope: "profile email",
    userinfo_query: &[],
    token_auth: AuthType::BasicAuth,
    map_profile: profile::openid_userinfo,
};

/// Real providers configured from the environment, in button order.
pub const CONFIGURABLE: &[&ProviderSpec] = &[&FACEBOOK];
