//! Turning a provider's user-info JSON into the fields we store, and refusing what we must
//! not store (no id means no account: the seed created a shared `twitter$None` user).

use serde_json::Value;

pub use crate::models::EmailStatus;

/// Longest nickname kept, in characters; longer ones are cut at a character boundary.
pub const MAX_NICKNAME_CHARS: usize = 64;
const MAX_PROVIDER_USER_ID_LEN: usize = 128;
const MAX_EMAIL_LEN: usize = 254;
const MAX_AVATAR_URL_LEN: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub provider_user_id: String,
    pub nickname: String,
    pub email: Option<String>,
    /// What the provider said about `email`.
    pub email_status: EmailStatus,
    pub avatar_url: Option<String>,
    /// The provider said no name this time (Apple says it only once): `nickname` is a
    /// stand-in, and the name stored before stays.
    pub name_unsaid: bool,
}

/// Whose word the addresses an issuer gives are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTrust {
    /// Verified when the issuer says so (`email_verified`); an address it does not vouch
    /// for is not kept.
    IssuerVerified,
    /// Kept, never as verified: the issuer does not check addresses (Microsoft).
    Unvouched,
    /// Typed in by the person at the provider (the demo provider): kept, shown as theirs.
    SelfAsserted,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("The provider's profile has no user id.")]
    MissingId,
    #[error("The provider's profile has an invalid user id.")]
    InvalidId,
}

/// Facebook Graph `/me?fields=id,name,email,picture`. Email is often absent.
pub fn facebook(json: &Value) -> Result<Profile, ProfileError> {
    let provider_user_id = user_id(json.get("id"))?;
    Ok(Profile {
        nickname: nickname(json.get("name").and_then(Value::as_str), "Facebook user"),
        email: email(json.get("email")),
        email_status: EmailStatus::Unverified,
        avatar_url: avatar_url(json.pointer("/picture/data/url")),
        provider_user_id,
        name_unsaid: false,
    })
}

/// Twitter `account/verify_credentials.json`. `id_str`, not `id`: ids exceed 2^53 and lose
/// digits as JSON numbers in many parsers.
pub fn twitter(json: &Value) -> Result<Profile, ProfileError> {
    let provider_user_id = user_id(json.get("id_str"))?;
    let name = json.get("screen_name").and_then(Value::as_str);
    Ok(Profile {
        nickname: nickname(name, "Twitter user"),
        email: email(json.get("email")),
        email_status: EmailStatus::Unverified,
        avatar_url: avatar_url(json.get("profile_image_url_https")),
        provider_user_id,
        name_unsaid: false,
    })
}

/// GitHub `GET /user`: a numeric `id`, the `login`, an optional display `name`, the public
/// `email` (often null: see [`verified_primary_email`]) and `avatar_url`.
pub fn github(json: &Value) -> Result<Profile, ProfileError> {
    let provider_user_id = user_id(json.get("id"))?;
    let name = json
        .get("name")
        .and_then(Value::as_str)
        .filter(|name| !name.trim().is_empty())
        .or_else(|| json.get("login").and_then(Value::as_str));
    Ok(Profile {
        nickname: nickname(name, "GitHub user"),
        // The public address: GitHub does not say it was verified.
        email: email(json.get("email")),
        email_status: EmailStatus::Unverified,
        avatar_url: avatar_url(json.get("avatar_url")),
        provider_user_id,
        name_unsaid: false,
    })
}

/// Discord `GET /users/@me`: a snowflake `id`, the display name (`global_name`, else the
/// `username`), the address with `verified` (whether Discord checked it) and the avatar as
/// a hash under the CDN's documented path.
pub fn discord(json: &Value) -> Result<Profile, ProfileError> {
    let provider_user_id = user_id(json.get("id"))?;
    let name = json
        .get("global_name")
        .and_then(Value::as_str)
        .filter(|name| !name.trim().is_empty())
        .or_else(|| json.get("username").and_then(Value::as_str));
    let email = email(json.get("email"));
    let verified = json.get("verified") == Some(&Value::Bool(true));
    let avatar = json
        .get("avatar")
        .and_then(Value::as_str)
        .filter(|hash| {
            !hash.is_empty() && hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|hash| {
            Value::String(format!(
                "https://cdn.discordapp.com/avatars/{provider_user_id}/{hash}.png"
            ))
        });
    Ok(Profile {
        nickname: nickname(name, "Discord user"),
        email_status: if verified && email.is_some() {
            EmailStatus::Verified
        } else {
            EmailStatus::Unverified
        },
        email,
        avatar_url: avatar_url(avatar.as_ref()),
        provider_user_id,
        name_unsaid: false,
    })
}

/// GitHub `GET /user/emails`: the primary address, and only if GitHub has verified it. Any
/// other address proves nothing about who signed in (the 2023 Flask example took the first).
pub fn verified_primary_email(json: &Value) -> Option<String> {
    json.as_array()?
        .iter()
        .find(|entry| {
            entry.get("primary") == Some(&Value::Bool(true))
                && entry.get("verified") == Some(&Value::Bool(true))
        })
        .and_then(|entry| email(entry.get("email")))
}

/// OpenID Connect userinfo shape (`sub`, `name`, `email`, `picture`): what `oidc_flow`
/// assembles from an issuer's ID token and userinfo answer, where an address is there only
/// when the issuer verified it (or the demo provider's people typed it: `oidc_flow` marks
/// those self-asserted).
pub fn openid_userinfo(json: &Value) -> Result<Profile, ProfileError> {
    let provider_user_id = user_id(json.get("sub"))?;
    let name = json
        .get("name")
        .or_else(|| json.get("preferred_username"))
        .and_then(Value::as_str);
    Ok(Profile {
        nickname: nickname(name, "User"),
        email: email(json.get("email")),
        email_status: EmailStatus::Verified,
        avatar_url: avatar_url(json.get("picture")),
        provider_user_id,
        name_unsaid: false,
    })
}

/// How a provider's userinfo answer reads: a built-in provider's own reader, or the JSON
/// pointers a provider configured by its variables alone names (`OAUTH_<NAME>_*_FIELD`).
#[derive(Clone, Debug)]
pub enum ProfileReader {
    Builtin(fn(&Value) -> Result<Profile, ProfileError>),
    Fields(ProfileFields),
}

impl ProfileReader {
    pub fn read(&self, json: &Value) -> Result<Profile, ProfileError> {
        match self {
            ProfileReader::Builtin(read) => read(json),
            ProfileReader::Fields(fields) => fields.read(json),
        }
    }
}

/// Where each part of the profile is in a userinfo answer, as JSON pointers (RFC 6901).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileFields {
    pub subject: String,
    pub name: String,
    pub email: String,
    /// A boolean (or `"true"`) saying the address is verified; `None`: never verified.
    pub email_verified: Option<String>,
    pub avatar: String,
}

impl ProfileFields {
    fn read(&self, json: &Value) -> Result<Profile, ProfileError> {
        let provider_user_id = user_id(json.pointer(&self.subject))?;
        let email = email(json.pointer(&self.email));
        let verified = self.email_verified.as_deref().is_some_and(|pointer| {
            matches!(json.pointer(pointer), Some(Value::Bool(true)))
                || matches!(json.pointer(pointer), Some(Value::String(s)) if s == "true")
        });
        Ok(Profile {
            nickname: nickname(json.pointer(&self.name).and_then(Value::as_str), "User"),
            email_status: if verified && email.is_some() {
                EmailStatus::Verified
            } else {
                EmailStatus::Unverified
            },
            email,
            avatar_url: avatar_url(json.pointer(&self.avatar)),
            provider_user_id,
            name_unsaid: false,
        })
    }
}

/// Ids come as strings (Facebook) or numbers (some others); both become the same text.
fn user_id(value: Option<&Value>) -> Result<String, ProfileError> {
    let id = match value {
        None | Some(Value::Null) => return Err(ProfileError::MissingId),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err(ProfileError::InvalidId),
    };
    if id.is_empty() {
        return Err(ProfileError::MissingId);
    }
    let printable = id.chars().all(|c| c.is_ascii_graphic());
    if id.len() > MAX_PROVIDER_USER_ID_LEN || !printable {
        return Err(ProfileError::InvalidId);
    }
    Ok(id)
}

/// Drops control and invisible formatting characters (zero-width, bidi overrides), folds
/// whitespace, and cuts to [`MAX_NICKNAME_CHARS`]. Escaping is the renderer's job.
pub fn nickname(raw: Option<&str>, fallback: &str) -> String {
    let cleaned: String = raw
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let cut: String = cleaned.chars().take(MAX_NICKNAME_CHARS).collect();
    if cut.is_empty() {
        fallback.to_owned()
    } else {
        cut
    }
}

pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn email(value: Option<&Value>) -> Option<String> {
    let email = value?.as_str()?.trim();
    let plausible = email.len() <= MAX_EMAIL_LEN
        && email.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then(|| email.to_owned())
}

/// Only absolute https URLs are kept: an avatar is put in an `<img src>`, and a plain-http
/// image would be mixed content (and is outside the pages' CSP `img-src`).
fn avatar_url(value: Option<&Value>) -> Option<String> {
    let raw = value?.as_str()?.trim();
    if raw.len() > MAX_AVATAR_URL_LEN {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    (url.scheme() == "https").then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configured_fields_read_nested_answers_and_verify_only_when_told() {
        let fields = ProfileFields {
            subject: "/data/user/id".into(),
            name: "/data/user/display_name".into(),
            email: "/data/user/email".into(),
            email_verified: Some("/data/user/verified".into()),
            avatar: "/data/user/avatar".into(),
        };
        let answer = |verified: Value| {
            json!({"data": {"user": {
                "id": 80351110224678912u64, "display_name": "Nelly", "email": "nelly@example.com",
                "verified": verified, "avatar": "https://cdn.example/a.png"
            }}})
        };
        let profile = fields.read(&answer(json!(true))).unwrap();
        assert_eq!(profile.provider_user_id, "80351110224678912");
        assert_eq!(profile.nickname, "Nelly");
        assert_eq!(profile.email.as_deref(), Some("nelly@example.com"));
        assert_eq!(profile.email_status, EmailStatus::Verified);
        assert_eq!(
            profile.avatar_url.as_deref(),
            Some("https://cdn.example/a.png")
        );
        assert_eq!(
            fields.read(&answer(json!("true"))).unwrap().email_status,
            EmailStatus::Verified
        );
        for unverified in [json!(false), json!("yes"), json!(1), Value::Null] {
            assert_eq!(
                fields.read(&answer(unverified)).unwrap().email_status,
                EmailStatus::Unverified
            );
        }
        let never = ProfileFields {
            email_verified: None,
            ..fields.clone()
        };
        assert_eq!(
            never.read(&answer(json!(true))).unwrap().email_status,
            EmailStatus::Unverified
        );
        assert_eq!(
            fields.read(&json!({"data": {}})),
            Err(ProfileError::MissingId)
        );
    }

    #[test]
    fn discord_profile_maps_its_documented_user_object() {
        // Discord's documented example user, with the `email` scope's fields.
        let profile = discord(&json!({
            "id": "80351110224678912", "username": "nelly", "discriminator": "0",
            "global_name": "Nelly", "avatar": "8342729096ea3675442027381ff50dfe",
            "verified": true, "email": "nelly@discord.com", "flags": 64
        }))
        .unwrap();
        assert_eq!(
            profile,
            Profile {
                provider_user_id: "80351110224678912".into(),
                nickname: "Nelly".into(),
                email: Some("nelly@discord.com".into()),
                email_status: EmailStatus::Verified,
                avatar_url: Some(
                    "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
                        .into()
                ),
                name_unsaid: false,
            }
        );
        let plain = discord(&json!({
            "id": "1", "username": "nelly", "global_name": null, "avatar": null,
            "verified": false, "email": "nelly@discord.com"
        }))
        .unwrap();
        assert_eq!(plain.nickname, "nelly");
        assert_eq!(plain.email_status, EmailStatus::Unverified);
        assert_eq!(plain.avatar_url, None);
        let odd_hash = discord(&json!({"id": "1", "username": "n", "avatar": "../../x"})).unwrap();
        assert_eq!(odd_hash.avatar_url, None);
    }

    #[test]
    fn github_profile_maps_a_recorded_user() {
        // Shape of GitHub's documented `GET /user` example, trimmed.
        let profile = github(&json!({
            "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
            "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
            "type": "User", "site_admin": false, "name": "The Octocat",
            "company": "@github", "email": null, "bio": null
        }))
        .unwrap();
        assert_eq!(
            profile,
            Profile {
                provider_user_id: "583231".into(),
                nickname: "The Octocat".into(),
                email: None,
                email_status: EmailStatus::Unverified,
                avatar_url: Some("https://avatars.githubusercontent.com/u/583231?v=4".into()),
                name_unsaid: false,
            }
        );
    }

    #[test]
    fn github_profile_without_a_name_uses_the_login_and_without_an_id_is_refused() {
        let profile = github(&json!({"login": "ghost", "id": 10137, "name": null})).unwrap();
        assert_eq!(profile.nickname, "ghost");
        let profile = github(&json!({"login": "blank", "id": 1, "name": "  "})).unwrap();
        assert_eq!(profile.nickname, "blank");
        let profile = github(&json!({"id": 2})).unwrap();
        assert_eq!(profile.nickname, "GitHub user");
        assert_eq!(
            github(&json!({"login": "x", "id": null})),
            Err(ProfileError::MissingId)
        );
    }

    #[test]
    fn only_a_verified_primary_github_email_is_taken() {
        let emails = json!([
            {"email": "old@example.com", "primary": false, "verified": true, "visibility": null},
            {"email": "octo@example.com", "primary": true, "verified": true, "visibility": "public"}
        ]);
        assert_eq!(
            verified_primary_email(&emails).as_deref(),
            Some("octo@example.com")
        );
        let unverified_primary = json!([
            {"email": "claimed@example.com", "primary": true, "verified": false},
            {"email": "other@example.com", "primary": false, "verified": true}
        ]);
        assert_eq!(verified_primary_email(&unverified_primary), None);
        assert_eq!(verified_primary_email(&json!([])), None);
        assert_eq!(
            verified_primary_email(&json!({"message": "Not Found"})),
            None
        );
        let stringly = json!([{"email": "s@example.com", "primary": "true", "verified": "true"}]);
        assert_eq!(verified_primary_email(&stringly), None, "booleans only");
    }

    #[test]
    fn facebook_profile_maps_all_fields() {
        let profile = facebook(&json!({
            "id": "10153000000000001",
            "name": "Ann Example",
            "email": "ann@example.com",
            "picture": {"data": {"url": "https://platform-lookaside.fbsbx.com/p.jpg"}}
        }))
        .unwrap();
        assert_eq!(
            profile,
            Profile {
                provider_user_id: "10153000000000001".into(),
                nickname: "Ann Example".into(),
                email: Some("ann@example.com".into()),
                email_status: EmailStatus::Unverified,
                avatar_url: Some("https://platform-lookaside.fbsbx.com/p.jpg".into()),
                name_unsaid: false,
            }
        );
    }

    #[test]
    fn facebook_without_email_still_signs_in_and_nickname_is_the_name() {
        let profile = facebook(&json!({"id": "42", "name": "No Mail"})).unwrap();
        assert_eq!(profile.email, None);
        assert_eq!(profile.nickname, "No Mail");
        assert_eq!(profile.avatar_url, None);
    }

    #[test]
    fn twitter_profile_uses_id_str_and_screen_name() {
        let profile = twitter(&json!({
            "id": 1234567890123456789u64,
            "id_str": "1234567890123456789",
            "name": "Tess Tweet",
            "screen_name": "tess",
            "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/a_normal.jpg"
        }))
        .unwrap();
        assert_eq!(profile.provider_user_id, "1234567890123456789");
        assert_eq!(profile.nickname, "tess");
        assert_eq!(profile.email, None);
        assert_eq!(
            profile.avatar_url.as_deref(),
            Some("https://pbs.twimg.com/profile_images/1/a_normal.jpg")
        );
        // The seed's `twitter$None`: no id_str, no account.
        assert_eq!(
            twitter(&json!({"screen_name": "x"})),
            Err(ProfileError::MissingId)
        );
    }

    #[test]
    fn missing_empty_or_odd_ids_are_refused() {
        assert_eq!(
            facebook(&json!({"name": "x"})),
            Err(ProfileError::MissingId)
        );
        assert_eq!(facebook(&json!({"id": null})), Err(ProfileError::MissingId));
        assert_eq!(facebook(&json!({"id": "  "})), Err(ProfileError::MissingId));
        assert_eq!(
            facebook(&json!({"id": {"a": 1}})),
            Err(ProfileError::InvalidId)
        );
        assert_eq!(
            facebook(&json!({"id": "a b"})),
            Err(ProfileError::InvalidId)
        );
        let long = "9".repeat(MAX_PROVIDER_USER_ID_LEN + 1);
        assert_eq!(
            facebook(&json!({ "id": long })),
            Err(ProfileError::InvalidId)
        );
        assert_eq!(
            openid_userinfo(&json!({"sub": 1234}))
                .unwrap()
                .provider_user_id,
            "1234"
        );
    }

    #[test]
    fn nicknames_are_cleaned_and_cut_at_a_char_boundary() {
        assert_eq!(nickname(Some("  a\u{200B}b\u{202E}c\n d "), "x"), "abc d");
        assert_eq!(nickname(Some("\u{200B}"), "fallback"), "fallback");
        let long = "é".repeat(10_000);
        let cut = nickname(Some(&long), "x");
        assert_eq!(cut.chars().count(), MAX_NICKNAME_CHARS);
        assert_eq!(
            nickname(Some("<script>x</script>"), "x"),
            "<script>x</script>"
        );
    }

    #[test]
    fn only_plausible_emails_and_https_avatars_are_kept() {
        let p = openid_userinfo(&json!({
            "sub": "s", "email": "not an email", "picture": "javascript:alert(1)"
        }))
        .unwrap();
        assert_eq!(p.email, None);
        assert_eq!(p.avatar_url, None);
        let plain = openid_userinfo(&json!({"sub": "s", "picture": "http://img.example/a.png"}));
        assert_eq!(plain.unwrap().avatar_url, None);
        let secure = openid_userinfo(&json!({"sub": "s", "picture": "https://img.example/a.png"}));
        assert_eq!(
            secure.unwrap().avatar_url.as_deref(),
            Some("https://img.example/a.png")
        );
    }
}
