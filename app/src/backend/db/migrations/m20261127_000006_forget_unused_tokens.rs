use sea_orm_migration::prelude::*;

/// OAuth 2 access tokens were stored in plain text though nothing uses them after sign-in.
/// They are no longer kept; this clears those already stored. OAuth 1.0a tokens (Twitter's,
/// used for later API calls) always come with a token secret and stay.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::update()
                    .table(Identities::Table)
                    .value(Identities::AccessToken, Option::<String>::None)
                    .and_where(Expr::col(Identities::AccessTokenSecret).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Forgotten tokens cannot be brought back; they are fetched again at sign-in only
        // if the code keeps them.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    AccessToken,
    AccessTokenSecret,
}
