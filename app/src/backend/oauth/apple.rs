//! Sign in with Apple's departures from plain OpenID Connect:
//! - its client secret is no fixed string but a JWT the site signs (ES256) with the key
//!   downloaded from Apple's developer account: issuer the team id, subject the client id
//!   (the Services ID), audience `https://appleid.apple.com`, at most six months' life;
//! - it answers by form post (`response_mode=form_post`, required when name or email are
//!   asked for), and only the first time does that form carry the person's name, unsigned,
//!   in its `user` field.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::backend::secret::Secret;

/// The audience Apple requires of client secrets, whatever its issuer's address.
pub const AUDIENCE: &str = "https://appleid.apple.com";
/// How long a minted secret is valid. Apple takes up to six months; a day is plenty for a
/// value that is minted in microseconds, and limits what a leaked one is worth.
const LIFETIME_SECS: u64 = 24 * 60 * 60;
/// A secret is replaced once it has lived this long: well before it expires, so a request
/// under way (or a clock a little ahead at Apple) never carries an expired one.
const RENEW_AFTER_SECS: u64 = LIFETIME_SECS / 2;

/// Mints and caches the client secret of one Apple client.
pub struct ClientSecretMinter {
    team_id: String,
    key_id: String,
    client_id: String,
    key: EncodingKey,
    minted: Mutex<Option<Minted>>,
}

struct Minted {
    secret: Secret,
    issued_at: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'static str,
    iat: u64,
    exp: u64,
}

impl std::fmt::Debug for ClientSecretMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never, and the ids say which key it is.
        f.debug_struct("ClientSecretMinter")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ClientSecretMinter {
    /// From the `.p8` key's PEM text: refused (with the reason) unless it is a P-256 key
    /// that signs, so that a bad key stops the start-up rather than every sign-in.
    pub fn new(team_id: &str, key_id: &str, client_id: &str, pem: &str) -> Result<Self, String> {
        let key = EncodingKey::from_ec_pem(pem.as_bytes())
            .map_err(|err| format!("is not an EC private key in PEM (PKCS#8) form ({err})"))?;
        let minter = Self {
            team_id: team_id.to_owned(),
            key_id: key_id.to_owned(),
            client_id: client_id.to_owned(),
            key,
            minted: Mutex::new(None),
        };
        minter
            .mint(now())
            .map_err(|err| format!("cannot sign an ES256 client secret ({err})"))?;
        Ok(minter)
    }

    /// Which key signs, for the set-up doctor: the ids, never the key.
    pub fn describe(&self) -> String {
        format!("team {}, key {}", self.team_id, self.key_id)
    }

    /// The client secret to send now: the cached one, or a new one once it is half-way
    /// through its life.
    pub fn current(&self) -> Secret {
        let now = now();
        let mut minted = self.minted.lock().unwrap();
        if let Some(minted) = minted
            .as_ref()
            .filter(|m| now < m.issued_at + RENEW_AFTER_SECS)
        {
            return minted.secret.clone();
        }
        let secret = self
            .mint(now)
            .expect("the key signed at start-up and signs the same claims now");
        *minted = Some(Minted {
            secret: secret.clone(),
            issued_at: now,
        });
        secret
    }

    fn mint(&self, now: u64) -> Result<Secret, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = Claims {
            iss: &self.team_id,
            sub: &self.client_id,
            aud: AUDIENCE,
            iat: now,
            exp: now + LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map(Secret::new)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Apple's ids (team and key): ten capital letters or digits.
pub fn is_apple_id(text: &str) -> bool {
    text.len() == 10
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The `user` field of Apple's first form post: `{"name":{"firstName":…,"lastName":…},
/// "email":…}`. Only the name is read, as a display name: the field is not signed, so it
/// proves nothing (the address comes from the verified ID token).
pub fn name_from_user_field(user: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct User {
        name: Option<Name>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Name {
        first_name: Option<String>,
        last_name: Option<String>,
    }
    let name = serde_json::from_str::<User>(user).ok()?.name?;
    let full = [name.first_name, name.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim().to_owned())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty()).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    // Test key only (generated for these tests; it signs nothing real), with its public half.
    const KEY: &str = include_str!("testdata/apple-test-key.p8");
    const PUBLIC_KEY: &str = include_str!("testdata/apple-test-key.pub.pem");

    #[derive(Deserialize, Debug)]
    struct Read {
        iss: String,
        sub: String,
        aud: String,
        iat: u64,
        exp: u64,
    }

    #[test]
    fn the_client_secret_is_an_es256_jwt_apple_accepts() {
        let minter =
            ClientSecretMinter::new("TEAM123456", "KEY1234567", "com.example.web", KEY).unwrap();
        let secret = minter.current();
        let header = jsonwebtoken::decode_header(secret.expose()).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&["TEAM123456"]);
        let read = jsonwebtoken::decode::<Read>(
            secret.expose(),
            &DecodingKey::from_ec_pem(PUBLIC_KEY.as_bytes()).unwrap(),
            &validation,
        )
        .expect("signed by the key, for Apple");
        assert_eq!(read.claims.sub, "com.example.web");
        assert_eq!(
            (read.claims.iss.as_str(), read.claims.aud.as_str()),
            ("TEAM123456", AUDIENCE)
        );
        assert!(
            read.claims.exp - read.claims.iat <= 15_777_000,
            "six months at most"
        );
        // Cached: the same value until it is due for renewal.
        assert_eq!(minter.current(), secret);
        assert!(!format!("{minter:?}").contains("BEGIN"));
    }

    #[test]
    fn a_key_that_cannot_sign_is_refused_at_once() {
        for bad in ["", "not a key", PUBLIC_KEY] {
            assert!(ClientSecretMinter::new("TEAM123456", "KEY1234567", "c", bad).is_err());
        }
    }

    #[test]
    fn the_name_comes_from_the_user_field_only_when_it_holds_one() {
        let first = r#"{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"j@privaterelay.appleid.com"}"#;
        assert_eq!(
            name_from_user_field(first).as_deref(),
            Some("Jane Appleseed")
        );
        assert_eq!(
            name_from_user_field(r#"{"name":{"firstName":" Jane "}}"#).as_deref(),
            Some("Jane")
        );
        for nothing in [
            r#"{"email":"j@example.com"}"#,
            r#"{"name":{}}"#,
            "not json",
            "",
        ] {
            assert_eq!(name_from_user_field(nothing), None, "{nothing}");
        }
    }

    #[test]
    fn apple_ids_are_ten_capitals_or_digits() {
        assert!(is_apple_id("TEAM123456"));
        for bad in ["team123456", "TEAM12345", "TEAM1234567", "TEAM-23456"] {
            assert!(!is_apple_id(bad), "{bad}");
        }
    }
}
