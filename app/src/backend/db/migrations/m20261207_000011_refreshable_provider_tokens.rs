use sea_orm_migration::{prelude::*, schema::*};

/// What an OAuth 2 provider's kept tokens need besides the access token: the refresh token
/// (sealed like it), when the access token expires, the scopes granted, and what lets one
/// caller among many refresh them (`version`, `refreshing_until`) or mark them refused.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text_null(ProviderTokens::RefreshToken),
            big_integer_null(ProviderTokens::ExpiresAt),
            text_null(ProviderTokens::Scopes),
            big_integer(ProviderTokens::Version).default(0).to_owned(),
            big_integer_null(ProviderTokens::RefreshingUntil),
            boolean(ProviderTokens::NeedsReconnection)
                .default(false)
                .to_owned(),
        ];
        // One column a statement: SQLite adds one at a time.
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProviderTokens::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ProviderTokens::RefreshToken,
            ProviderTokens::ExpiresAt,
            ProviderTokens::Scopes,
            ProviderTokens::Version,
            ProviderTokens::RefreshingUntil,
            ProviderTokens::NeedsReconnection,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProviderTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ProviderTokens {
    Table,
    RefreshToken,
    ExpiresAt,
    Scopes,
    Version,
    RefreshingUntil,
    NeedsReconnection,
}
