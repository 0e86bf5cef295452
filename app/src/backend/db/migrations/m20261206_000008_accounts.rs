use sea_orm_migration::{prelude::*, schema::*};

use super::m20261127_000001_create_users::Users;

/// Accounts: each identity keeps its own profile (name, email and whether the provider
/// verified it, avatar, last use) and, once the configuration has named it, its issuer;
/// sessions know their user and device so that they can be listed and ended; an account's
/// security events are kept.
///
/// Existing identities get the user's name, email and avatar (the last sign-in's, the best
/// there is), marked unverified, so no address of old rows ever matches another sign-in;
/// their issuer is filled at start-up from the configuration (`identities::adopt_issuers`),
/// which a migration cannot read. The user's email becomes the primary *verified* one,
/// so the unverified copy moves to the identity. Signed-in sessions get their user from
/// their data.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let identity_columns = [
            string_null(Identities::Issuer),
            string_null(Identities::Name),
            string_null(Identities::Email),
            string(Identities::EmailStatus)
                .default("unverified")
                .to_owned(),
            text_null(Identities::AvatarUrl),
            timestamp_with_time_zone_null(Identities::LastUsedAt),
        ];
        for column in identity_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Identities::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE identities SET \
               name = (SELECT nickname FROM users WHERE users.id = identities.user_id), \
               email = (SELECT email FROM users WHERE users.id = identities.user_id), \
               avatar_url = (SELECT avatar_url FROM users WHERE users.id = identities.user_id), \
               last_used_at = (SELECT last_login_at FROM users WHERE users.id = identities.user_id)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE identities SET email_status = 'self_asserted' WHERE provider = 'demo'",
        )
        .await?;
        db.execute_unprepared("UPDATE users SET email = NULL")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identities_email")
                    .table(Identities::Table)
                    .col(Identities::Email)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        let session_columns = [
            integer_null(Sessions::UserId),
            big_integer_null(Sessions::SignedInAt),
            big_integer_null(Sessions::LastSeenAt),
            string_null(Sessions::UserAgent),
            string_null(Sessions::Network),
        ];
        for column in session_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user_id")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        adopt_signed_in_sessions(db).await?;

        // On SQLite a plain INTEGER PRIMARY KEY (the rowid): AUTOINCREMENT would add a write
        // to `sqlite_sequence` to every event, and an event is written with every sign-in.
        let id = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => ColumnDef::new(AccountEvents::Id)
                .integer()
                .not_null()
                .primary_key()
                .to_owned(),
            _ => pk_auto(AccountEvents::Id),
        };
        manager
            .create_table(
                Table::create()
                    .table(AccountEvents::Table)
                    .if_not_exists()
                    .col(id)
                    .col(integer(AccountEvents::UserId))
                    .col(string(AccountEvents::Kind))
                    .col(string_null(AccountEvents::Detail))
                    .col(string_null(AccountEvents::Network))
                    .col(timestamp_with_time_zone(AccountEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_events_user")
                            .from(AccountEvents::Table, AccountEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_events_user_id")
                    .table(AccountEvents::Table)
                    .col(AccountEvents::UserId)
                    .col(AccountEvents::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountEvents::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_sessions_user_id")
                    .table(Sessions::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Sessions::UserId,
            Sessions::SignedInAt,
            Sessions::LastSeenAt,
            Sessions::UserAgent,
            Sessions::Network,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_identities_email")
                    .table(Identities::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Identities::Issuer,
            Identities::Name,
            Identities::Email,
            Identities::EmailStatus,
            Identities::AvatarUrl,
            Identities::LastUsedAt,
        ] {
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

/// Sets `user_id` on the rows of signed-in sessions, read from their JSON data (the SQL
/// for JSON differs between SQLite and PostgreSQL; this runs once).
async fn adopt_signed_in_sessions(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT id, data FROM sessions",
        ))
        .await?;
    for row in rows {
        let id: String = row.try_get("", "id")?;
        let data: String = row.try_get("", "data")?;
        let Ok(data) = serde_json::from_str::<serde_json::Value>(&data) else {
            continue;
        };
        let Some(user_id) = data.get("auth.user_id").and_then(|v| v.as_i64()) else {
            continue;
        };
        let signed_in_at = data.pointer("/auth.signed_in/at").and_then(|v| v.as_i64());
        let update = Query::update()
            .table(Sessions::Table)
            .value(Sessions::UserId, user_id)
            .value(Sessions::SignedInAt, signed_in_at)
            .and_where(Expr::col(Sessions::Id).eq(id))
            .to_owned();
        db.execute_raw(backend.build(&update)).await?;
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Identities {
    Table,
    Issuer,
    Name,
    Email,
    EmailStatus,
    AvatarUrl,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    Id,
    UserId,
    SignedInAt,
    LastSeenAt,
    UserAgent,
    Network,
}

#[derive(DeriveIden)]
enum AccountEvents {
    Table,
    Id,
    UserId,
    Kind,
    Detail,
    Network,
    At,
}
