//! A sign-in in progress (state or request token, PKCE verifier, nonce, where to go next),
//! kept in the browser as a short-lived encrypted cookie instead of a database row, as
//! Auth.js does: starting a sign-in writes nothing to the database, so a flood of starts
//! from many addresses costs no writes and no rows that others need. The single-use claim
//! at the callback stays in the database (`sign_in_claims`).
//!
//! The cookie is sealed (`sealed_cookie`); it carries its own start time and expires with
//! the sign-in (ten minutes).

use cookie::SameSite;
use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::oauth::protocol::PendingProof;
use super::sealed_cookie::SealedCookie;
use super::secret::Secret;

/// How long the provider round trip may take.
pub const PENDING_TTL_SECS: i64 = 600;

/// What a sign-in keeps between its start and the provider's answer.
#[derive(Serialize, Deserialize)]
pub struct PendingSignIn {
    pub provider: String,
    pub proof: PendingProof,
    pub remember: bool,
    pub next: String,
    pub started_at: i64,
    /// Absent in cookies sealed before linking existed: a sign-in.
    #[serde(default)]
    pub intent: Intent,
}

/// What the provider's answer is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Intent {
    /// Sign in (or register) with the identity.
    #[default]
    SignIn,
    /// Add the identity to this user's sign-in methods: started by a same-origin POST from
    /// the account page, and finished only while the browser is still signed in as them.
    Link { user_id: i32 },
}

impl PendingSignIn {
    /// After this (unix seconds) the sign-in is refused as too slow.
    pub fn deadline(&self) -> i64 {
        self.started_at + PENDING_TTL_SECS
    }

    /// The claim is kept past the deadline, with a minute's margin for the clocks of
    /// several instances, so that it is never forgotten while the sign-in could still run.
    pub fn claim_expiry(&self) -> i64 {
        self.deadline() + 60
    }

    pub fn is_too_old(&self) -> bool {
        OffsetDateTime::now_utc().unix_timestamp() > self.deadline()
    }
}

/// Seals and opens the pending sign-in's cookie.
#[derive(Debug)]
pub struct PendingCookie(SealedCookie);

impl PendingCookie {
    pub fn new(secret_key: &Secret, https: bool) -> Self {
        // Lax: the provider's redirect back is a cross-site top-level GET, which Lax sends.
        Self(SealedCookie::new(
            secret_key,
            https,
            "signin",
            SameSite::Lax,
        ))
    }

    /// The `Set-Cookie` value that keeps `pending` in the browser until its deadline.
    pub fn seal(&self, pending: &PendingSignIn) -> HeaderValue {
        let json = serde_json::to_string(pending).expect("a pending sign-in always serializes");
        self.0.seal(json, PENDING_TTL_SECS)
    }

    /// The `Set-Cookie` value that removes the cookie (the sign-in is used up).
    pub fn removal(&self) -> HeaderValue {
        self.0.removal()
    }

    /// The pending sign-in the request's cookie holds, if it carries one sealed with our
    /// key; a forged, altered, foreign or unreadable one counts as none.
    pub fn open(&self, headers: &HeaderMap) -> Option<PendingSignIn> {
        serde_json::from_str(&self.0.open(headers)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::oauth::oauth2_flow;
    use cookie::Cookie;
    use http::header;

    fn pending() -> PendingSignIn {
        PendingSignIn {
            provider: "demo".into(),
            proof: PendingProof::OAuth2(oauth2_flow::Pending {
                csrf_state: "the-state".into(),
                pkce_verifier: "the-verifier".into(),
            }),
            remember: true,
            next: "/somewhere".into(),
            started_at: 1_700_000_000,
            intent: Intent::Link { user_id: 7 },
        }
    }

    fn key(text: &str) -> Secret {
        Secret::new(text.repeat(32))
    }

    /// The request a browser sends back with the cookie that `set_cookie` set.
    fn request_with(set_cookie: &HeaderValue) -> HeaderMap {
        let cookie = Cookie::parse(set_cookie.to_str().unwrap()).unwrap();
        let mut headers = HeaderMap::new();
        let pair = format!("other=1; {}={}", cookie.name(), cookie.value());
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_sealed_sign_in_opens_with_the_same_key_only() {
        let cookies = PendingCookie::new(&key("a"), true);
        let set_cookie = cookies.seal(&pending());
        let text = set_cookie.to_str().unwrap();
        assert!(text.starts_with("__Host-signin="), "{text}");
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(text.contains(attribute), "{attribute} in {text}");
        }
        assert!(!text.contains("the-verifier") && !text.contains("the-state"));

        let opened = cookies.open(&request_with(&set_cookie)).unwrap();
        assert_eq!(opened.proof.binding(), "the-state");
        assert_eq!(opened.next, "/somewhere");
        assert!(opened.remember);
        assert_eq!(opened.intent, Intent::Link { user_id: 7 });

        // Another instance with the same SECRET_KEY opens it; another key does not.
        assert!(PendingCookie::new(&key("a"), true)
            .open(&request_with(&set_cookie))
            .is_some());
        assert!(PendingCookie::new(&key("b"), true)
            .open(&request_with(&set_cookie))
            .is_none());
    }

    #[test]
    fn an_altered_or_renamed_cookie_opens_as_nothing() {
        let cookies = PendingCookie::new(&key("a"), false);
        let set_cookie = cookies.seal(&pending());
        let sealed = Cookie::parse(set_cookie.to_str().unwrap()).unwrap();
        let mut value = sealed.value().to_owned().into_bytes();
        let middle = value.len() / 2;
        value[middle] = if value[middle] == b'A' { b'B' } else { b'A' };
        let altered = format!("signin={}", String::from_utf8(value).unwrap());
        let renamed = format!("__Host-signin={}", sealed.value());
        for cookie in [altered, renamed, "signin=plain-json".into()] {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
            assert!(cookies.open(&headers).is_none(), "{cookie}");
        }
        assert!(cookies.open(&HeaderMap::new()).is_none());
    }

    #[test]
    fn the_removal_expires_the_cookie_at_once() {
        let removal = PendingCookie::new(&key("a"), false).removal();
        let text = removal.to_str().unwrap();
        assert!(text.starts_with("signin=;"), "{text}");
        assert!(text.contains("Max-Age=0"), "{text}");
    }
}
