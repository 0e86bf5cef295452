//! Plain data shared by the server and the browser (no ORM or HTTP types here).

use serde::{Deserialize, Serialize};

/// The signed-in user as the page and `GET /api/me` see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub nickname: String,
    /// The primary address: one a provider verified, or none.
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
            .any(|identity| identity.email_status == EmailStatus::SelfAsserted)
    }
}

/// What a provider said about an email address it gave us. Only verified addresses ever
/// take part in matching one person's sign-ins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// The provider checked that the person controls it (OpenID Connect `email_verified`,
    /// GitHub's verified primary address).
    Verified,
    /// Given but not vouched for (Facebook's and GitHub's public addresses, anything
    /// unmarked).
    Unverified,
    /// Typed in by the person with nothing checked (the demo provider).
    SelfAsserted,
}

impl EmailStatus {
    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Verified => "verified",
            EmailStatus::Unverified => "unverified",
            EmailStatus::SelfAsserted => "self_asserted",
        }
    }

    /// Anything unknown reads as unverified: it never matches.
    pub fn from_stored(text: &str) -> Self {
        match text {
            "verified" => EmailStatus::Verified,
            "self_asserted" => EmailStatus::SelfAsserted,
            _ => EmailStatus::Unverified,
        }
    }
}

/// One sign-in method of the user: an identity at a provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedIdentity {
    /// Its id among the user's identities (what the unlink form names).
    pub id: i64,
    /// The configured provider it signs in with (`/authorize/{provider}`).
    pub provider: String,
    /// The provider as people know it ("GitHub"); the configured name when the provider is
    /// no longer configured.
    pub label: String,
    /// Who vouches for it: the OpenID Connect issuer, or the provider's site.
    pub issuer: String,
    /// The provider's id for the person.
    pub subject: String,
    /// The name it has there.
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_status: EmailStatus,
    pub avatar_url: Option<String>,
    /// Unix seconds.
    pub linked_at: i64,
    /// Unix seconds; `None` when never used since accounts kept it.
    pub last_used_at: Option<i64>,
}

impl LinkedIdentity {
    /// "GitHub · octocat": the method as people know it.
    pub fn describe(&self) -> String {
        match self.name.as_deref().or(self.email.as_deref()) {
            Some(name) => format!("{} · {}", self.label, name),
            None => self.label.clone(),
        }
    }
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

/// "2026-12-06": a unix time's date (UTC), computed the same on the server and in the
/// browser (Howard Hinnant's days-to-civil algorithm; no date library in the bundle).
pub fn format_unix_date(at: i64) -> String {
    let days = at.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Everything the account page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub user: CurrentUser,
    /// Configured providers not linked yet: a "Link" button each.
    pub linkable: Vec<SignInOption>,
    /// The addresses providers verified, among which the person picks the primary one.
    pub verified_emails: Vec<String>,
    pub sessions: Vec<SessionView>,
    pub events: Vec<EventView>,
    /// Signed in within the last ten minutes: the account may be deleted without signing
    /// in again.
    pub signed_in_recently: bool,
    pub api_tokens: Vec<ApiTokenView>,
    /// A token created by the action that led here, shown this once.
    pub new_api_token: Option<NewApiToken>,
    /// The sign-in methods whose provider tokens are kept, by identity id.
    pub kept_tokens: Vec<KeptTokensView>,
}

/// A sign-in method whose provider tokens are kept: "Refresh from <Provider>", or when the
/// provider refused them, "Reconnect <Provider>".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptTokensView {
    pub identity_id: i64,
    pub needs_reconnection: bool,
}

/// One personal API token as the account page lists it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    /// "sspat_AbCd…": enough to tell tokens apart.
    pub hint: String,
    pub created: String,
    pub last_used: String,
    /// "never" when it does not expire.
    pub expires: String,
    pub expired: bool,
}

/// A token just created: the only time it is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub name: String,
    pub token: String,
}

impl std::fmt::Debug for NewApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiToken")
            .field("name", &self.name)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// How long a new API token lives, as the account page offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenLifetime {
    Days(u16),
    Forever,
}

impl TokenLifetime {
    /// The choices, as (form value, label); the first is preselected.
    pub const CHOICES: [(&'static str, &'static str); 4] = [
        ("30", "30 days"),
        ("90", "90 days"),
        ("365", "1 year"),
        ("never", "No expiry"),
    ];

    pub fn from_form(value: &str) -> Option<Self> {
        match value {
            "never" => Some(TokenLifetime::Forever),
            "30" | "90" | "365" => value.parse().ok().map(TokenLifetime::Days),
            _ => None,
        }
    }
}

/// One place the user is signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// What the "Sign out" form names: the session's stored key, a hash that signs nobody
    /// in.
    pub handle: String,
    /// "Chrome 120 on Linux", from the User-Agent.
    pub device: String,
    pub network: Option<String>,
    pub signed_in: String,
    pub last_active: String,
    pub this_device: bool,
}

/// One event of the account's recent activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub at: String,
    pub text: String,
    pub network: Option<String>,
}

/// Where a signed-out visitor of the account pages is sent: the start page, coming back to
/// the account page once signed in.
pub const SIGN_IN_AND_BACK: &str = "/?next=/account";

/// What an account action did, carried to the account page in its URL
/// (`/account?notice=unlinked&provider=github`) so that it shows the same with JavaScript
/// on or off; a fixed set, never text from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    Linked,
    AlreadyLinked,
    Unlinked,
    LastMethod,
    SessionEnded,
    OtherSessionsEnded,
    NicknameSaved,
    NicknameInvalid,
    PrimaryEmailSaved,
    SignInAgain,
    NotFound,
    Unavailable,
    ProviderFailed,
    ApiTokenCreated,
    ApiTokenRevoked,
    ApiTokenInvalid,
    ApiTokenLimit,
    ApiTokenRate,
    ProfileRefreshed,
    NeedsReconnection,
}

const NOTICES: [(Notice, &str); 20] = [
    (Notice::Linked, "linked"),
    (Notice::AlreadyLinked, "already-linked"),
    (Notice::Unlinked, "unlinked"),
    (Notice::LastMethod, "last-method"),
    (Notice::SessionEnded, "session-ended"),
    (Notice::OtherSessionsEnded, "others-ended"),
    (Notice::NicknameSaved, "nickname-saved"),
    (Notice::NicknameInvalid, "nickname-invalid"),
    (Notice::PrimaryEmailSaved, "primary-email-saved"),
    (Notice::SignInAgain, "sign-in-again"),
    (Notice::NotFound, "not-found"),
    (Notice::Unavailable, "unavailable"),
    (Notice::ProviderFailed, "provider-failed"),
    (Notice::ApiTokenCreated, "api-token-created"),
    (Notice::ApiTokenRevoked, "api-token-revoked"),
    (Notice::ApiTokenInvalid, "api-token-invalid"),
    (Notice::ApiTokenLimit, "api-token-limit"),
    (Notice::ApiTokenRate, "api-token-rate"),
    (Notice::ProfileRefreshed, "profile-refreshed"),
    (Notice::NeedsReconnection, "needs-reconnection"),
];

impl Notice {
    pub fn code(self) -> &'static str {
        NOTICES
            .iter()
            .find(|(notice, _)| *notice == self)
            .map(|(_, code)| *code)
            .unwrap_or("not-found")
    }

    pub fn from_code(code: &str) -> Option<Self> {
        NOTICES
            .iter()
            .find(|(_, known)| *known == code)
            .map(|(notice, _)| *notice)
    }

    /// The account page showing this notice (about `provider`, a configured name).
    pub fn url(self, provider: Option<&str>) -> String {
        match provider {
            Some(provider) => format!("/account?notice={}&provider={provider}", self.code()),
            None => format!("/account?notice={}", self.code()),
        }
    }

    /// The message; `provider` is the provider's label.
    pub fn flash(self, provider: Option<&str>) -> Flash {
        let provider = provider.unwrap_or("The provider");
        let (kind, title) = match self {
            Notice::Linked => (FlashKind::Info, format!("{provider} is linked: you can sign in with it too.")),
            Notice::AlreadyLinked => (FlashKind::Info, format!("{provider} was already linked to your account.")),
            Notice::Unlinked => (FlashKind::Info, format!("{provider} is unlinked.")),
            Notice::LastMethod => (
                FlashKind::Error,
                "That is your only way to sign in, so it stays linked. Link another provider first.".into(),
            ),
            Notice::SessionEnded => (FlashKind::Info, "That session is signed out.".into()),
            Notice::OtherSessionsEnded => (FlashKind::Info, "You are signed out everywhere else.".into()),
            Notice::NicknameSaved => (FlashKind::Info, "Your nickname is saved.".into()),
            Notice::PrimaryEmailSaved => (FlashKind::Info, "Your primary email is saved.".into()),
            Notice::NicknameInvalid => (
                FlashKind::Error,
                "A nickname is 1 to 64 characters, without control or direction-changing characters.".into(),
            ),
            Notice::SignInAgain => (
                FlashKind::Error,
                "To delete your account, sign in again first (it has been more than ten minutes).".into(),
            ),
            Notice::NotFound => (FlashKind::Error, "That was not found; nothing was changed.".into()),
            Notice::Unavailable => (
                FlashKind::Error,
                "The service is temporarily unavailable; nothing was changed. Please try again in a moment.".into(),
            ),
            Notice::ProviderFailed => (
                FlashKind::Error,
                "The provider could not be reached; nothing was changed. Please try again later.".into(),
            ),
            Notice::ApiTokenCreated => (
                FlashKind::Info,
                "Your API token is made. Copy it now: it is shown only this once.".into(),
            ),
            Notice::ApiTokenRevoked => (FlashKind::Info, "The API token is revoked: it no longer works.".into()),
            Notice::ApiTokenInvalid => (
                FlashKind::Error,
                "A token needs a name of 1 to 64 characters and one of the offered lifetimes.".into(),
            ),
            Notice::ApiTokenLimit => (
                FlashKind::Error,
                "You have 25 API tokens, the most an account may hold. Revoke one first.".into(),
            ),
            Notice::ApiTokenRate => (
                FlashKind::Error,
                "You have made 10 API tokens in the last hour. Please wait before making another.".into(),
            ),
            Notice::ProfileRefreshed => (
                FlashKind::Info,
                format!("Your name and picture from {provider} are up to date."),
            ),
            Notice::NeedsReconnection => (
                FlashKind::Error,
                format!("{provider} no longer accepts this site's access. Reconnect it to keep using it."),
            ),
        };
        Flash {
            kind,
            title,
            detail: None,
        }
    }
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
    /// Sign in with Apple's first answer: the person's name, as JSON, unsigned.
    pub user: Option<String>,
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
            .field("user", &self.user.as_ref().map(|_| "[personal]"))
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
    fn dates_are_the_utc_calendar_day() {
        assert_eq!(format_unix_date(0), "1970-01-01");
        // date -u -d @1796560000 +%F
        assert_eq!(format_unix_date(1_796_560_000), "2026-12-06");
        assert_eq!(format_unix_date(951_782_400), "2000-02-29");
        assert_eq!(format_unix_date(-1), "1969-12-31");
    }

    #[test]
    fn email_status_round_trips_through_its_stored_text() {
        for status in [
            EmailStatus::Verified,
            EmailStatus::Unverified,
            EmailStatus::SelfAsserted,
        ] {
            assert_eq!(EmailStatus::from_stored(status.as_str()), status);
        }
        assert_eq!(EmailStatus::from_stored("yes"), EmailStatus::Unverified);
    }

    #[test]
    fn initial_is_first_alphanumeric_uppercased() {
        assert_eq!(user("alice").initial(), "A");
        assert_eq!(user("  ée").initial(), "É");
        assert_eq!(user("@@").initial(), "?");
    }
}
