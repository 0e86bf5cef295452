use sea_orm_migration::prelude::*;

/// Session rows are now keyed by a hash of the session id. Rows keyed by raw ids are
/// dropped rather than converted: they also lack the lifetime data sessions now carry, so
/// everybody signs in once more after this upgrade.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(Sessions::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Hashed keys cannot be turned back into ids.
        manager
            .exec_stmt(Query::delete().from_table(Sessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
}
