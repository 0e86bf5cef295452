use sea_orm_migration::{prelude::*, schema::*};

/// One row per pending sign-in that a callback has started to complete, so that two
/// callbacks carrying the same state cannot both go on (see `backend::sign_in_claims`).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInClaims::Table)
                    .if_not_exists()
                    .col(string(SignInClaims::Id).primary_key())
                    .col(big_integer(SignInClaims::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sign_in_claims_expires_at")
                    .table(SignInClaims::Table)
                    .col(SignInClaims::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInClaims::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SignInClaims {
    Table,
    Id,
    ExpiresAt,
}
