//! The account's security events, kept so that the person can see what happened to it.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use time::OffsetDateTime;

use super::entities::{account_events, prelude::*};
use super::statements::Statements;

/// How many events the account page shows.
pub const RECENT: u64 = 20;
/// Older events are swept (`delete_older_than`).
pub const KEPT_FOR: time::Duration = time::Duration::days(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignedIn,
    Linked,
    Unlinked,
    SessionSignedOut,
    OtherSessionsSignedOut,
    NicknameChanged,
    PrimaryEmailChanged,
    ApiTokenCreated,
    ApiTokenRevoked,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SignedIn => "signed_in",
            EventKind::Linked => "linked",
            EventKind::Unlinked => "unlinked",
            EventKind::SessionSignedOut => "session_signed_out",
            EventKind::OtherSessionsSignedOut => "other_sessions_signed_out",
            EventKind::NicknameChanged => "nickname_changed",
            EventKind::PrimaryEmailChanged => "primary_email_changed",
            EventKind::ApiTokenCreated => "api_token_created",
            EventKind::ApiTokenRevoked => "api_token_revoked",
        }
    }

    fn from_stored(text: &str) -> Option<Self> {
        [
            EventKind::SignedIn,
            EventKind::Linked,
            EventKind::Unlinked,
            EventKind::SessionSignedOut,
            EventKind::OtherSessionsSignedOut,
            EventKind::NicknameChanged,
            EventKind::PrimaryEmailChanged,
            EventKind::ApiTokenCreated,
            EventKind::ApiTokenRevoked,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// Whether the event's detail names a configured provider (rather than a token).
    pub fn names_a_provider(self) -> bool {
        matches!(
            self,
            EventKind::SignedIn | EventKind::Linked | EventKind::Unlinked
        )
    }

    /// The event in words; `detail` is the provider's label where the event has one, or
    /// the token's name.
    pub fn describe(self, detail: Option<&str>) -> String {
        let provider = detail.unwrap_or("a provider");
        let token = detail.unwrap_or("an API token");
        match self {
            EventKind::SignedIn => format!("Signed in with {provider}"),
            EventKind::Linked => format!("Linked {provider}"),
            EventKind::Unlinked => format!("Unlinked {provider}"),
            EventKind::SessionSignedOut => "Signed out a session".to_owned(),
            EventKind::OtherSessionsSignedOut => "Signed out everywhere else".to_owned(),
            EventKind::NicknameChanged => "Changed the nickname".to_owned(),
            EventKind::PrimaryEmailChanged => "Changed the primary email".to_owned(),
            EventKind::ApiTokenCreated => format!("Created the API token “{token}”"),
            EventKind::ApiTokenRevoked => format!("Revoked the API token “{token}”"),
        }
    }
}

/// Adds an event; `detail` is a configured provider name or a token's name, never
/// anything secret.
pub async fn record(
    on: &impl Statements,
    user_id: i32,
    kind: EventKind,
    detail: Option<&str>,
    network: Option<&str>,
) -> Result<(), DbErr> {
    let insert = AccountEvents::insert(account_events::ActiveModel {
        user_id: Set(user_id),
        kind: Set(kind.as_str().to_owned()),
        detail: Set(detail.map(str::to_owned)),
        network: Set(network.map(str::to_owned)),
        at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    })
    .into_query();
    on.execute(on.build(&insert)).await?;
    Ok(())
}

/// One event as read back.
pub struct Event {
    pub kind: EventKind,
    pub detail: Option<String>,
    pub network: Option<String>,
    pub at: OffsetDateTime,
}

/// The user's latest events, newest first.
pub async fn recent(conn: &impl ConnectionTrait, user_id: i32) -> Result<Vec<Event>, DbErr> {
    let rows = AccountEvents::find()
        .filter(account_events::Column::UserId.eq(user_id))
        .order_by_desc(account_events::Column::Id)
        .limit(RECENT)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Event {
                kind: EventKind::from_stored(&row.kind)?,
                detail: row.detail,
                network: row.network,
                at: row.at,
            })
        })
        .collect())
}

/// Forgets events older than [`KEPT_FOR`].
pub async fn delete_older_than_kept(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let cutoff = OffsetDateTime::now_utc() - KEPT_FOR;
    let deleted = AccountEvents::delete_many()
        .filter(account_events::Column::At.lt(cutoff))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}
