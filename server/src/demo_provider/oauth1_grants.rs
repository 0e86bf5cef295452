//! The demo provider's OAuth 1.0a bookkeeping: request tokens (single use), verifiers,
//! access tokens, and used nonces.

use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};

use super::{
    bounded_store::BoundedStore,
    grants::{DemoIdentity, MAX_LIVE_GRANTS},
    oauth1_endpoints::TIMESTAMP_WINDOW_SECS,
};

const REQUEST_TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// The app uses an access token once, right after sign-in; the demo need not keep it long.
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// A nonce must be remembered while its timestamp is still accepted (either side of now).
const NONCE_MEMORY: Duration = Duration::from_secs(2 * TIMESTAMP_WINDOW_SECS as u64 + 1);
/// Only correctly signed requests use a nonce, so only registered clients fill this.
const MAX_REMEMBERED_NONCES: usize = 16 * 1024;

struct RequestTokenGrant {
    consumer_key: String,
    secret: String,
    callback: String,
    /// Set once the person allowed: (verifier, who).
    authorized: Option<(String, DemoIdentity)>,
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

pub struct OAuth1Grants {
    request_tokens: BoundedStore<RequestTokenGrant>,
    access_tokens: BoundedStore<AccessTokenGrant>,
    /// (consumer, timestamp, nonce) seen.
    nonces: BoundedStore<()>,
}

impl Default for OAuth1Grants {
    fn default() -> Self {
        Self {
            request_tokens: BoundedStore::new(MAX_LIVE_GRANTS, REQUEST_TOKEN_LIFETIME),
            access_tokens: BoundedStore::new(MAX_LIVE_GRANTS, ACCESS_TOKEN_LIFETIME),
            nonces: BoundedStore::new(MAX_REMEMBERED_NONCES, NONCE_MEMORY),
        }
    }
}

fn random(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

impl OAuth1Grants {
    /// False when this nonce was already used with this timestamp by this consumer.
    pub fn use_nonce(&self, consumer_key: &str, timestamp: i64, nonce: &str) -> bool {
        self.nonces
            .insert_new(format!("{consumer_key}\n{timestamp}\n{nonce}"), ())
    }

    pub fn issue_request_token(&self, consumer_key: &str, callback: &str) -> (String, String) {
        let (token, secret) = (random(32), random(40));
        let grant = RequestTokenGrant {
            consumer_key: consumer_key.to_owned(),
            secret: secret.clone(),
            callback: callback.to_owned(),
            authorized: None,
        };
        self.request_tokens.insert(token.clone(), grant);
        (token, secret)
    }

    /// A request token waiting for the person's decision.
    pub fn pending_authorization(&self, token: &str) -> Option<PendingAuthorization> {
        self.request_tokens
            .with(token, |grant| {
                grant.authorized.is_none().then(|| PendingAuthorization {
                    consumer_key: grant.consumer_key.clone(),
                    callback: grant.callback.clone(),
                })
            })
            .flatten()
    }

    /// Records consent and returns the verifier; `None` if already decided.
    pub fn authorize(&self, token: &str, identity: DemoIdentity) -> Option<String> {
        self.request_tokens
            .with(token, |grant| {
                if grant.authorized.is_some() {
                    return None;
                }
                let verifier = random(24);
                grant.authorized = Some((verifier.clone(), identity));
                Some(verifier)
            })
            .flatten()
    }

    pub fn forget_request_token(&self, token: &str) {
        self.request_tokens.remove(token);
    }

    pub fn request_token(&self, token: &str) -> Option<VerifiedToken> {
        self.request_tokens.with(token, |grant| VerifiedToken {
            token: token.to_owned(),
            secret: grant.secret.clone(),
            consumer_key: grant.consumer_key.clone(),
            identity: None,
        })
    }

    /// Removes the request token (whatever the verifier) and returns who consented if the
    /// verifier is the one we issued.
    pub fn redeem_request_token(&self, token: &str, verifier: &str) -> Option<DemoIdentity> {
        let grant = self.request_tokens.take(token)?;
        let (expected, identity) = grant.authorized?;
        app::backend::secret::constant_time_eq(&expected, verifier).then_some(identity)
    }

    pub fn issue_access_token(
        &self,
        consumer_key: &str,
        identity: DemoIdentity,
    ) -> (String, String) {
        let (token, secret) = (random(40), random(40));
        let grant = AccessTokenGrant {
            consumer_key: consumer_key.to_owned(),
            secret: secret.clone(),
            identity,
        };
        self.access_tokens.insert(token.clone(), grant);
        (token, secret)
    }

    pub fn access_token(&self, token: &str) -> Option<VerifiedToken> {
        self.access_tokens.with(token, |grant| VerifiedToken {
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
