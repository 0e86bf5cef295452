use sea_orm_migration::{prelude::*, schema::*};

/// Provider tokens on identities, for API calls after sign-in (OAuth 1.0a has a secret too).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [Identities::AccessToken, Identities::AccessTokenSecret] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Identities::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Identities::AccessToken, Identities::AccessTokenSecret] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Identities::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Identities {
    Table,
    AccessToken,
    AccessTokenSecret,
}
