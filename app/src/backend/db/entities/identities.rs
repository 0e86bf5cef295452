use sea_orm::entity::prelude::*;

/// One provider account of a user: who vouches for it (`issuer`) and the provider's id for
/// the person (`provider_user_id`, OpenID Connect's `sub`), joined in `social_id`, the
/// unique key (see `db::identities::identity_key`). `provider` is the configured provider it
/// signed in with last, which may be renamed without changing who is who. Rows from before
/// accounts keep `"{provider}${subject}"` until the configuration names their issuer.
/// `access_token` and `access_token_secret` are where earlier versions kept tokens in plain
/// text: always empty now (kept tokens live sealed in `provider_tokens`).
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub provider: String,
    pub provider_user_id: String,
    #[sea_orm(unique)]
    pub social_id: String,
    /// Earlier versions' plain token: moved to `provider_tokens` at start-up.
    pub access_token: Option<String>,
    /// Earlier versions' plain OAuth 1.0a token secret, likewise.
    pub access_token_secret: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub issuer: Option<String>,
    /// The person's name at the provider.
    pub name: Option<String>,
    pub email: Option<String>,
    /// `EmailStatus::as_str`.
    pub email_status: String,
    pub avatar_url: Option<String>,
    pub last_used_at: Option<TimeDateTimeWithTimeZone>,
}

// Hand-written so that tokens never reach a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("issuer", &self.issuer)
            .field("provider", &self.provider)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "access_token_secret",
                &self.access_token_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
