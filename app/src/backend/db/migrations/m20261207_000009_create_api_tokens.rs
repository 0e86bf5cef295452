use sea_orm_migration::{prelude::*, schema::*};

use super::m20261127_000001_create_users::Users;

/// Personal API tokens: a person's named tokens for scripts, kept only as hashes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .if_not_exists()
                    // AUTOINCREMENT on SQLite too: a revoked token's id is never reused,
                    // so a stale "Revoke" form cannot reach a newer token.
                    .col(pk_auto(ApiTokens::Id))
                    .col(integer(ApiTokens::UserId))
                    .col(string(ApiTokens::Name))
                    .col(string_uniq(ApiTokens::TokenHash))
                    .col(string(ApiTokens::Hint))
                    .col(big_integer(ApiTokens::CreatedAt))
                    .col(big_integer_null(ApiTokens::LastUsedAt))
                    .col(big_integer_null(ApiTokens::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_user")
                            .from(ApiTokens::Table, ApiTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_tokens_user_id")
                    .table(ApiTokens::Table)
                    .col(ApiTokens::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    Hint,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
}
