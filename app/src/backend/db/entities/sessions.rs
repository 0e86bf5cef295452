use sea_orm::entity::prelude::*;

/// A tower-sessions record. `data` is the session's JSON map; `expires_at` is unix seconds
/// so that expiry comparisons work the same on SQLite and PostgreSQL.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub data: String,
    pub expires_at: i64,
    /// Copied from the data by the store, so that a user's sessions can be listed and
    /// ended: who is signed in, since when, last seen (at the last write, which is
    /// coarse: a plain page view writes nothing), and the device it was signed in from.
    pub user_id: Option<i32>,
    pub signed_in_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub user_agent: Option<String>,
    /// The client's network (IPv4 /24, IPv6 /48), never its full address.
    pub network: Option<String>,
}

// Hand-written so that session ids and contents never reach a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The signed-in user, so that loading a session brings its user in the same query.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
