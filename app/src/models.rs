//! Plain data shared by the server and the browser (no ORM or HTTP types here).

use serde::{Deserialize, Serialize};

/// The signed-in user as the page and `GET /api/me` see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub nickname: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub identities: Vec<LinkedIdentity>,
}

impl CurrentUser {
    /// The first letter of the nickname, shown when there is no avatar picture.
    pub fn initial(&self) -> String {
        self.nickname
            .chars()
            .find(|c| c.is_alphanumeric())
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_else(|| "?".to_string())
    }

    /// Whether the name and email came from a provider where people type in whatever they
    /// like (the demo provider); shown wherever they are.
    pub fn is_self_asserted(&self) -> bool {
        self.identities
            .iter()
            .any(|identity| identity.self_asserted)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedIdentity {
    pub provider: String,
    pub social_id: String,
    /// Nothing about this identity was checked by anyone (the demo provider).
    pub self_asserted: bool,
}

/// One "Sign in with X" button.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOption {
    /// Path segment of `/authorize/{provider}`.
    pub provider: String,
    /// Human name on the button, e.g. "Facebook".
    pub label: String,
    /// False while the provider cannot be reached (an OpenID Connect issuer whose
    /// discovery just failed): the button says so, and still tries when pressed.
    pub available: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    Info,
    Error,
}

/// A one-off message shown above the page content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub title: String,
    pub detail: Option<String>,
}

/// What a provider sends back to `/callback/{provider}`: the parameters the sign-in reads.
/// Others are ignored (`error_description`, `error_reason`: a provider's free text, never
/// shown).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackParams {
    // OAuth 2
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// RFC 9207: the issuer that answered (OpenID Connect).
    pub iss: Option<String>,
    // OAuth 1.0a
    pub oauth_token: Option<String>,
    pub oauth_verifier: Option<String>,
    /// Twitter's "the person cancelled": `denied=<request token>`.
    pub denied: Option<String>,
}

// Hand-written: codes, states, tokens and verifiers are credentials and must not reach logs.
impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("error", &self.error)
            .field("iss", &self.iss)
            .field(
                "oauth_token",
                &self.oauth_token.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "oauth_verifier",
                &self.oauth_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("denied", &self.denied.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(nickname: &str) -> CurrentUser {
        CurrentUser {
            id: 1,
            nickname: nickname.into(),
            email: None,
            avatar_url: None,
            identities: vec![],
        }
    }

    #[test]
    fn initial_is_first_alphanumeric_uppercased() {
        assert_eq!(user("alice").initial(), "A");
        assert_eq!(user("  ée").initial(), "É");
        assert_eq!(user("@@").initial(), "?");
    }
}
