//! Signing in an identity: auto-registration on first sign-in, the verified-email rule,
//! and the current user's look-up.

use sea_orm::{
    sea_query::{Expr, Func},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use time::OffsetDateTime;

use super::account_events::{self, EventKind};
use super::entities::{identities, prelude::*, users};
pub use super::identities::ProviderTokens;
use super::identities::{find_by_key, identity_key, insert_identity, update_on_sign_in};
use super::Db;
use crate::backend::oauth::profile::Profile;
use crate::models::{CurrentUser, EmailStatus};

/// Who signed in, as the provider vouched for it, and what the sign-in replaces.
pub struct SignInAttempt<'a> {
    /// The configured provider (`/authorize/{provider}`).
    pub provider: &'a str,
    /// Who vouches for the identity: the OpenID Connect issuer, or the provider's site.
    pub issuer: &'a str,
    pub profile: &'a Profile,
    pub tokens: &'a ProviderTokens,
    /// The stored key of the session this sign-in replaces (its id is cycled): deleted in
    /// the same transaction, so a sign-in is one commit, not one per table.
    pub replaced_session: Option<&'a str>,
    /// Where the person is (IPv4 /24, IPv6 /48), for the account's activity.
    pub network: Option<&'a str>,
    /// `LINK_BY_VERIFIED_EMAIL=on`: a new identity whose verified address is a verified
    /// address of an existing account joins that account instead of being refused.
    pub link_by_verified_email: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    SignedIn {
        user_id: i32,
    },
    /// A new identity whose verified address another account has verified too: nothing
    /// was written. `last_provider` is the provider that account signed in with last.
    AddressTaken {
        last_provider: String,
    },
}

/// Finds the user behind this identity (by issuer and subject), registering them on first
/// sign-in, and records the identity's profile and the sign-in.
///
/// Everything is one write transaction: a failure leaves no half-created user and the old
/// session in place. Two first sign-ins of one identity at once still end in one user:
/// - SQLite: writes go through one connection per process, and the transaction takes the
///   write lock before reading (`BEGIN IMMEDIATE`, which also holds between processes), so
///   the second waits for the first and then finds its identity;
/// - PostgreSQL: both may read "no identity"; the second insert hits the unique key,
///   rolls back, and the retry finds the winner's user.
pub async fn sign_in_identity(
    db: &Db,
    attempt: &SignInAttempt<'_>,
) -> Result<SignInOutcome, DbErr> {
    sign_in_identity_pausing(db, attempt, || async {}).await
}

/// [`sign_in_identity`], awaiting `after_read` inside a first sign-in's transaction between
/// looking the identity up and writing (first attempt only), so that tests can interleave
/// two sign-ins deterministically.
#[doc(hidden)]
pub async fn sign_in_identity_pausing<F, Fut>(
    db: &Db,
    attempt: &SignInAttempt<'_>,
    after_read: F,
) -> Result<SignInOutcome, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let key = identity_key(attempt.issuer, &attempt.profile.provider_user_id);
    if let Some((identity, user)) = find_with_user(&db.read, &key).await? {
        // The common case: looked up on the readers, so the writer's transaction holds
        // only the writes.
        let txn = super::write_transaction(&db.write).await?;
        record_returning_sign_in(&txn, &identity, user.as_ref(), attempt).await?;
        txn.commit().await?;
        return Ok(SignInOutcome::SignedIn {
            user_id: identity.user_id,
        });
    }
    let mut pause = Some(after_read);
    let key = &key;
    super::retrying_unique_violations(2, || {
        try_first_sign_in(&db.write, key, attempt, pause.take())
    })
    .await
}

/// The identity and its user, looked up together (one query).
async fn find_with_user(
    conn: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<(identities::Model, Option<users::Model>)>, DbErr> {
    // `all`, not `one`: see `at_most_one`; the key is unique.
    let rows = Identities::find()
        .filter(identities::Column::SocialId.eq(key))
        .find_also_related(Users)
        .all(conn)
        .await?;
    Ok(super::at_most_one(rows))
}

/// The identity's fresh profile, tokens and time of use, a primary address or picture for
/// a user who has none, the event, and the replaced session gone. The user's row is
/// written only for that: each statement is a round trip to SQLite's one writer, which
/// every sign-in waits for (the last sign-in is the identities' `last_used_at`). `user` is
/// the row as read before the transaction; `None` when not read (the address and picture
/// then fill in only where missing, in the database).
async fn record_returning_sign_in(
    conn: &impl ConnectionTrait,
    identity: &identities::Model,
    user: Option<&users::Model>,
    attempt: &SignInAttempt<'_>,
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    update_on_sign_in(
        conn,
        identity,
        attempt.provider,
        attempt.profile,
        attempt.tokens,
        now,
    )
    .await?;
    let lacks =
        |field: fn(&users::Model) -> &Option<String>| user.is_none_or(|u| field(u).is_none());
    let email = verified_email(attempt.profile).filter(|_| lacks(|u| &u.email));
    let avatar_url = attempt
        .profile
        .avatar_url
        .clone()
        .filter(|_| lacks(|u| &u.avatar_url));
    if email.is_some() || avatar_url.is_some() {
        let mut update = Users::update_many().filter(users::Column::Id.eq(identity.user_id));
        // Only fills what is missing: the person's choice is theirs to change.
        for (column, value) in [
            (users::Column::Email, email),
            (users::Column::AvatarUrl, avatar_url),
        ] {
            if let Some(value) = value {
                let kept_or_new = Func::coalesce([Expr::col(column).into(), Expr::value(value)]);
                update = update.col_expr(column, kept_or_new.into());
            }
        }
        update.exec(conn).await?;
    }
    account_events::record(
        conn,
        identity.user_id,
        EventKind::SignedIn,
        Some(attempt.provider),
        attempt.network,
    )
    .await?;
    delete_session(conn, attempt.replaced_session).await
}

async fn try_first_sign_in<F, Fut>(
    write: &DatabaseConnection,
    key: &str,
    attempt: &SignInAttempt<'_>,
    after_read: Option<F>,
) -> Result<SignInOutcome, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let now = OffsetDateTime::now_utc();
    let txn = super::write_transaction(write).await?;
    let existing = find_by_key(&txn, key).await?;
    if let Some(after_read) = after_read {
        after_read().await;
    }
    if let Some(identity) = existing {
        // Someone else's first sign-in of this identity won meanwhile.
        record_returning_sign_in(&txn, &identity, None, attempt).await?;
        txn.commit().await?;
        return Ok(SignInOutcome::SignedIn {
            user_id: identity.user_id,
        });
    }
    // A verified address another account has verified: that account's, if the operator
    // trusts such matches; otherwise nothing is written (the transaction rolls back when
    // dropped) and the person is told.
    let mut joins = None;
    if let Some(email) = verified_email(attempt.profile) {
        if let Some(owner) = verified_address_owner(&txn, &email).await? {
            if !attempt.link_by_verified_email {
                let last_provider = last_used_provider(&txn, owner).await?;
                return Ok(SignInOutcome::AddressTaken { last_provider });
            }
            joins = Some(owner);
        }
    }
    let profile = attempt.profile;
    let user_id = match joins {
        Some(owner) => owner,
        None => {
            Users::insert(users::ActiveModel {
                nickname: Set(profile.nickname.clone()),
                email: Set(verified_email(profile)),
                avatar_url: Set(profile.avatar_url.clone()),
                created_at: Set(now),
                last_login_at: Set(now),
                ..Default::default()
            })
            .exec(&txn)
            .await?
            .last_insert_id
        }
    };
    insert_identity(
        &txn,
        user_id,
        key,
        attempt.issuer,
        attempt.provider,
        profile,
        attempt.tokens,
        now,
    )
    .await?;
    let events: &[EventKind] = if joins.is_some() {
        &[EventKind::Linked, EventKind::SignedIn]
    } else {
        &[EventKind::SignedIn]
    };
    for kind in events {
        account_events::record(
            &txn,
            user_id,
            *kind,
            Some(attempt.provider),
            attempt.network,
        )
        .await?;
    }
    delete_session(&txn, attempt.replaced_session).await?;
    txn.commit().await?;
    Ok(SignInOutcome::SignedIn { user_id })
}

/// The address, when its provider verified it: the only kind that takes part in matching.
fn verified_email(profile: &Profile) -> Option<String> {
    match profile.email_status {
        EmailStatus::Verified => profile
            .email
            .as_deref()
            .map(super::identities::normalized_email),
        EmailStatus::Unverified | EmailStatus::SelfAsserted => None,
    }
}

/// The user one of whose identities has this verified address.
async fn verified_address_owner(
    conn: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<i32>, DbErr> {
    let rows = Identities::find()
        .filter(identities::Column::Email.eq(email))
        .filter(identities::Column::EmailStatus.eq(EmailStatus::Verified.as_str()))
        .order_by_asc(identities::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.first().map(|identity| identity.user_id))
}

/// The configured name of the provider this user signed in with last.
async fn last_used_provider(conn: &impl ConnectionTrait, user_id: i32) -> Result<String, DbErr> {
    let rows = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .max_by_key(|identity| identity.last_used_at.unwrap_or(identity.created_at))
        .map(|identity| identity.provider)
        .unwrap_or_default())
}

async fn delete_session(
    conn: &impl ConnectionTrait,
    stored_key: Option<&str>,
) -> Result<(), DbErr> {
    if let Some(stored_key) = stored_key {
        Sessions::delete_by_id(stored_key).exec(conn).await?;
    }
    Ok(())
}

/// The user with their identities, or `None` when the id no longer exists. One query (a
/// join). Signed-in requests usually have it already, read with their session (see
/// `session_store`): this is for the rest. `label` names a configured provider as people
/// know it.
pub async fn find_current_user(
    db: &DatabaseConnection,
    user_id: i32,
    label: impl Fn(&str) -> Option<String>,
) -> Result<Option<CurrentUser>, DbErr> {
    let rows = Users::find_by_id(user_id)
        .find_with_related(Identities)
        .order_by_asc(identities::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|(user, identities)| current_user_of(user, identities, label)))
}

/// The user and their identities (in the order they were linked) as pages show them.
pub fn current_user_of(
    user: users::Model,
    identities: Vec<identities::Model>,
    label: impl Fn(&str) -> Option<String>,
) -> CurrentUser {
    let identities = identities
        .into_iter()
        .map(|identity| super::identities::linked_identity(identity, &label))
        .collect();
    CurrentUser {
        id: user.id.into(),
        nickname: user.nickname,
        email: user.email,
        avatar_url: user.avatar_url,
        identities,
    }
}
