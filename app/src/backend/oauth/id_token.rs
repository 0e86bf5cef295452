//! Checking an OpenID Connect ID token (Core §3.1.3.7) with `openidconnect`: the signature
//! against the issuer's keys (asymmetric algorithms only: `alg: none` and HMAC, which an
//! attacker could key with the issuer's public key, are refused), then `iss`, `aud`, `azp`,
//! `exp`, `iat` (not in the future, not older than a token fresh from the token endpoint
//! can be) and `nonce`; for a multi-tenant issuer, `iss` against the token's `tid`. The
//! email comes with whether the issuer says it verified it.

use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, Nonce, SignatureVerificationError,
};

use super::tenants::{self, Tenancy};

/// Who the token says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// `sub`: the issuer's identifier for the person, the social id's second half.
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The issuer marks the address `email_verified: true` (or `"true"`).
    pub email_verified: bool,
    pub picture: Option<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// No key of the set matches the token's `kid`: the issuer may have rotated its keys,
    /// so the caller fetches them once more and tries again.
    #[error("no key of the issuer matches the token")]
    UnknownKey,
    #[error("the ID token was refused: {0}")]
    Refused(String),
}

/// What the token must say to be ours.
pub struct Expected<'a> {
    pub issuer: &'a IssuerUrl,
    pub client_id: &'a ClientId,
    /// The nonce this browser's sign-in sent in its authorization request.
    pub nonce: &'a Nonce,
    /// A multi-tenant issuer's tenants: `issuer` is then the document's template, and
    /// the token's `iss` is checked against its `tid` (see `tenants`).
    pub tenancy: Option<&'a Tenancy>,
}

/// Clocks differ: how far in the future `iat` may be.
const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;
/// The token is read moments after the token endpoint issued it.
const MAX_TOKEN_AGE_SECS: i64 = 60 * 60;

/// Core §3.1.3.7 step 10: a token issued far from now is refused.
fn check_issue_time(issued_at: i64) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    if issued_at > now + MAX_CLOCK_SKEW_SECS {
        Err("issued in the future (iat)".into())
    } else if issued_at < now - MAX_TOKEN_AGE_SECS {
        Err("issued too long ago (iat)".into())
    } else {
        Ok(())
    }
}

/// The signature algorithms accepted: the asymmetric ones issuers use.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 7] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Checks `token` against the issuer's `keys` and what we expect of it.
pub fn verify(
    token: &CoreIdToken,
    keys: &CoreJsonWebKeySet,
    expected: Expected<'_>,
) -> Result<VerifiedIdentity, IdTokenError> {
    // A public-client verifier: no client secret, so no HMAC key at all.
    let verifier = CoreIdTokenVerifier::new_public_client(
        expected.client_id.clone(),
        expected.issuer.clone(),
        keys.clone(),
    )
    .set_allowed_algs(ALLOWED_ALGS)
    .set_issue_time_verifier_fn(|issued_at| check_issue_time(issued_at.timestamp()))
    // A multi-tenant issuer's tokens name their tenant's issuer: checked below.
    .require_issuer_match(expected.tenancy.is_none());
    let claims = token
        .claims(&verifier, expected.nonce)
        .map_err(|err| match err {
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => IdTokenError::UnknownKey,
            // With its causes: "signature verification failed" alone does not say which
            // (an unsigned token, HMAC, a foreign key).
            other => IdTokenError::Refused(super::http_client::with_causes(&other)),
        })?;
    // Core §3.1.3.7 steps 4-5, which openidconnect leaves to its users: a token for several
    // audiences must name us as its authorized party, and a named one must be us.
    match claims.authorized_party() {
        Some(party) if party != expected.client_id => {
            return Err(IdTokenError::Refused(
                "issued to another authorized party (azp)".into(),
            ))
        }
        None if claims.audiences().len() > 1 => {
            return Err(IdTokenError::Refused(
                "several audiences and no authorized party (azp)".into(),
            ))
        }
        _ => {}
    }
    if let Some(tenancy) = expected.tenancy {
        let tid = signed_claim(token, "tid");
        tenants::check_token(
            expected.issuer.as_str(),
            claims.issuer().as_str(),
            tid.as_ref().and_then(|tid| tid.as_str()),
            tenancy,
        )
        .map_err(IdTokenError::Refused)?;
    }
    Ok(VerifiedIdentity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|email| email.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned())
            .or_else(|| {
                claims
                    .preferred_username()
                    .map(|name| name.as_str().to_owned())
            }),
        picture: claims
            .picture()
            .and_then(|picture| picture.get(None))
            .map(|url| url.as_str().to_owned()),
    })
}

/// A claim `openidconnect` does not read (Microsoft's `tid`), from the payload of a token
/// whose signature has been checked.
pub fn signed_claim(token: &CoreIdToken, name: &str) -> Option<serde_json::Value> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let compact = token.to_string();
    let payload = compact.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let mut claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&json).ok()?;
    claims.remove(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use chrono::{Duration, Utc};
    use hmac::{Hmac, Mac};
    use openidconnect::core::{CoreIdTokenClaims, CoreRsaPrivateSigningKey};
    use openidconnect::{
        Audience, EmptyAdditionalClaims, EndUserEmail, EndUserName, JsonWebKeyId,
        PrivateSigningKey, StandardClaims, SubjectIdentifier,
    };

    // Test keys only (generated for these tests; they sign nothing real).
    const KEY: &str = include_str!("testdata/id-token-test-key.pem");
    const OTHER_KEY: &str = include_str!("testdata/id-token-other-test-key.pem");
    const ISSUER: &str = "https://issuer.example";
    const CLIENT: &str = "our-client";
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
    }

    fn keys() -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![key(KEY, "k1").as_verification_key()])
    }

    struct Token {
        issuer: &'static str,
        audience: &'static str,
        extra_audience: Option<&'static str>,
        authorized_party: Option<&'static str>,
        nonce: Option<&'static str>,
        expires_in: Duration,
        issued_ago: Duration,
        email_verified: Option<bool>,
    }

    impl Default for Token {
        fn default() -> Self {
            Token {
                issuer: ISSUER,
                audience: CLIENT,
                extra_audience: None,
                authorized_party: None,
                nonce: Some(NONCE),
                expires_in: Duration::minutes(5),
                issued_ago: Duration::seconds(5),
                email_verified: Some(true),
            }
        }
    }

    impl Token {
        fn claims(&self) -> CoreIdTokenClaims {
            let standard = StandardClaims::new(SubjectIdentifier::new("248289761001".into()))
                .set_name(Some(EndUserName::new("Jane Doe".into()).into()))
                .set_email(Some(EndUserEmail::new("jane@example.com".into())))
                .set_email_verified(self.email_verified);
            let audiences = std::iter::once(self.audience)
                .chain(self.extra_audience)
                .map(|audience| Audience::new(audience.into()))
                .collect();
            CoreIdTokenClaims::new(
                IssuerUrl::new(self.issuer.into()).unwrap(),
                audiences,
                Utc::now() + self.expires_in,
                Utc::now() - self.issued_ago,
                standard,
                EmptyAdditionalClaims {},
            )
            .set_nonce(self.nonce.map(|n| Nonce::new(n.into())))
            .set_authorized_party(self.authorized_party.map(|azp| ClientId::new(azp.into())))
        }

        fn signed_with(&self, pem: &str, kid: &str) -> String {
            CoreIdToken::new(
                self.claims(),
                &key(pem, kid),
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                None,
                None,
            )
            .unwrap()
            .to_string()
        }

        fn signed(&self) -> String {
            self.signed_with(KEY, "k1")
        }
    }

    /// As the token endpoint's answer carries it: parsed (not yet checked).
    fn check(token: &str) -> Result<VerifiedIdentity, IdTokenError> {
        let token: CoreIdToken = token.parse().expect("a JWT");
        verify(
            &token,
            &keys(),
            Expected {
                issuer: &IssuerUrl::new(ISSUER.into()).unwrap(),
                client_id: &ClientId::new(CLIENT.into()),
                nonce: &Nonce::new(NONCE.into()),
                tenancy: None,
            },
        )
    }

    fn refused(token: &str) -> String {
        match check(token) {
            Err(IdTokenError::Refused(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_good_token_gives_the_subject_and_the_verified_email() {
        let identity = check(&Token::default().signed()).unwrap();
        assert_eq!(
            identity,
            VerifiedIdentity {
                subject: "248289761001".into(),
                name: Some("Jane Doe".into()),
                email: Some("jane@example.com".into()),
                email_verified: true,
                picture: None,
            }
        );
    }

    #[test]
    fn an_address_is_verified_only_when_the_token_says_so() {
        for email_verified in [Some(false), None] {
            let token = Token {
                email_verified,
                ..Default::default()
            };
            let identity = check(&token.signed()).unwrap();
            assert_eq!(identity.email.as_deref(), Some("jane@example.com"));
            assert!(!identity.email_verified);
        }
    }

    #[test]
    fn wrong_issuer_audience_nonce_or_expiry_are_refused() {
        let wrong_issuer = Token {
            issuer: "https://evil.example",
            ..Default::default()
        };
        assert!(refused(&wrong_issuer.signed()).contains("issuer"));
        let wrong_audience = Token {
            audience: "someone-else",
            ..Default::default()
        };
        assert!(refused(&wrong_audience.signed()).contains("audience"));
        let wrong_nonce = Token {
            nonce: Some("another-sign-in"),
            ..Default::default()
        };
        assert!(refused(&wrong_nonce.signed()).contains("nonce"));
        let no_nonce = Token {
            nonce: None,
            ..Default::default()
        };
        assert!(refused(&no_nonce.signed()).contains("nonce"));
        let expired = Token {
            expires_in: Duration::minutes(-5),
            ..Default::default()
        };
        assert!(refused(&expired.signed()).contains("Expired"));
        let from_the_future = Token {
            issued_ago: Duration::minutes(-10),
            expires_in: Duration::minutes(20),
            ..Default::default()
        };
        assert!(refused(&from_the_future.signed()).contains("iat"));
        let stale = Token {
            issued_ago: Duration::hours(2),
            ..Default::default()
        };
        assert!(refused(&stale.signed()).contains("iat"));
        // A clock a little ahead is not a refusal.
        let skewed = Token {
            issued_ago: Duration::minutes(-2),
            ..Default::default()
        };
        assert!(check(&skewed.signed()).is_ok());
    }

    #[test]
    fn another_authorized_party_or_an_unnamed_one_among_several_audiences_is_refused() {
        let other_party = Token {
            authorized_party: Some("someone-else"),
            ..Default::default()
        };
        assert!(refused(&other_party.signed()).contains("azp"));
        let several_audiences = Token {
            extra_audience: Some("someone-else"),
            ..Default::default()
        };
        assert!(check(&several_audiences.signed()).is_err());
        let ours = Token {
            authorized_party: Some(CLIENT),
            ..Default::default()
        };
        assert!(check(&ours.signed()).is_ok());
    }

    #[test]
    fn a_bad_signature_is_refused_and_an_unknown_key_asks_for_a_refetch() {
        // Signed by another key under the known kid: the signature does not verify.
        let forged = Token::default().signed_with(OTHER_KEY, "k1");
        assert!(refused(&forged).contains("Signature"), "{forged}");
        // Signed under a kid the set does not have (a rotated key).
        let rotated = Token::default().signed_with(OTHER_KEY, "k2");
        assert_eq!(check(&rotated), Err(IdTokenError::UnknownKey));
    }

    /// `header.payload.signature` with the payload of a good token.
    fn resigned(header: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let good = Token::default().signed();
        let payload = good.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(header);
        let signature = URL_SAFE_NO_PAD.encode(sign(format!("{header}.{payload}").as_bytes()));
        format!("{header}.{payload}.{signature}")
    }

    #[test]
    fn alg_none_and_hmac_keyed_with_the_public_key_are_refused() {
        let unsigned = resigned(r#"{"alg":"none","kid":"k1"}"#, |_| Vec::new());
        assert!(check(&unsigned).is_err());
        // The classic confusion: HS256 with the issuer's public key as the HMAC secret.
        let public_key = serde_json::to_vec(&keys()).unwrap();
        let confused = resigned(r#"{"alg":"HS256","kid":"k1"}"#, |input| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&public_key).unwrap();
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        });
        assert!(refused(&confused).contains("Signature"), "{confused}");
    }
}
