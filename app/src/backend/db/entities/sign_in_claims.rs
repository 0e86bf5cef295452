use sea_orm::entity::prelude::*;

/// A pending sign-in that one callback has claimed. `id` is a hash of the sign-in's
/// binding value (OAuth 2 `state`, OAuth 1.0a request token), never the value itself.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
