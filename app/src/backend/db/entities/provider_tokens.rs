use sea_orm::entity::prelude::*;

/// The tokens kept for one identity, each sealed (`provider_tokens::cipher`): never the
/// plain value. `updated_at` is unix seconds.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub identity_id: i32,
    pub access_token: Option<String>,
    /// OAuth 1.0a token secret.
    pub token_secret: Option<String>,
    pub updated_at: i64,
    /// OAuth 2, sealed like the access token.
    pub refresh_token: Option<String>,
    /// When the access token stops working, unix seconds; `None`: the provider did not say.
    pub expires_at: Option<i64>,
    /// The scopes granted, space-separated, when the provider said.
    pub scopes: Option<String>,
    /// Raised by every refresh, and by the claim to make one: a caller refreshes only if
    /// it moved the version it read (compare-and-swap), so one refresh happens at a time
    /// across instances.
    pub version: i64,
    /// Until when (unix seconds) a claimed refresh is left to its claimer; after that, a
    /// crashed claimer's claim is taken over.
    pub refreshing_until: Option<i64>,
    /// The provider refused the refresh (access revoked): the person must sign in there
    /// again ("Reconnect").
    pub needs_reconnection: bool,
}

// Hand-written: even sealed, tokens stay out of log lines.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("identity_id", &self.identity_id)
            .field("updated_at", &self.updated_at)
            .field("expires_at", &self.expires_at)
            .field("version", &self.version)
            .field("needs_reconnection", &self.needs_reconnection)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::identities::Entity",
        from = "Column::IdentityId",
        to = "super::identities::Column::Id",
        on_delete = "Cascade"
    )]
    Identity,
}

impl Related<super::identities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Identity.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
