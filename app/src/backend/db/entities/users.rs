use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub nickname: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    /// The first sign-in's time. Since accounts, a returning sign-in writes only its
    /// identity (`identities.last_used_at` is the last sign-in), sparing the user's row
    /// a write on SQLite's one writer.
    pub last_login_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::identities::Entity")]
    Identities,
}

impl Related<super::identities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Identities.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
