//! A tower-sessions store on the application's own database (SQLite or PostgreSQL), so that
//! sign-ins survive restarts and are shared by every instance. No published store fits
//! tower-sessions 0.15 with SeaORM 2.
//!
//! - Rows are keyed by a SHA-256 hash of the session id: a read-only leak of the table
//!   (a backup, an SQL injection elsewhere) gives nobody a cookie that signs in.
//! - `save` only updates: a session deleted meanwhile (logout, id cycled, expired) stays
//!   deleted even if a request that loaded it earlier writes to it afterwards.
//! - A sign-in deletes the old record in its own transaction, and [`record_already_deleted`]
//!   spares the store tower-sessions' second delete of it when the id is cycled.
//! - Loading a signed-in session brings its user and their identities in the same query
//!   (kept in the record under [`LOADED_USER_KEY`] for this request, never stored): every
//!   signed-in page and `/api/me` needs them. On a SQLite file that query runs on the
//!   request's own thread (`db::inline_reads`, issue 22), and the writes on the writer's
//!   thread (`db::sqlite_writer`), one hand-off each.

use async_trait::async_trait;
use sea_orm::{
    sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Set,
};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};

use super::db::entities::{
    identities,
    prelude::{Identities, Sessions, Users},
    sessions, users,
};
use super::db::inline_reads::{optional, FromInlineRow};
use super::db::sqlite_writer::Execute;
use super::db::{users::current_user_of, Db};
use super::metrics;
use super::secret::stored_hash;

/// Session data key holding a unix time after which the server forgets the session, when
/// that is sooner than the record's own expiry (a browser-session cookie has no expiry of
/// its own, but the server still ends it after an idle limit).
pub const DEADLINE_KEY: &str = "session.deadline";

/// A signed-in session's data keys (written by `auth_session`), which the store also
/// copies into the row's columns so that a user's sessions can be listed and ended: the
/// user's id, how and when the session signed in (`auth_session::SignedIn`), and the
/// device it signed in from (`auth_session::Device`).
pub const USER_ID_KEY: &str = "auth.user_id";
pub const SIGNED_IN_KEY: &str = "auth.signed_in";
pub const DEVICE_KEY: &str = "auth.device";

/// The signed-in user (a `CurrentUser`, providers not yet labelled) as read with the
/// session: for this request only. Never written back (see [`encode_data`]), and trusted
/// only for the user id the session names (see `auth_user::current_user`).
pub const LOADED_USER_KEY: &str = "loaded.current_user";

#[derive(Clone)]
pub struct SeaOrmSessionStore {
    db: Db,
}

impl std::fmt::Debug for SeaOrmSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeaOrmSessionStore")
    }
}

tokio::task_local! {
    /// The stored key of a session whose record the running task has deleted already.
    static ALREADY_DELETED: String;
}

/// Runs `cycle` (a `Session::cycle_id`, which deletes the old record through the store)
/// for a session whose record the caller has just deleted in a transaction of its own:
/// the store skips that one delete, a commit on SQLite's single writer per sign-in.
pub async fn record_already_deleted<F: std::future::Future>(id: &Id, cycle: F) -> F::Output {
    ALREADY_DELETED.scope(storage_key(id), cycle).await
}

/// The primary key a session id is stored under.
pub fn storage_key(id: &Id) -> String {
    stored_hash(&id.to_string())
}

/// When the server forgets this record: its expiry, or the sooner deadline in its data.
fn expires_at(record: &Record) -> i64 {
    let expiry = record.expiry_date.unix_timestamp();
    match record.data.get(DEADLINE_KEY).and_then(|v| v.as_i64()) {
        Some(deadline) => deadline.min(expiry),
        None => expiry,
    }
}

/// The columns a signed-in session's row carries besides its data, so that a user's
/// sessions can be listed and ended (see `auth_session`'s keys).
struct Listing {
    user_id: Option<i32>,
    signed_in_at: Option<i64>,
    user_agent: Option<String>,
    network: Option<String>,
}

fn listing(record: &Record) -> Listing {
    let data = &record.data;
    let device = data.get(DEVICE_KEY);
    let text = |field: &str| {
        device
            .and_then(|device| device.get(field))
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    Listing {
        user_id: data
            .get(USER_ID_KEY)
            .and_then(|v| v.as_i64())
            .and_then(|id| i32::try_from(id).ok()),
        signed_in_at: data
            .get(SIGNED_IN_KEY)
            .and_then(|signed_in| signed_in.get("at"))
            .and_then(|v| v.as_i64()),
        user_agent: text("user_agent"),
        network: text("network"),
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The record's data as stored: without what was only loaded for the request.
fn encode_data(record: &Record) -> session_store::Result<String> {
    let stored: std::collections::BTreeMap<_, _> = record
        .data
        .iter()
        .filter(|(key, _)| key.as_str() != LOADED_USER_KEY)
        .collect();
    serde_json::to_string(&stored).map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// Starts the message of a store error caused by an unreachable database; tower-sessions
/// keeps only the text of store errors.
pub const UNAVAILABLE_PREFIX: &str = "database unavailable: ";

fn backend(err: sea_orm::DbErr) -> session_store::Error {
    if super::db::is_unavailable(&err) {
        metrics::database_unavailable();
        session_store::Error::Backend(format!("{UNAVAILABLE_PREFIX}{err}"))
    } else {
        session_store::Error::Backend(err.to_string())
    }
}

impl SeaOrmSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SessionStore for SeaOrmSessionStore {
    /// Inserts under a fresh id, drawing again on the (astronomically unlikely) collision,
    /// so an existing session is never overwritten by a new one.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode_data(record)?;
        let listing = listing(record);
        loop {
            let row = sessions::ActiveModel {
                id: Set(storage_key(&record.id)),
                data: Set(data.clone()),
                expires_at: Set(expires_at(record)),
                user_id: Set(listing.user_id),
                signed_in_at: Set(listing.signed_in_at),
                last_seen_at: Set(Some(now())),
                user_agent: Set(listing.user_agent.clone()),
                network: Set(listing.network.clone()),
            };
            let insert = Sessions::insert(row)
                .on_conflict_do_nothing_on([sessions::Column::Id])
                .into_query();
            let inserted = self.db.write_unit(Execute(insert)).await.map_err(backend)?;
            if inserted == 1 {
                metrics::session_written("create");
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates the row if it still exists; never inserts one. A save is the only time a
    /// session is seen to be in use (a renewal, at most hourly or daily): `last_seen_at`.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let listing = listing(record);
        let update = Sessions::update_many()
            .col_expr(sessions::Column::Data, Expr::value(encode_data(record)?))
            .col_expr(sessions::Column::ExpiresAt, Expr::value(expires_at(record)))
            .col_expr(sessions::Column::UserId, Expr::value(listing.user_id))
            .col_expr(
                sessions::Column::SignedInAt,
                Expr::value(listing.signed_in_at),
            )
            .col_expr(sessions::Column::LastSeenAt, Expr::value(Some(now())))
            .col_expr(sessions::Column::UserAgent, Expr::value(listing.user_agent))
            .col_expr(sessions::Column::Network, Expr::value(listing.network))
            .filter(sessions::Column::Id.eq(storage_key(&record.id)))
            .into_query();
        let updated = self.db.write_unit(Execute(update)).await.map_err(backend)?;
        if updated == 0 {
            tracing::debug!("not saving a session that has ended meanwhile");
        } else {
            metrics::session_written("save");
        }
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let now = now();
        // One row per identity of the signed-in user (one row when signed out); `all`, not
        // `one`: see `db::at_most_one`.
        let select = Sessions::find_by_id(storage_key(session_id))
            .filter(sessions::Column::ExpiresAt.gt(now))
            .find_also_related(Users)
            .and_also_related(Identities)
            .order_by_asc(identities::Column::Id);
        let rows = match &self.db.inline_read {
            Some(inline) => inline.query_all(&select.into_query(), |row| {
                Ok((
                    sessions::Model::from_inline_row(row, "A_")?,
                    optional(row, "B_", users::Column::Id)?,
                    optional(row, "C_", identities::Column::Id)?,
                ))
            }),
            None => select.all(&self.db.read).await,
        }
        .map_err(backend)?;
        let mut rows = rows.into_iter();
        let Some((row, user, first_identity)) = rows.next() else {
            return Ok(None);
        };
        let mut data: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&row.data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        if let Some(user) = user {
            let identities = first_identity
                .into_iter()
                .chain(rows.filter_map(|(_, _, identity)| identity))
                .collect();
            let loaded = current_user_of(user, identities, |_| None);
            let loaded = serde_json::to_value(loaded)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?;
            data.insert(LOADED_USER_KEY.to_owned(), loaded);
        }
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let key = storage_key(session_id);
        if ALREADY_DELETED.try_with(|deleted| *deleted == key) == Ok(true) {
            return Ok(());
        }
        let delete = Sessions::delete_many()
            .filter(sessions::Column::Id.eq(key))
            .into_query();
        self.db.write_unit(Execute(delete)).await.map_err(backend)?;
        metrics::session_written("delete");
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SeaOrmSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let delete = Sessions::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(now))
            .into_query();
        self.db.write_unit(Execute(delete)).await.map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_key_is_the_sha256_of_the_cookie_value() {
        let id = Id(0);
        assert_eq!(id.to_string(), "A".repeat(22), "the cookie value");
        // Python: base64.urlsafe_b64encode(hashlib.sha256(b"A" * 22).digest()).rstrip(b"=")
        assert_eq!(
            storage_key(&id),
            "ilvbTMFRZBJsbvJmjendJA0pnOY5ekLJWpQRuT0IDtg"
        );
        assert_ne!(storage_key(&Id(1)), storage_key(&Id(2)));
    }

    #[test]
    fn a_deadline_in_the_data_shortens_the_record_expiry_but_never_extends_it() {
        let mut record = Record {
            id: Id(1),
            data: Default::default(),
            expiry_date: OffsetDateTime::from_unix_timestamp(1_000).unwrap(),
        };
        assert_eq!(expires_at(&record), 1_000);
        record.data.insert(DEADLINE_KEY.into(), 500.into());
        assert_eq!(expires_at(&record), 500);
        record.data.insert(DEADLINE_KEY.into(), 5_000.into());
        assert_eq!(expires_at(&record), 1_000);
    }
}
