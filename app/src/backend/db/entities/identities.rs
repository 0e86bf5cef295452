use sea_orm::entity::prelude::*;

/// One provider account of a user. `social_id` is `"{provider}${provider_user_id}"`, unique.
/// The provider's tokens are kept for later API calls (stored as given; encrypting them at
/// rest is future work).
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
    pub access_token: Option<String>,
    /// OAuth 1.0a token secret.
    pub access_token_secret: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
}

// Hand-written so that tokens never reach a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("social_id", &self.social_id)
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
