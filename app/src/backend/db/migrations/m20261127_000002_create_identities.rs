use sea_orm_migration::{prelude::*, schema::*};

use super::m20261127_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Identities::Table)
                    .if_not_exists()
                    .col(pk_auto(Identities::Id))
                    .col(integer(Identities::UserId))
                    .col(string(Identities::Provider))
                    .col(string(Identities::ProviderUserId))
                    // The unique index is what makes concurrent first sign-ins of one
                    // identity end in one account.
                    .col(string_uniq(Identities::SocialId))
                    .col(timestamp_with_time_zone(Identities::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_identities_user")
                            .from(Identities::Table, Identities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identities_user_id")
                    .table(Identities::Table)
                    .col(Identities::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Identities::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Identities {
    Table,
    Id,
    UserId,
    Provider,
    ProviderUserId,
    SocialId,
    CreatedAt,
}
