//! The demo provider's in-memory bookkeeping: authorization codes (single use, short-lived)
//! and access tokens.

use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};

use super::bounded_store::BoundedStore;

const CODE_LIFETIME: Duration = Duration::from_secs(300);
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Per kind of grant. With every field capped (a name of 100 characters, an email of 254,
/// a redirect URI of 512 bytes), a full store of codes holds about 4 MiB.
pub const MAX_LIVE_GRANTS: usize = 4096;

/// Who consented: what the consent page's form said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoIdentity {
    pub name: String,
    pub email: Option<String>,
}

impl DemoIdentity {
    /// Stable per name, so the same name signs in to the same account: `alice-smith`.
    pub fn subject(&self) -> String {
        let slug: String = self
            .name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        slug.split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// A Facebook-looking numeric id derived from the subject (FNV-1a, 64 bits).
    #[cfg(feature = "stand-in-providers")]
    pub fn numeric_id(&self) -> String {
        let hash = self.subject().bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
        (hash % 10u64.pow(16) + 10u64.pow(16)).to_string()
    }
}

#[derive(Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub identity: DemoIdentity,
    /// An OpenID Connect request (`scope` has `openid`): the token answer has an ID token.
    pub openid: bool,
    /// OpenID Connect: returned in the ID token.
    pub nonce: Option<String>,
}

pub struct Grants {
    codes: BoundedStore<CodeGrant>,
    tokens: BoundedStore<DemoIdentity>,
}

impl Default for Grants {
    fn default() -> Self {
        Self {
            codes: BoundedStore::new(MAX_LIVE_GRANTS, CODE_LIFETIME),
            tokens: BoundedStore::new(MAX_LIVE_GRANTS, TOKEN_LIFETIME),
        }
    }
}

fn random_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

impl Grants {
    pub fn issue_code(&self, grant: CodeGrant) -> String {
        let code = random_token();
        self.codes.insert(code.clone(), grant);
        code
    }

    /// Removes the code whatever happens next: a code is good for one exchange attempt.
    pub fn redeem_code(&self, code: &str) -> Option<CodeGrant> {
        self.codes.take(code)
    }

    pub fn issue_token(&self, identity: DemoIdentity) -> String {
        let token = random_token();
        self.tokens.insert(token.clone(), identity);
        token
    }

    pub fn identity_for_token(&self, token: &str) -> Option<DemoIdentity> {
        self.tokens.with(token, |identity| identity.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> DemoIdentity {
        DemoIdentity {
            name: "Alice  Smith!".into(),
            email: None,
        }
    }

    #[test]
    fn subject_is_a_stable_slug_and_numeric_id_is_stable() {
        assert_eq!(alice().subject(), "alice-smith");
        #[cfg(feature = "stand-in-providers")]
        {
            assert_eq!(alice().numeric_id(), alice().numeric_id());
            assert_eq!(alice().numeric_id().len(), 17);
        }
    }

    #[test]
    fn codes_are_single_use() {
        let grants = Grants::default();
        let code = grants.issue_code(CodeGrant {
            client_id: "c".into(),
            redirect_uri: "http://x/callback/demo".into(),
            code_challenge: "ch".into(),
            identity: alice(),
            openid: false,
            nonce: None,
        });
        assert!(grants.redeem_code(&code).is_some());
        assert!(grants.redeem_code(&code).is_none());
        assert!(grants.redeem_code("made-up").is_none());
    }
}
