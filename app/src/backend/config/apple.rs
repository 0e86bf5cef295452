//! Sign in with Apple from its variables: `OAUTH_APPLE_CLIENT_ID` (the Services ID),
//! `OAUTH_APPLE_TEAM_ID`, `OAUTH_APPLE_KEY_ID` and `OAUTH_APPLE_PRIVATE_KEY` (the `.p8`
//! key's PEM text) or `OAUTH_APPLE_PRIVATE_KEY_FILE`; no client secret, as the site signs
//! its own (see `oauth::apple`). `OAUTH_APPLE_ISSUER` points elsewhere (a stand-in).

use std::sync::Arc;

use super::oidc_issuers::{self, Preset};
use super::provider::{from_spec, keep_tokens, ClientSecret, ProviderConfig};
use super::{config_error, ConfigError};
use crate::backend::oauth::apple::{self, ClientSecretMinter};
use crate::backend::oauth::discovery;
use crate::backend::oauth::providers::{Protocol, APPLE};

const PREFIX: &str = "OAUTH_APPLE";

/// Apple, offered when `OAUTH_APPLE_CLIENT_ID` is set; every other variable it needs is
/// then required, and a key that cannot sign stops the start-up.
pub(super) fn from_env(
    get: &impl Fn(&str) -> Option<String>,
    timing: discovery::Timing,
) -> Result<Option<ProviderConfig>, ConfigError> {
    let var = |suffix: &str| format!("{PREFIX}_{suffix}");
    let required = |suffix: &str| {
        get(&var(suffix))
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                config_error(
                    &var(suffix),
                    format!("is missing ({PREFIX}_CLIENT_ID is set)"),
                )
            })
    };
    let Some(client_id) = get(&var("CLIENT_ID")).map(|id| id.trim().to_owned()) else {
        for suffix in ["TEAM_ID", "KEY_ID", "PRIVATE_KEY", "PRIVATE_KEY_FILE"] {
            if get(&var(suffix)).is_some() {
                return Err(config_error(
                    &var("CLIENT_ID"),
                    format!("is missing ({PREFIX}_{suffix} is set)"),
                ));
            }
        }
        return Ok(None);
    };
    if get(&var("CLIENT_SECRET")).is_some() {
        return Err(config_error(
            &var("CLIENT_SECRET"),
            "is not used: Apple's client secret is signed by this site with OAUTH_APPLE_PRIVATE_KEY",
        ));
    }
    let team_id = required("TEAM_ID")?;
    let key_id = required("KEY_ID")?;
    for (suffix, value) in [("TEAM_ID", &team_id), ("KEY_ID", &key_id)] {
        if !apple::is_apple_id(value) {
            return Err(config_error(
                &var(suffix),
                "must be Apple's ten capital letters or digits, as its developer account shows it",
            ));
        }
    }
    let (key_var, pem) = private_key(get)?;
    let minter = ClientSecretMinter::new(&team_id, &key_id, &client_id, &pem)
        .map_err(|problem| config_error(&key_var, problem))?;

    let Protocol::OpenIdConnect {
        issuer,
        scopes,
        offline_access,
        traits,
    } = &APPLE.protocol
    else {
        unreachable!("Apple is an OpenID Connect issuer")
    };
    let protocol = oidc_issuers::settings(
        PREFIX,
        get,
        Preset {
            issuer: Some(issuer),
            scopes,
            offline_access,
            traits,
        },
        timing,
    )?;
    let mut provider = from_spec(
        &APPLE,
        client_id,
        ClientSecret::Apple(Arc::new(minter)),
        protocol,
    );
    provider.keep_tokens = keep_tokens(PREFIX, get, &provider.protocol)?;
    provider.settings_prefix = Some(PREFIX.to_owned());
    Ok(Some(provider))
}

/// The key's PEM text and the variable it came from: `OAUTH_APPLE_PRIVATE_KEY` (newlines
/// may be written `\n`, as some deployment tools keep variables on one line) or the file
/// `OAUTH_APPLE_PRIVATE_KEY_FILE` names, not both.
fn private_key(get: &impl Fn(&str) -> Option<String>) -> Result<(String, String), ConfigError> {
    let (text_var, file_var) = (
        format!("{PREFIX}_PRIVATE_KEY"),
        format!("{PREFIX}_PRIVATE_KEY_FILE"),
    );
    match (get(&text_var), get(&file_var)) {
        (Some(_), Some(_)) => Err(config_error(
            &file_var,
            format!("and {text_var} are both set: keep one"),
        )),
        (Some(text), None) => Ok((text_var, text.replace("\\n", "\n"))),
        (None, Some(path)) => std::fs::read_to_string(path.trim())
            .map(|pem| (file_var.clone(), pem))
            .map_err(|err| config_error(&file_var, format!("cannot be read ({err})"))),
        (None, None) => Err(config_error(
            &text_var,
            format!("is missing ({PREFIX}_CLIENT_ID is set; or give {file_var})"),
        )),
    }
}
