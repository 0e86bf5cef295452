//! Signing in an identity: auto-registration on first sign-in, the verified-email rule,
//! and the current user's look-up.

use sea_orm::{
    sea_query::{Expr, Func},
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QueryTrait, Set,
};
use time::OffsetDateTime;

use super::account_events::{self, EventKind};
use super::entities::{identities, prelude::*, sessions, users};
pub use super::identities::ProviderTokens;
use super::identities::{identity_key, insert_identity, update_on_sign_in};
use super::sqlite_writer::WriteUnit;
use super::statements::Statements;
use super::Db;
use crate::backend::oauth::profile::Profile;
use crate::backend::provider_tokens::keys::TokenKeys;
use crate::models::{CurrentUser, EmailStatus};

/// Who signed in, as the provider vouched for it, and what the sign-in replaces.
pub struct SignInAttempt<'a> {
    /// The configured provider (`/authorize/{provider}`).
    pub provider: &'a str,
    /// Who vouches for the identity: the OpenID Connect issuer, or the provider's site.
    pub issuer: &'a str,
    pub profile: &'a Profile,
    pub tokens: &'a ProviderTokens,
    /// What seals `tokens` (when the provider keeps any).
    pub token_keys: &'a TokenKeys,
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
/// Everything is one write transaction, which starts by updating the identity's row (and
/// so finds it, without a read before). On a SQLite file it runs on the writer's thread
/// (`sqlite_writer`): one hand-off for the whole transaction. A failure leaves no
/// half-created user and the old session in place. Two first sign-ins of one identity at
/// once still end in one user:
/// - SQLite: the transaction takes the write lock before its first statement (`BEGIN
///   IMMEDIATE`, which holds between connections and processes alike), so the second waits
///   for the first and then finds its identity;
/// - PostgreSQL: both may find no identity; the second insert hits the unique key, rolls
///   back, and the retry finds the winner's user.
pub async fn sign_in_identity(
    db: &Db,
    attempt: &SignInAttempt<'_>,
) -> Result<SignInOutcome, DbErr> {
    let unit = SignIn {
        key: identity_key(attempt.issuer, &attempt.profile.provider_user_id),
        attempt: OwnedAttempt::of(attempt),
    };
    super::retrying_unique_violations(2, || db.write_unit(unit.clone())).await
}

/// [`sign_in_identity`] on the async writing connection, awaiting `after_read` inside a
/// first sign-in's transaction between finding no identity and writing (first attempt
/// only), so that tests can interleave two sign-ins deterministically.
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
    let mut pause = Some(after_read);
    let key = &key;
    super::retrying_unique_violations(2, || {
        let after_read = pause.take();
        async move {
            let transaction = super::write_transaction(&db.write).await?;
            let outcome = sign_in_steps(&transaction, key, attempt, after_read).await?;
            transaction.commit().await?;
            Ok(outcome)
        }
    })
    .await
}

/// A sign-in as a unit of writes: what it needs, owned, so that it can cross to the
/// SQLite writer's thread.
#[derive(Clone)]
struct SignIn {
    key: String,
    attempt: OwnedAttempt,
}

impl WriteUnit for SignIn {
    type Output = SignInOutcome;
    const TRANSACTION: bool = true;

    async fn run(self, on: &impl Statements) -> Result<SignInOutcome, DbErr> {
        let no_pause: Option<fn() -> std::future::Ready<()>> = None;
        sign_in_steps(on, &self.key, &self.attempt.borrowed(), no_pause).await
    }
}

/// A [`SignInAttempt`] that owns what it refers to.
#[derive(Clone)]
struct OwnedAttempt {
    provider: String,
    issuer: String,
    profile: Profile,
    tokens: ProviderTokens,
    token_keys: TokenKeys,
    replaced_session: Option<String>,
    network: Option<String>,
    link_by_verified_email: bool,
}

impl OwnedAttempt {
    fn of(attempt: &SignInAttempt<'_>) -> Self {
        Self {
            provider: attempt.provider.to_owned(),
            issuer: attempt.issuer.to_owned(),
            profile: attempt.profile.clone(),
            tokens: attempt.tokens.clone(),
            token_keys: attempt.token_keys.clone(),
            replaced_session: attempt.replaced_session.map(str::to_owned),
            network: attempt.network.map(str::to_owned),
            link_by_verified_email: attempt.link_by_verified_email,
        }
    }

    fn borrowed(&self) -> SignInAttempt<'_> {
        SignInAttempt {
            provider: &self.provider,
            issuer: &self.issuer,
            profile: &self.profile,
            tokens: &self.tokens,
            token_keys: &self.token_keys,
            replaced_session: self.replaced_session.as_deref(),
            network: self.network.as_deref(),
            link_by_verified_email: self.link_by_verified_email,
        }
    }
}

/// A returning identity's sign-in, inside the caller's transaction, once its row is
/// updated: a primary address or picture for a user who has none, the event, and the
/// replaced session gone. The user's row is written only when the provider offers what it
/// may lack (only filled where missing, in the database: the person's choice is theirs to
/// change).
async fn record_returning_sign_in(
    on: &impl Statements,
    user_id: i32,
    attempt: &SignInAttempt<'_>,
) -> Result<(), DbErr> {
    let fills = [
        (users::Column::Email, verified_email(attempt.profile)),
        (users::Column::AvatarUrl, attempt.profile.avatar_url.clone()),
    ];
    if fills.iter().any(|(_, value)| value.is_some()) {
        let mut update = Users::update_many().filter(users::Column::Id.eq(user_id));
        // Only a row that lacks one of them is written at all.
        let mut lacking = Condition::any();
        for (column, value) in fills {
            if let Some(value) = value {
                let kept_or_new = Func::coalesce([Expr::col(column), Expr::value(value)]);
                update = update.col_expr(column, kept_or_new.into());
                lacking = lacking.add(column.is_null());
            }
        }
        on.execute(on.build(&update.filter(lacking).into_query()))
            .await?;
    }
    account_events::record(
        on,
        user_id,
        EventKind::SignedIn,
        Some(attempt.provider),
        attempt.network,
    )
    .await?;
    delete_session(on, attempt.replaced_session).await
}

/// The sign-in's statements, inside the caller's write transaction. A verified address
/// another account has verified ends it before anything is written.
async fn sign_in_steps<F, Fut>(
    on: &impl Statements,
    key: &str,
    attempt: &SignInAttempt<'_>,
    after_read: Option<F>,
) -> Result<SignInOutcome, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let now = OffsetDateTime::now_utc();
    let returning = update_on_sign_in(on, key, attempt.provider, attempt.profile, now).await?;
    if let Some(identity) = returning {
        super::provider_tokens::keep(on, attempt.token_keys, identity.id, attempt.tokens).await?;
        record_returning_sign_in(on, identity.user_id, attempt).await?;
        return Ok(SignInOutcome::SignedIn {
            user_id: identity.user_id,
        });
    }
    if let Some(after_read) = after_read {
        after_read().await;
    }
    // A verified address another account has verified: that account's, if the operator
    // trusts such matches; otherwise nothing is written and the person is told.
    let mut joins = None;
    if let Some(email) = verified_email(attempt.profile) {
        if let Some(owner) = verified_address_owner(on, &email).await? {
            if !attempt.link_by_verified_email {
                let last_provider = last_used_provider(on, owner).await?;
                return Ok(SignInOutcome::AddressTaken { last_provider });
            }
            joins = Some(owner);
        }
    }
    let profile = attempt.profile;
    let user_id = match joins {
        Some(owner) => owner,
        None => {
            let mut insert = Users::insert(users::ActiveModel {
                nickname: Set(profile.nickname.clone()),
                email: Set(verified_email(profile)),
                avatar_url: Set(profile.avatar_url.clone()),
                created_at: Set(now),
                last_login_at: Set(now),
                ..Default::default()
            })
            .into_query();
            insert.returning_col(users::Column::Id);
            super::returned_id(on.rows(on.build(&insert)).await?)?
        }
    };
    let identity_id = insert_identity(
        on,
        user_id,
        key,
        attempt.issuer,
        attempt.provider,
        profile,
        now,
    )
    .await?;
    super::provider_tokens::keep(on, attempt.token_keys, identity_id, attempt.tokens).await?;
    let events: &[EventKind] = if joins.is_some() {
        &[EventKind::Linked, EventKind::SignedIn]
    } else {
        &[EventKind::SignedIn]
    };
    for kind in events {
        account_events::record(on, user_id, *kind, Some(attempt.provider), attempt.network).await?;
    }
    delete_session(on, attempt.replaced_session).await?;
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
async fn verified_address_owner(on: &impl Statements, email: &str) -> Result<Option<i32>, DbErr> {
    let select = Identities::find()
        .filter(identities::Column::Email.eq(email))
        .filter(identities::Column::EmailStatus.eq(EmailStatus::Verified.as_str()))
        .order_by_asc(identities::Column::Id)
        .into_query();
    let rows: Vec<identities::Model> = on.rows(on.build(&select)).await?;
    Ok(rows.first().map(|identity| identity.user_id))
}

/// The configured name of the provider this user signed in with last.
async fn last_used_provider(on: &impl Statements, user_id: i32) -> Result<String, DbErr> {
    let select = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .into_query();
    let rows: Vec<identities::Model> = on.rows(on.build(&select)).await?;
    Ok(rows
        .into_iter()
        .max_by_key(|identity| identity.last_used_at.unwrap_or(identity.created_at))
        .map(|identity| identity.provider)
        .unwrap_or_default())
}

async fn delete_session(on: &impl Statements, stored_key: Option<&str>) -> Result<(), DbErr> {
    if let Some(stored_key) = stored_key {
        let delete = Sessions::delete_many()
            .filter(sessions::Column::Id.eq(stored_key))
            .into_query();
        on.execute(on.build(&delete)).await?;
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
