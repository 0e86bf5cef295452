//! Identities: one provider account of a user, found by who vouches for it (the issuer)
//! and the provider's id for the person, each keeping its own profile.

use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QueryTrait, Set, UpdateMany,
};
use time::OffsetDateTime;

use super::entities::{identities, prelude::*};
use super::statements::{ReturnedId, Statements};
use super::Db;
use crate::backend::oauth::profile::Profile;
use crate::backend::secret::Secret;
use crate::models::{EmailStatus, LinkedIdentity};

/// The provider's credentials for later API calls on the user's behalf, when they are
/// kept at all (`ProviderConfig::keeps_tokens`); stored sealed (`db::provider_tokens`).
#[derive(Clone, Default)]
pub struct ProviderTokens {
    pub access_token: Option<Secret>,
    /// OAuth 1.0a only.
    pub token_secret: Option<Secret>,
    /// OAuth 2: what gets a new access token once this one expires.
    pub refresh_token: Option<Secret>,
    /// When the access token expires, unix seconds, if the provider said.
    pub expires_at: Option<i64>,
    /// The scopes granted, space-separated, if the provider said.
    pub scopes: Option<String>,
}

impl ProviderTokens {
    /// Nothing kept.
    pub const NONE: Self = Self {
        access_token: None,
        token_secret: None,
        refresh_token: None,
        expires_at: None,
        scopes: None,
    };

    pub fn is_empty(&self) -> bool {
        self.access_token.is_none() && self.token_secret.is_none() && self.refresh_token.is_none()
    }
}

/// The unique key of an identity: issuer and subject. A space joins them: an issuer is a
/// URL, which has none, and subjects are printable ASCII without spaces (`profile`), so no
/// two pairs share a key. Rows from before accounts hold `"{provider}${subject}"` (no
/// space) until their issuer is known.
pub fn identity_key(issuer: &str, subject: &str) -> String {
    format!("{issuer} {subject}")
}

/// Addresses are compared in lower case: providers differ in how they spell them.
pub fn normalized_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) async fn find_by_key(
    conn: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<identities::Model>, DbErr> {
    // `all`, not `one`: see `at_most_one`; the key is unique.
    let rows = Identities::find()
        .filter(identities::Column::SocialId.eq(key))
        .all(conn)
        .await?;
    Ok(super::at_most_one(rows))
}

fn stored_email(profile: &Profile) -> Option<String> {
    profile.email.as_deref().map(normalized_email)
}

/// Adds the identity to the user: its id.
pub(super) async fn insert_identity(
    on: &impl Statements,
    user_id: i32,
    key: &str,
    issuer: &str,
    provider: &str,
    profile: &Profile,
    now: OffsetDateTime,
) -> Result<i32, DbErr> {
    let mut insert = Identities::insert(identities::ActiveModel {
        user_id: Set(user_id),
        provider: Set(provider.to_owned()),
        provider_user_id: Set(profile.provider_user_id.clone()),
        social_id: Set(key.to_owned()),
        issuer: Set(Some(issuer.to_owned())),
        name: Set(Some(profile.nickname.clone())),
        email: Set(stored_email(profile)),
        email_status: Set(profile.email_status.as_str().to_owned()),
        avatar_url: Set(profile.avatar_url.clone()),
        created_at: Set(now),
        last_used_at: Set(Some(now)),
        ..Default::default()
    })
    .into_query();
    insert.returning_col(identities::Column::Id);
    let inserted = on.rows::<ReturnedId>(on.build(&insert)).await?;
    super::returned_id(inserted)
}

/// What the provider says now replaces what it said before, except that a name, an
/// address or a picture it leaves out this time is kept; `provider` follows a renamed configuration.
/// Every column is set, changed or not: a sign-in's writes are one statement either way,
/// and knowing what changed would take a read first (on SQLite another round trip to
/// another thread, issue 22).
fn sign_in_update(
    provider: &str,
    profile: &Profile,
    now: OffsetDateTime,
) -> UpdateMany<Identities> {
    let mut update = Identities::update_many()
        .col_expr(identities::Column::LastUsedAt, Expr::value(Some(now)))
        .col_expr(identities::Column::Provider, Expr::value(provider))
        // Where earlier versions kept tokens in plain text (an old instance may still write
        // them during a rolling upgrade): cleared, as kept tokens live sealed elsewhere.
        .col_expr(
            identities::Column::AccessToken,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            identities::Column::AccessTokenSecret,
            Expr::value(Option::<String>::None),
        );
    if !profile.name_unsaid {
        update = update.col_expr(
            identities::Column::Name,
            Expr::value(profile.nickname.clone()),
        );
    }
    if let Some(email) = stored_email(profile) {
        // The address and what the provider says of it go together.
        update = update
            .col_expr(identities::Column::Email, Expr::value(email))
            .col_expr(
                identities::Column::EmailStatus,
                Expr::value(profile.email_status.as_str()),
            );
    }
    if let Some(avatar_url) = &profile.avatar_url {
        update = update.col_expr(
            identities::Column::AvatarUrl,
            Expr::value(avatar_url.clone()),
        );
    }
    update
}

/// Records a sign-in of the identity with this key, if it exists: its row as updated
/// (one statement, `RETURNING`), or `None` for an identity seen for the first time.
pub(super) async fn update_on_sign_in(
    on: &impl Statements,
    key: &str,
    provider: &str,
    profile: &Profile,
    now: OffsetDateTime,
) -> Result<Option<identities::Model>, DbErr> {
    let mut update = sign_in_update(provider, profile, now)
        .filter(identities::Column::SocialId.eq(key))
        .into_query();
    update.returning_all();
    let rows = on.rows(on.build(&update)).await?;
    Ok(super::at_most_one(rows))
}

/// [`update_on_sign_in`] for an identity already read (linking it again).
pub(super) async fn update_read_identity(
    conn: &impl ConnectionTrait,
    identity: &identities::Model,
    provider: &str,
    profile: &Profile,
    now: OffsetDateTime,
) -> Result<(), DbErr> {
    sign_in_update(provider, profile, now)
        .filter(identities::Column::Id.eq(identity.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// One of the user's identities, by its id.
pub async fn of_user(
    conn: &impl ConnectionTrait,
    user_id: i32,
    identity_id: i32,
) -> Result<Option<identities::Model>, DbErr> {
    let rows = Identities::find_by_id(identity_id)
        .filter(identities::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    Ok(super::at_most_one(rows))
}

/// Every identity of the user.
pub async fn all_of_user(
    conn: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<identities::Model>, DbErr> {
    Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .order_by_asc(identities::Column::Id)
        .all(conn)
        .await
}

/// The user's identity with `provider`, the first linked if several.
pub async fn of_user_with_provider(
    conn: &impl ConnectionTrait,
    user_id: i32,
    provider: &str,
) -> Result<Option<identities::Model>, DbErr> {
    let rows = Identities::find()
        .filter(identities::Column::UserId.eq(user_id))
        .filter(identities::Column::Provider.eq(provider))
        .order_by_asc(identities::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().next())
}

/// The name and picture the provider shows now, read with a kept token ("Refresh from
/// <Provider>"); a picture it leaves out is kept, as at sign-in.
pub async fn refresh_profile(db: &Db, identity_id: i32, profile: &Profile) -> Result<(), DbErr> {
    let mut update = Identities::update_many().col_expr(
        identities::Column::Name,
        Expr::value(profile.nickname.clone()),
    );
    if let Some(avatar_url) = &profile.avatar_url {
        update = update.col_expr(
            identities::Column::AvatarUrl,
            Expr::value(avatar_url.clone()),
        );
    }
    update
        .filter(identities::Column::Id.eq(identity_id))
        .exec(&db.write)
        .await?;
    Ok(())
}

/// Gives identities from before accounts their issuer, from the configuration: `issuers`
/// pairs each configured provider with who vouches for its identities. Rows of providers
/// no longer configured wait for their provider to come back. Runs at start-up.
pub async fn adopt_issuers(db: &Db, issuers: &[(String, String)]) -> Result<u64, DbErr> {
    let waiting = Identities::find()
        .filter(identities::Column::Issuer.is_null())
        .all(&db.write)
        .await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let txn = super::write_transaction(&db.write).await?;
    let mut adopted = 0;
    for identity in waiting {
        let Some((_, issuer)) = issuers.iter().find(|(name, _)| *name == identity.provider) else {
            continue;
        };
        let key = identity_key(issuer, &identity.provider_user_id);
        if find_by_key(&txn, &key).await?.is_some() {
            tracing::warn!(
                identity_id = identity.id,
                provider = identity.provider,
                "an identity from before accounts has a newer twin; left as it was"
            );
            continue;
        }
        Identities::update_many()
            .col_expr(identities::Column::Issuer, Expr::value(issuer.clone()))
            .col_expr(identities::Column::SocialId, Expr::value(key))
            .filter(identities::Column::Id.eq(identity.id))
            .exec(&txn)
            .await?;
        adopted += 1;
    }
    txn.commit().await?;
    if adopted > 0 {
        tracing::info!(adopted, "identities given their issuer");
    }
    Ok(adopted)
}

/// An identity as the pages and `/api/me` show it.
pub fn linked_identity(
    identity: identities::Model,
    label: impl Fn(&str) -> Option<String>,
) -> LinkedIdentity {
    LinkedIdentity {
        id: identity.id.into(),
        label: label(&identity.provider).unwrap_or_else(|| identity.provider.clone()),
        issuer: identity.issuer.unwrap_or_default(),
        subject: identity.provider_user_id,
        provider: identity.provider,
        name: identity.name,
        email: identity.email,
        email_status: EmailStatus::from_stored(&identity.email_status),
        avatar_url: identity.avatar_url,
        linked_at: identity.created_at.unix_timestamp(),
        last_used_at: identity.last_used_at.map(|at| at.unix_timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_issuer_and_subject_and_never_look_like_old_ones() {
        assert_eq!(
            identity_key("https://accounts.google.com", "1234"),
            "https://accounts.google.com 1234"
        );
        assert_ne!(identity_key("https://a.example", "x"), "a$x");
    }
}
