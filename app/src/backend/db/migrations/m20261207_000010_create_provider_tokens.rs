use sea_orm_migration::{prelude::*, schema::*};

use super::m20261127_000002_create_identities::Identities;

/// Provider tokens in a table of their own, sealed: one row per identity. The plain values
/// that identities held until now are moved here and sealed at start-up
/// (`db::provider_tokens::seal_plain_tokens`), which has the key a migration lacks.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProviderTokens::Table)
                    .if_not_exists()
                    .col(integer(ProviderTokens::IdentityId).primary_key())
                    .col(text_null(ProviderTokens::AccessToken))
                    .col(text_null(ProviderTokens::TokenSecret))
                    .col(big_integer(ProviderTokens::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_provider_tokens_identity")
                            .from(ProviderTokens::Table, ProviderTokens::IdentityId)
                            .to(Identities::Table, Identities::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProviderTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ProviderTokens {
    Table,
    IdentityId,
    AccessToken,
    TokenSecret,
    UpdatedAt,
}
