//! The demo provider's OAuth 1.0a bookkeeping: request tokens (single use), verifiers,
//! access tokens, and used nonces.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

use rand::distr::{Alphanumeric, SampleString};

use super::{grants::DemoIdentity, oauth1_endpoints::TIMESTAMP_WINDOW_SECS};

const REQUEST_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

struct RequestTokenGrant {
    consumer_key: String,
    secret: String,
    callback: String,
    /// Set once the person allowed: (verifier, who).
    authorized: Option<(String, DemoIdentity)>,
    issued: Instant,
}

struct AccessTokenGrant {
    consumer_key: String,
    secret: String,
    identity: DemoIdentity,
}

/// A token as `verify` needs it.
pub struct VerifiedToken {
    pub token: String,
    pub secret: String,
    pub consumer_key: String,
    pub identity: Option<DemoIdentity>,
}

pub struct PendingAuthorization {
    pub consumer_key: String,
    pub callback: String,
}

#[derive(Default)]
pub struct OAuth1Grants {
    request_tokens: Mutex<HashMap<String, RequestTokenGrant>>,
    access_tokens: Mutex<HashMap<String, AccessTokenGrant>>,
    /// (consumer, nonce, timestamp) seen; pruned once outside the timestamp window.
    nonces: Mutex<HashSet<(String, String, i64)>>,
}

fn random(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

impl OAuth1Grants {
    /// False when this nonce was already used with this timestamp by this consumer.
    pub fn use_nonce(&self, consumer_key: &str, timestamp: i64, nonce: &str) -> bool {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut nonces = self.nonces.lock().expect("nonces lock");
        nonces.retain(|(_, _, ts)| (now - ts).abs() <= TIMESTAMP_WINDOW_SECS);
        nonces.insert((consumer_key.to_owned(), nonce.to_owned(), timestamp))
    }

    pub fn issue_request_token(&self, consumer_key: &str, callback: &str) -> (String, String) {
        let (token, secret) = (random(32), random(40));
        let mut tokens = self.request_tokens.lock().expect("request tokens lock");
        tokens.retain(|_, grant| grant.issued.elapsed() < REQUEST_TOKEN_LIFETIME);
        tokens.insert(
            token.clone(),
            RequestTokenGrant {
                consumer_key: consumer_key.to_owned(),
                secret: secret.clone(),
                callback: callback.to_owned(),
                authorized: None,
                issued: Instant::now(),
            },
        );
        (token, secret)
    }

    fn live<'a>(
        tokens: &'a HashMap<String, RequestTokenGrant>,
        token: &str,
    ) -> Option<&'a RequestTokenGrant> {
        tokens
            .get(token)
            .filter(|grant| grant.issued.elapsed() < REQUEST_TOKEN_LIFETIME)
    }

    /// A request token waiting for the person's decision.
    pub fn pending_authorization(&self, token: &str) -> Option<PendingAuthorization> {
        let tokens = self.request_tokens.lock().expect("request tokens lock");
        Self::live(&tokens, token)
            .filter(|grant| grant.authorized.is_none())
            .map(|grant| PendingAuthorization {
                consumer_key: grant.consumer_key.clone(),
                callback: grant.callback.clone(),
            })
    }

    /// Records consent and returns the verifier; `None` if already decided.
    pub fn authorize(&self, token: &str, identity: DemoIdentity) -> Option<String> {
        let mut tokens = self.request_tokens.lock().expect("request tokens lock");
        let grant = tokens.get_mut(token)?;
        if grant.authorized.is_some() {
            return None;
        }
        let verifier = random(24);
        grant.authorized = Some((verifier.clone(), identity));
        Some(verifier)
    }

    pub fn forget_request_token(&self, token: &str) {
        self.request_tokens
            .lock()
            .expect("request tokens lock")
            .remove(token);
    }

    pub fn request_token(&self, token: &str) -> Option<VerifiedToken> {
        let tokens = self.request_tokens.lock().expect("request tokens lock");
        Self::live(&tokens, token).map(|grant| VerifiedToken {
            token: token.to_owned(),
            secret: grant.secret.clone(),
            consumer_key: grant.consumer_key.clone(),
            identity: None,
        })
    }

    /// Removes the request token (whatever the verifier) and returns who consented if the
    /// verifier is the one we issued.
    pub fn redeem_request_token(&self, token: &str, verifier: &str) -> Option<DemoIdentity> {
        let grant = self
            .request_tokens
            .lock()
            .expect("request tokens lock")
            .remove(token)?;
        let (expected, identity) = grant.authorized?;
        app::backend::secret::constant_time_eq(&expected, verifier).then_some(identity)
    }

    pub fn issue_access_token(
        &self,
        consumer_key: &str,
        identity: DemoIdentity,
    ) -> (String, String) {
        let (token, secret) = (random(40), random(40));
        self.access_tokens
            .lock()
            .expect("access tokens lock")
            .insert(
                token.clone(),
                AccessTokenGrant {
                    consumer_key: consumer_key.to_owned(),
                    secret: secret.clone(),
                    identity,
                },
            );
        (token, secret)
    }

    pub fn access_token(&self, token: &str) -> Option<VerifiedToken> {
        let tokens = self.access_tokens.lock().expect("access tokens lock");
        tokens.get(token).map(|grant| VerifiedToken {
            token: token.to_owned(),
            secret: grant.secret.clone(),
            consumer_key: grant.consumer_key.clone(),
            identity: Some(grant.identity.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn someone() -> DemoIdentity {
        DemoIdentity {
            name: "Tess".into(),
            email: None,
        }
    }

    #[test]
    fn nonces_are_single_use_per_consumer_and_timestamp() {
        let grants = OAuth1Grants::default();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(grants.use_nonce("ck", now, "n1"));
        assert!(!grants.use_nonce("ck", now, "n1"));
        assert!(grants.use_nonce("other", now, "n1"));
    }

    #[test]
    fn request_tokens_and_verifiers_are_single_use() {
        let grants = OAuth1Grants::default();
        let (token, _) = grants.issue_request_token("ck", "http://x/callback/twitter");
        let verifier = grants.authorize(&token, someone()).unwrap();
        assert!(
            grants.authorize(&token, someone()).is_none(),
            "decided once"
        );
        assert!(grants.redeem_request_token(&token, "wrong").is_none());
        // The wrong verifier used the token up.
        assert!(grants.redeem_request_token(&token, &verifier).is_none());

        let (token, _) = grants.issue_request_token("ck", "http://x/callback/twitter");
        let verifier = grants.authorize(&token, someone()).unwrap();
        assert_eq!(
            grants.redeem_request_token(&token, &verifier),
            Some(someone())
        );
        assert!(grants.redeem_request_token(&token, &verifier).is_none());
    }
}
