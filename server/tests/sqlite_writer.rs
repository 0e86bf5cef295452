//! The SQLite writer's thread (issue 22): a unit of writes either commits whole or leaves
//! nothing, a unit that misbehaves fails without stopping the writer, a unit that cannot
//! start in time is answered as an unavailable database and never runs, and what it writes
//! is stored exactly as sqlx stores it, since both write the same tables.

mod support;

use app::backend::db::account_events::{self, EventKind};
use app::backend::db::is_unavailable;
use app::backend::db::sqlite_writer::{Execute, WriteUnit};
use app::backend::db::statements::Statements;
use sea_orm::{DbErr, Statement};
use std::time::{Duration, Instant};
use support::TestApp;

/// Adds a user named `nickname`, then does `then`.
struct InsertThen {
    nickname: &'static str,
    then: Then,
}

enum Then {
    Commit,
    Panic,
    WaitForever,
    Fail,
}

impl WriteUnit for InsertThen {
    type Output = ();
    const TRANSACTION: bool = true;

    async fn run(self, on: &impl Statements) -> Result<(), DbErr> {
        on.execute(Statement::from_string(
            on.backend(),
            format!(
                "INSERT INTO users (nickname, created_at, last_login_at) \
                 VALUES ('{}', '2026-12-07T12:00:00Z', '2026-12-07T12:00:00Z')",
                self.nickname
            ),
        ))
        .await?;
        match self.then {
            Then::Commit => Ok(()),
            Then::Panic => panic!("a bug in a unit"),
            Then::WaitForever => std::future::pending().await,
            Then::Fail => Err(DbErr::Custom("the unit's own error".into())),
        }
    }
}

async fn users_named(app: &TestApp, nickname: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM users WHERE nickname = '{nickname}'"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_commits_whole_or_leaves_nothing_and_the_writer_goes_on() {
    let app = TestApp::start(&[]).await;
    if app.is_postgres() {
        return; // SQLite files only
    }
    let db = &app.state_db;
    assert!(db.sqlite_writer.is_some(), "a SQLite file gets a writer");

    let failed = |nickname, then| db.write_unit(InsertThen { nickname, then });
    let error = failed("panics", Then::Panic).await.unwrap_err();
    assert!(error.to_string().contains("panicked"), "{error}");
    let error = failed("waits", Then::WaitForever).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("waited for something other than its statements"),
        "{error}"
    );
    let error = failed("fails", Then::Fail).await.unwrap_err();
    assert!(
        error.to_string().contains("the unit's own error"),
        "{error}"
    );
    for nickname in ["panics", "waits", "fails"] {
        assert_eq!(
            users_named(&app, nickname).await,
            0,
            "{nickname}: rolled back"
        );
    }

    failed("commits", Then::Commit).await.unwrap();
    assert_eq!(users_named(&app, "commits").await, 1);
}

/// Keeps the writer's thread busy (as a slow disk, or another process holding the lock).
struct Occupy(Duration);

impl WriteUnit for Occupy {
    type Output = ();
    const TRANSACTION: bool = false;

    async fn run(self, _on: &impl Statements) -> Result<(), DbErr> {
        std::thread::sleep(self.0);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_that_cannot_start_within_3_s_is_answered_unavailable_and_never_runs() {
    let app = TestApp::start(&[]).await;
    if app.is_postgres() {
        return; // SQLite files only
    }
    let db = app.state_db.clone();
    let occupied = tokio::spawn(async move { db.write_unit(Occupy(Duration::from_secs(4))).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let asked = Instant::now();
    let late = InsertThen {
        nickname: "late",
        then: Then::Commit,
    };
    let error = app.state_db.write_unit(late).await.unwrap_err();
    let waited = asked.elapsed();
    assert!(is_unavailable(&error), "a 503, as for a pool: {error}");
    assert!(
        waited >= Duration::from_millis(2_900) && waited < Duration::from_millis(3_700),
        "the pools' 3 s: {waited:?}"
    );

    occupied
        .await
        .unwrap()
        .expect("a unit that started finishes");
    let next = InsertThen {
        nickname: "next",
        then: Then::Commit,
    };
    app.state_db.write_unit(next).await.unwrap();
    assert_eq!(users_named(&app, "late").await, 0, "given up, so never run");
    assert_eq!(users_named(&app, "next").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_statement_reports_the_rows_it_changed() {
    let app = TestApp::start(&[]).await;
    app.execute(
        "INSERT INTO sessions (id, data, expires_at) VALUES ('a', '{}', 1), ('b', '{}', 1)",
    )
    .await;
    let delete = sea_orm::sea_query::Query::delete()
        .from_table(sea_orm::sea_query::Alias::new("sessions"))
        .to_owned();
    assert_eq!(app.state_db.write_unit(Execute(delete)).await.unwrap(), 2);
}

/// `2026-12-07T12:00:00.123456Z`, as sqlx writes an `OffsetDateTime` (RFC 3339); rusqlite
/// on its own would write `2026-12-07 12:00:00.123456+00:00`.
fn spelled_as_sqlx_spells_it(text: &str) -> bool {
    let (date, time) = text.split_once('T').unwrap_or_default();
    date.len() == 10
        && time.ends_with('Z')
        && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn times_written_by_either_connection_are_spelled_alike() {
    let app = TestApp::start(&[]).await;
    let mut browser = app.browser();
    // The sign-in's transaction runs on the writer (on a SQLite file).
    app.sign_in_with_demo(&mut browser, "Spelled", true).await;
    let user_id = app.scalar("SELECT CAST(id AS BIGINT) FROM users").await as i32;
    // An event through the async writing connection, as account changes write them.
    account_events::record(
        &app.state_db.write,
        user_id,
        EventKind::NicknameChanged,
        None,
        None,
    )
    .await
    .unwrap();
    if app.is_postgres() {
        return; // timestamp columns: no spelling to compare
    }

    let mut times = app
        .rows("SELECT created_at FROM users UNION ALL SELECT last_login_at FROM users")
        .await;
    times.extend(
        app.rows("SELECT created_at FROM identities UNION ALL SELECT last_used_at FROM identities")
            .await,
    );
    let events = app.rows("SELECT at FROM account_events ORDER BY id").await;
    assert_eq!(events.len(), 2, "the sign-in's and the nickname's");
    times.extend(events.iter().cloned());
    for time in &times {
        assert!(spelled_as_sqlx_spells_it(time), "{time:?}");
    }
    assert!(events[0] <= events[1], "they sort as times: {events:?}");
}
