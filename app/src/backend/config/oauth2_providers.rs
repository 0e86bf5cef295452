//! OAuth 2 providers without OpenID Connect (Discord, Slack, Strava, an in-house server) by
//! configuration alone: `OAUTH_<NAME>_AUTHORIZE_URL`, `_TOKEN_URL`, `_USERINFO_URL`,
//! `_CLIENT_ID` and `_CLIENT_SECRET`, optionally `_SCOPES`, `_LABEL`, `_TOKEN_AUTH` and where
//! the userinfo answer keeps each part of the profile (`_SUBJECT_FIELD`, `_NAME_FIELD`,
//! `_EMAIL_FIELD`, `_EMAIL_VERIFIED_FIELD`, `_AVATAR_FIELD`, JSON pointers), for any
//! `<NAME>` that is not a built-in provider. The sign-in is the OAuth 2 one every provider
//! uses: `state` and PKCE S256 always.

use std::collections::HashMap;

use oauth2::AuthType;
use url::Url;

use super::oidc_issuers::{check_name, checked_label, label_from, scopes};
use super::provider::{
    credentials, keep_tokens, ClientSecret, Endpoints, OAuth2Settings, ProtocolSettings,
    ProviderConfig,
};
use super::{config_error, ConfigError};
use crate::backend::oauth::address_policy::is_https_or_local;
use crate::backend::oauth::profile::{ProfileFields, ProfileReader};
use crate::backend::oauth::providers;

/// Where the profile's parts are when the variables do not say: the most common shape
/// (`{"id": …, "name": …, "email": …, "avatar_url": …}`). No address is verified unless
/// `_EMAIL_VERIFIED_FIELD` names what says so.
const DEFAULT_FIELDS: [(&str, &str); 4] = [
    ("SUBJECT_FIELD", "/id"),
    ("NAME_FIELD", "/name"),
    ("EMAIL_FIELD", "/email"),
    ("AVATAR_FIELD", "/avatar_url"),
];

/// Every provider configured by its variables alone, in the order of their names.
pub(super) fn from_vars(
    vars: &HashMap<String, String>,
) -> Result<Vec<ProviderConfig>, ConfigError> {
    let get = |name: &str| vars.get(name).cloned();
    let mut names: Vec<&str> = vars
        .keys()
        .filter_map(|var| var.strip_prefix("OAUTH_")?.strip_suffix("_AUTHORIZE_URL"))
        .filter(|name| {
            // A preset's own endpoint setting: read with the preset.
            !providers::CONFIGURABLE.iter().any(|spec| spec.env == *name)
        })
        .collect();
    names.sort_unstable();
    let mut configured = Vec::new();
    for name in names {
        configured.push(provider(name, &get)?);
    }
    Ok(configured)
}

fn provider(
    name: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, ConfigError> {
    let prefix = format!("OAUTH_{name}");
    let var = |suffix: &str| format!("{prefix}_{suffix}");
    if name == providers::DEMO.env {
        return Err(config_error(
            &var("AUTHORIZE_URL"),
            "names the built-in demo provider: give this provider another name",
        ));
    }
    check_name(name, &var("AUTHORIZE_URL"))?;
    if get(&var("ISSUER")).is_some() {
        return Err(config_error(
            &var("AUTHORIZE_URL"),
            format!(
                "is set beside {}: an OpenID Connect issuer publishes its own endpoints; \
                 set one or the other",
                var("ISSUER")
            ),
        ));
    }
    let Some((client_id, client_secret)) = credentials(&prefix, get)? else {
        return Err(config_error(
            &var("CLIENT_ID"),
            format!("is missing ({} is set)", var("AUTHORIZE_URL")),
        ));
    };
    let endpoint = |suffix: &str| -> Result<Url, ConfigError> {
        let variable = var(suffix);
        let raw = get(&variable).ok_or_else(|| {
            config_error(
                &variable,
                format!("is missing ({} is set)", var("AUTHORIZE_URL")),
            )
        })?;
        let url = Url::parse(raw.trim())
            .map_err(|e| config_error(&variable, format!("is not a URL ({e})")))?;
        if !is_https_or_local(&url) {
            return Err(config_error(
                &variable,
                "must be an https:// URL (http:// only on this machine)",
            ));
        }
        Ok(url)
    };
    let token_auth = match get(&var("TOKEN_AUTH")).as_deref().map(str::trim) {
        None | Some("basic") => AuthType::BasicAuth,
        Some("post") => AuthType::RequestBody,
        Some(other) => {
            return Err(config_error(
                &var("TOKEN_AUTH"),
                format!("is {other:?}: use basic (HTTP Basic, the default) or post (in the body)"),
            ))
        }
    };
    let pointer = |suffix: &str, default: Option<&str>| -> Result<Option<String>, ConfigError> {
        let variable = var(suffix);
        let Some(raw) = get(&variable).or(default.map(str::to_owned)) else {
            return Ok(None);
        };
        json_pointer(raw.trim())
            .map(Some)
            .map_err(|problem| config_error(&variable, problem))
    };
    let field = |suffix: &str| -> Result<String, ConfigError> {
        let default = DEFAULT_FIELDS
            .iter()
            .find(|(name, _)| *name == suffix)
            .map(|(_, pointer)| *pointer);
        Ok(pointer(suffix, default)?.unwrap_or_default())
    };
    let fields = ProfileFields {
        subject: field("SUBJECT_FIELD")?,
        name: field("NAME_FIELD")?,
        email: field("EMAIL_FIELD")?,
        email_verified: pointer("EMAIL_VERIFIED_FIELD", None)?,
        avatar: field("AVATAR_FIELD")?,
    };
    let protocol = ProtocolSettings::OAuth2(OAuth2Settings {
        endpoints: Endpoints {
            authorize_url: endpoint("AUTHORIZE_URL")?,
            token_url: endpoint("TOKEN_URL")?,
            userinfo_url: endpoint("USERINFO_URL")?,
            userinfo_query: Vec::new(),
            map_profile: ProfileReader::Fields(fields),
        },
        scope: scopes(&prefix, get, "")?.join(" "),
        token_auth,
        emails_url: None,
        grant_url: None,
    });
    let label = match get(&var("LABEL")) {
        Some(label) => checked_label(label.trim(), &prefix)?,
        None => label_from(name),
    };
    Ok(ProviderConfig {
        name: name.to_ascii_lowercase(),
        label,
        client_id,
        client_secret: ClientSecret::Fixed(client_secret),
        https_callback_only: false,
        keep_tokens: keep_tokens(&prefix, get, &protocol)?,
        protocol,
        settings_prefix: Some(prefix),
    })
}

/// A JSON pointer (RFC 6901): empty (the whole answer) or `/`-separated tokens in which `~`
/// is only ever `~0` or `~1`.
fn json_pointer(raw: &str) -> Result<String, String> {
    let well_formed = (raw.is_empty() || raw.starts_with('/'))
        && raw
            .split('~')
            .skip(1)
            .all(|after| after.starts_with('0') || after.starts_with('1'));
    if well_formed {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "is {raw:?}, not a JSON pointer: write e.g. /id, or /data/user/email for a nested field"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_follow_rfc_6901() {
        for good in ["", "/id", "/data/user/id", "/a~1b", "/m~0n", "/0"] {
            assert_eq!(json_pointer(good).as_deref(), Ok(good), "{good}");
        }
        for bad in ["id", "data.user.id", "/a~2b", "/a~", "$.id"] {
            assert!(json_pointer(bad).is_err(), "{bad}");
        }
    }
}
