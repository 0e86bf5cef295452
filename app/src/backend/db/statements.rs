//! What the hot paths' writes run their statements on, so that each is written once for
//! both kinds of connection (issue 22):
//! - SeaORM's async connections and transactions (PostgreSQL, SQLite in memory);
//! - the SQLite writer's synchronous connection (`sqlite_writer`), whose every call has
//!   finished when it returns: the same async code, polled once on the writer's thread.
//!
//! The statements are built with the app's entities (SeaORM's builders, `into_query`) and
//! rows decode into the entities' models: one schema, one set of statements.

use sea_orm::sea_query::{Value, Values};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, StatementBuilder};
use time::format_description::well_known::Rfc3339;

use super::inline_reads::{from_sync, FromInlineRow};

/// A row both kinds of connection can decode.
pub trait Row: FromQueryResult + FromInlineRow {}
impl<T: FromQueryResult + FromInlineRow> Row for T {}

/// Runs statements. Callers are concrete (a unit of writes on one kind of connection), so
/// whether the futures are `Send` is known where it matters.
#[allow(async_fn_in_trait)]
pub trait Statements {
    fn backend(&self) -> DbBackend;

    /// Runs a statement that returns no rows: how many rows it changed.
    async fn execute(&self, statement: Statement) -> Result<u64, DbErr>;

    /// Runs a statement (a select, or a write with `RETURNING`) and decodes its rows.
    async fn rows<T: Row>(&self, statement: Statement) -> Result<Vec<T>, DbErr>;

    /// The statement in this connection's dialect.
    fn build(&self, statement: &impl StatementBuilder) -> Statement {
        self.backend().build(statement)
    }
}

impl<C: ConnectionTrait> Statements for C {
    fn backend(&self) -> DbBackend {
        self.get_database_backend()
    }

    async fn execute(&self, statement: Statement) -> Result<u64, DbErr> {
        Ok(self.execute_raw(statement).await?.rows_affected())
    }

    async fn rows<T: Row>(&self, statement: Statement) -> Result<Vec<T>, DbErr> {
        self.query_all_raw(statement)
            .await?
            .iter()
            .map(|row| T::from_query_result(row, ""))
            .collect()
    }
}

/// A synchronous SQLite connection or transaction (`sea-orm-sync`): every call finishes
/// before it returns.
pub struct Synchronous<'c, C>(pub &'c C);

impl<C: sea_orm_sync::ConnectionTrait> Statements for Synchronous<'_, C> {
    fn backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn execute(&self, statement: Statement) -> Result<u64, DbErr> {
        let result = self
            .0
            .execute_raw(synchronous(statement)?)
            .map_err(from_sync("write"))?;
        Ok(result.rows_affected())
    }

    async fn rows<T: Row>(&self, statement: Statement) -> Result<Vec<T>, DbErr> {
        self.0
            .query_all_raw(synchronous(statement)?)
            .map_err(from_sync("query"))?
            .iter()
            .map(|row| T::from_inline_row(row, ""))
            .collect()
    }
}

/// The same SQL and values, as the synchronous crate's type (sea-query is shared).
fn synchronous(statement: Statement) -> Result<sea_orm_sync::Statement, DbErr> {
    debug_assert_eq!(statement.db_backend, DbBackend::Sqlite);
    let values = match statement.values {
        Some(Values(values)) => Some(Values(
            values
                .into_iter()
                .map(stored_as_sqlx_stores)
                .collect::<Result<_, _>>()?,
        )),
        None => None,
    };
    Ok(sea_orm_sync::Statement {
        sql: statement.sql,
        values,
        db_backend: sea_orm_sync::DbBackend::Sqlite,
    })
}

/// A value as sqlx binds it. Both drivers write the same tables: sqlx stores a time as RFC
/// 3339 text (`2026-12-07T12:00:00.5Z`), rusqlite as `2026-12-07 12:00:00.5+00:00`, and
/// rows written in two spellings would not sort or compare as times in SQL. Every other
/// type the entities use (text, integers, booleans as 0 or 1) is bound alike.
fn stored_as_sqlx_stores(value: Value) -> Result<Value, DbErr> {
    match value {
        Value::TimeDateTimeWithTimeZone(Some(time)) => time
            .format(&Rfc3339)
            .map(|text| Value::String(Some(text)))
            .map_err(|err| DbErr::Custom(format!("a time SQLite cannot store: {err}"))),
        other => Ok(other),
    }
}

/// The id a `RETURNING "id"` gives back.
#[derive(FromQueryResult)]
pub struct ReturnedId {
    pub id: i32,
}

impl FromInlineRow for ReturnedId {
    fn from_inline_row(row: &sea_orm_sync::QueryResult, prefix: &str) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get(prefix, "id").map_err(from_sync("decode"))?,
        })
    }
}
