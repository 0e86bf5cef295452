//! OpenID Connect issuers by configuration alone: `OAUTH_<NAME>_ISSUER`, `_CLIENT_ID` and
//! `_CLIENT_SECRET`, optionally `_LABEL` and `_SCOPES`, for any `<NAME>` that is not a
//! built-in provider. `<NAME>` lowercased is the provider's path segment
//! (`/authorize/<name>`) and the prefix of its identities' social ids.

use std::collections::HashMap;
use std::sync::Arc;

use super::provider::{credentials, ClientSecret, OidcSettings, ProtocolSettings, ProviderConfig};
use super::{config_error, ConfigError};
use crate::backend::oauth::discovery;
use crate::backend::oauth::profile::EmailTrust;
use crate::backend::oauth::providers::{self, IssuerTraits, Protocol, PLAIN_ISSUER};
use crate::backend::oauth::tenants::{self, Tenancy};

/// Asked for when `_SCOPES` is not set: who the person is, by name and address.
const DEFAULT_SCOPES: &str = "email profile";
const MAX_NAME_LEN: usize = 32;
const MAX_LABEL_LEN: usize = 40;

/// Every issuer configured by its variables alone, in the order of their names.
pub(super) fn from_vars(
    vars: &HashMap<String, String>,
    timing: discovery::Timing,
) -> Result<Vec<ProviderConfig>, ConfigError> {
    let get = |name: &str| vars.get(name).cloned();
    let mut names: Vec<&str> = vars
        .keys()
        .filter_map(|var| var.strip_prefix("OAUTH_")?.strip_suffix("_ISSUER"))
        .collect();
    names.sort_unstable();
    let mut issuers = Vec::new();
    for name in names {
        let prefix = format!("OAUTH_{name}");
        let issuer_var = format!("{prefix}_ISSUER");
        if name == providers::DEMO.env {
            return Err(config_error(
                &issuer_var,
                "names the built-in demo provider: give this issuer another name",
            ));
        }
        if let Some(spec) = providers::CONFIGURABLE.iter().find(|spec| spec.env == name) {
            if matches!(spec.protocol, Protocol::OpenIdConnect { .. }) {
                continue; // A preset's own issuer setting: read with the preset.
            }
            return Err(config_error(
                &issuer_var,
                format!(
                    "names the built-in provider {}, which is not an OpenID Connect issuer: \
                     give this issuer another name",
                    spec.label
                ),
            ));
        }
        check_name(name, &issuer_var)?;
        let Some((client_id, client_secret)) = credentials(&prefix, &get)? else {
            return Err(config_error(
                &format!("{prefix}_CLIENT_ID"),
                format!("is missing ({issuer_var} is set)"),
            ));
        };
        let label = match get(&format!("{prefix}_LABEL")) {
            Some(label) => checked_label(label.trim(), &prefix)?,
            None => label_from(name),
        };
        let protocol = settings(
            &prefix,
            &get,
            Preset {
                issuer: None,
                scopes: DEFAULT_SCOPES,
                offline_access: &[],
                traits: &PLAIN_ISSUER,
            },
            timing,
        )?;
        issuers.push(ProviderConfig {
            name: name.to_ascii_lowercase(),
            label,
            settings_prefix: Some(prefix.clone()),
            client_id,
            client_secret: ClientSecret::Fixed(client_secret),
            https_callback_only: false,
            keep_tokens: super::provider::keep_tokens(&prefix, &get, &protocol)?,
            protocol,
        });
    }
    Ok(issuers)
}

/// What a preset says of its issuer (nothing, for one configured by its variables alone).
pub(super) struct Preset<'a> {
    pub issuer: Option<&'a str>,
    pub scopes: &'a str,
    pub offline_access: &'static [(&'static str, &'static str)],
    pub traits: &'a IssuerTraits,
}

/// An issuer's settings: `{prefix}_ISSUER` (or the preset's issuer) and `{prefix}_SCOPES`
/// (or the preset's), space- or comma-separated; for a multi-tenant preset,
/// `{prefix}_TENANT` (filled in for `{tenant}` in the issuer) and `{prefix}_TENANTS`.
pub(super) fn settings(
    prefix: &str,
    get: &impl Fn(&str) -> Option<String>,
    preset: Preset<'_>,
    timing: discovery::Timing,
) -> Result<ProtocolSettings, ConfigError> {
    let issuer_var = format!("{prefix}_ISSUER");
    let mut raw_issuer = get(&issuer_var)
        .or_else(|| preset.issuer.map(str::to_owned))
        .ok_or_else(|| config_error(&issuer_var, "is missing"))?;
    let tenancy = match preset.traits.default_tenant {
        Some(default) => {
            let tenant_var = format!("{prefix}_TENANT");
            if get(&tenant_var).is_some() && !raw_issuer.contains("{tenant}") {
                return Err(config_error(
                    &tenant_var,
                    format!("has no effect: {issuer_var} has no {{tenant}} to fill in"),
                ));
            }
            raw_issuer = raw_issuer.replace("{tenant}", &tenant(prefix, get, default)?);
            Some(allowed_tenants(prefix, get)?)
        }
        None => None,
    };
    let issuer =
        discovery::issuer_url(&raw_issuer).map_err(|problem| config_error(&issuer_var, problem))?;
    // `openid` is always asked for.
    let scopes = scopes(prefix, get, preset.scopes)?
        .into_iter()
        .filter(|scope| scope != "openid")
        .collect();
    let issuer = match tenancy {
        Some(_) => discovery::Issuer::multi_tenant(issuer, timing),
        None => discovery::Issuer::new(issuer, timing),
    };
    Ok(ProtocolSettings::OpenIdConnect(OidcSettings {
        issuer: Arc::new(issuer),
        scopes,
        offline_access: preset.offline_access,
        tenancy,
        email_trust: if preset.traits.vouches_for_email {
            EmailTrust::IssuerVerified
        } else {
            EmailTrust::Unvouched
        },
        public_pictures: preset.traits.public_pictures,
        form_post: preset.traits.answers_by_form_post,
    }))
}

/// `{prefix}_TENANT`: whose people sign in (`common`, `organizations`, `consumers`, a
/// tenant id or domain).
fn tenant(
    prefix: &str,
    get: &impl Fn(&str) -> Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let variable = format!("{prefix}_TENANT");
    let tenant = get(&variable).map_or_else(|| default.to_owned(), |t| t.trim().to_owned());
    if tenants::is_tenant_segment(&tenant) {
        Ok(tenant)
    } else {
        Err(config_error(
            &variable,
            "must be common, organizations, consumers, a tenant id or a tenant's domain",
        ))
    }
}

/// `{prefix}_TENANTS`: only these tenants' people may sign in (unset: any).
fn allowed_tenants(
    prefix: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Tenancy, ConfigError> {
    let variable = format!("{prefix}_TENANTS");
    let allowed = get(&variable)
        .map(|raw| Tenancy::parse_allowed(&raw).map_err(|problem| config_error(&variable, problem)))
        .transpose()?;
    Ok(Tenancy { allowed })
}

/// `{prefix}_SCOPES` (or `default`), space- or comma-separated, each once.
pub(super) fn scopes(
    prefix: &str,
    get: &impl Fn(&str) -> Option<String>,
    default: &str,
) -> Result<Vec<String>, ConfigError> {
    let scopes_var = format!("{prefix}_SCOPES");
    let raw_scopes = get(&scopes_var).unwrap_or_else(|| default.to_owned());
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw_scopes.split([' ', ',']).filter(|s| !s.is_empty()) {
        // RFC 6749 §3.3: printable ASCII but space, `"` and `\`.
        let valid = scope
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
        if !valid {
            return Err(config_error(
                &scopes_var,
                format!("holds {scope:?}, which is not a scope"),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// `OIDC_DISCOVERY_REFRESH_SECS` (default an hour) and `OIDC_DISCOVERY_MAX_STALE_SECS`
/// (default a day): see `discovery::Timing`.
pub(super) fn discovery_timing(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<discovery::Timing, ConfigError> {
    let defaults = discovery::Timing::default();
    let seconds = |variable: &str, default: std::time::Duration| {
        super::parse_number(get(variable), variable, default.as_secs(), 1..=30 * 86_400)
            .map(std::time::Duration::from_secs)
    };
    let refresh_after = seconds("OIDC_DISCOVERY_REFRESH_SECS", defaults.refresh_after)?;
    let max_stale = seconds("OIDC_DISCOVERY_MAX_STALE_SECS", defaults.max_stale)?;
    if max_stale < refresh_after {
        return Err(config_error(
            "OIDC_DISCOVERY_MAX_STALE_SECS",
            "must be at least OIDC_DISCOVERY_REFRESH_SECS",
        ));
    }
    Ok(discovery::Timing {
        refresh_after,
        max_stale,
    })
}

/// Names become path segments and social-id prefixes: letters, digits and `_`, from a letter.
pub(super) fn check_name(name: &str, variable: &str) -> Result<(), ConfigError> {
    let valid = name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(config_error(
            variable,
            format!(
                "names the provider {name:?}: use up to {MAX_NAME_LEN} capital letters, digits \
                 and _, starting with a letter (e.g. OAUTH_CORP_ISSUER)"
            ),
        ))
    }
}

pub(super) fn checked_label(label: &str, prefix: &str) -> Result<String, ConfigError> {
    if label.chars().count() > MAX_LABEL_LEN || label.chars().any(char::is_control) {
        return Err(config_error(
            &format!("{prefix}_LABEL"),
            format!("must be at most {MAX_LABEL_LEN} printable characters"),
        ));
    }
    Ok(label.to_owned())
}

/// `MY_CORP` -> "My Corp".
pub(super) fn label_from(name: &str) -> String {
    name.split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
