//! Operators' commands on the server's own `DATABASE_URL`:
//!
//! ```text
//! server users list [--search TEXT]
//! server users show <id>
//! server users delete <id>
//! server sessions revoke --user <id>
//! server tokens reencrypt
//! ```
//!
//! Exit codes: 0 done, 1 no such user, 2 a mistake in the command, 3 the database failed.

use std::fmt::Write as _;
use std::process::ExitCode;

use app::backend::db::{
    self, account_events, accounts,
    entities::{identities, prelude::*, users},
    Db,
};
use app::backend::provider_tokens::keys::TokenKeys;
use app::backend::{accounts::device, accounts::times::format_time, config::Config};
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func},
    Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

const USAGE: &str = "usage:
  server users list [--search TEXT]
  server users show <id>
  server users delete <id>
  server sessions revoke --user <id>
  server tokens reencrypt";

/// Whether `args` (after the program's name) name an operator's command.
pub fn is_command(args: &[String]) -> bool {
    matches!(
        args.first().map(String::as_str),
        Some("users" | "sessions" | "tokens")
    )
}

#[derive(Debug)]
enum Command {
    List {
        search: Option<String>,
    },
    Show {
        user_id: i32,
    },
    Delete {
        user_id: i32,
    },
    RevokeSessions {
        user_id: i32,
    },
    /// Seal every kept provider token with the current key.
    Reencrypt,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = |text: &str| {
        text.parse::<i32>()
            .map_err(|_| format!("{text:?} is not a user id (a number)"))
    };
    match words.as_slice() {
        ["users", "list"] => Ok(Command::List { search: None }),
        ["users", "list", "--search", text] => Ok(Command::List {
            search: Some((*text).to_owned()),
        }),
        ["users", "show", user] => Ok(Command::Show { user_id: id(user)? }),
        ["users", "delete", user] => Ok(Command::Delete { user_id: id(user)? }),
        ["sessions", "revoke", "--user", user] => {
            Ok(Command::RevokeSessions { user_id: id(user)? })
        }
        ["tokens", "reencrypt"] => Ok(Command::Reencrypt),
        _ => Err(USAGE.to_owned()),
    }
}

/// Runs the command, printing its answer; the process's exit code.
pub async fn run(args: &[String], config: &Config) -> ExitCode {
    let command = match parse(args) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("{problem}");
            return ExitCode::from(2);
        }
    };
    let db =
        match db::connect_and_migrate(config.database_url.expose(), config.database_tuning).await {
            Ok(db) => db,
            Err(err) => {
                eprintln!("could not open the database (DATABASE_URL): {err}");
                return ExitCode::from(3);
            }
        };
    let outcome = match command {
        Command::List { search } => list(&db, search.as_deref()).await.map(Some),
        Command::Show { user_id } => show(&db, config, user_id).await,
        Command::Delete { user_id } => accounts::delete_user(&db, user_id).await.map(|deleted| {
            deleted
                .then(|| format!("Deleted user {user_id}, their sign-in methods and sessions.\n"))
        }),
        Command::RevokeSessions { user_id } => revoke(&db, user_id).await,
        Command::Reencrypt => match app::backend::provider_tokens::keys_for(config) {
            Ok(keys) => reencrypt(&db, &keys).await.map(Some),
            Err(problem) => {
                eprintln!("{problem}");
                return ExitCode::from(2);
            }
        },
    };
    match outcome {
        Ok(Some(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("no such user");
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("database error: {err}");
            ExitCode::from(3)
        }
    }
}

/// Lines of columns padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out += &line(row.clone());
    }
    out
}

fn or_dash(text: Option<String>) -> String {
    text.unwrap_or_else(|| "-".to_owned())
}

async fn list(db: &Db, search: Option<&str>) -> Result<String, DbErr> {
    let mut query = Users::find().order_by_asc(users::Column::Id);
    if let Some(search) = search {
        let pattern = format!("%{}%", search.to_lowercase());
        let lower = |column: Expr| Expr::expr(Func::lower(column));
        let by_identity = Identities::find()
            .select_only()
            .column(identities::Column::UserId)
            .filter(
                Condition::any()
                    .add(lower(Expr::col(identities::Column::Email)).like(&pattern))
                    .add(lower(Expr::col(identities::Column::Name)).like(&pattern)),
            )
            .into_query();
        query = query.filter(
            Condition::any()
                // Qualified: the listing joins the identities, which have an `email` too.
                .add(lower(Expr::col((Users, users::Column::Nickname))).like(&pattern))
                .add(lower(Expr::col((Users, users::Column::Email))).like(&pattern))
                .add(Expr::col((Users, users::Column::Id)).in_subquery(by_identity)),
        );
    }
    let rows = query.find_with_related(Identities).all(&db.read).await?;
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(user, identities)| {
            let methods: Vec<String> = identities.iter().map(|i| i.provider.clone()).collect();
            let last_sign_in = identities
                .iter()
                .filter_map(|identity| identity.last_used_at)
                .max()
                .unwrap_or(user.last_login_at);
            vec![
                user.id.to_string(),
                user.nickname,
                or_dash(user.email),
                methods.join(","),
                format_time(user.created_at),
                format_time(last_sign_in),
            ]
        })
        .collect();
    let count = cells.len();
    Ok(table(
        &[
            "ID",
            "NICKNAME",
            "EMAIL",
            "METHODS",
            "CREATED",
            "LAST SIGN-IN",
        ],
        &cells,
    ) + &format!("{count} user(s)\n"))
}

async fn show(db: &Db, config: &Config, user_id: i32) -> Result<Option<String>, DbErr> {
    let label = |name: &str| config.provider_label(name);
    let Some(user) = db::users::find_current_user(&db.read, user_id, label).await? else {
        return Ok(None);
    };
    let mut out = String::new();
    let _ = writeln!(out, "User {}: {}", user.id, user.nickname);
    let _ = writeln!(out, "Primary email: {}\n", or_dash(user.email.clone()));
    let _ = writeln!(out, "Sign-in methods");
    let identities: Vec<Vec<String>> = user
        .identities
        .iter()
        .map(|identity| {
            vec![
                identity.id.to_string(),
                identity.label.clone(),
                identity.issuer.clone(),
                identity.subject.clone(),
                or_dash(identity.email.clone()),
                identity.email_status.as_str().to_owned(),
                app::models::format_unix_date(identity.linked_at),
            ]
        })
        .collect();
    out += &table(
        &[
            "ID", "PROVIDER", "ISSUER", "SUBJECT", "EMAIL", "EMAIL IS", "LINKED",
        ],
        &identities,
    );
    let _ = writeln!(out, "\nSessions");
    let sessions: Vec<Vec<String>> = accounts::sessions_of(&db.read, user_id)
        .await?
        .into_iter()
        .map(|session| {
            let at = |unix: Option<i64>| {
                unix.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                    .map(format_time)
                    .unwrap_or_else(|| "-".into())
            };
            vec![
                device::describe(session.user_agent.as_deref()),
                or_dash(session.network),
                at(session.signed_in_at),
                at(session.last_seen_at),
            ]
        })
        .collect();
    out += &table(
        &["DEVICE", "NETWORK", "SIGNED IN", "LAST ACTIVE"],
        &sessions,
    );
    let _ = writeln!(out, "\nRecent activity");
    let events: Vec<Vec<String>> = account_events::recent(&db.read, user_id)
        .await?
        .into_iter()
        .map(|event| {
            let provider = event
                .detail
                .as_deref()
                .map(|name| config.provider_label(name).unwrap_or(name.to_owned()));
            vec![
                format_time(event.at),
                event.kind.describe(provider.as_deref()),
                or_dash(event.network),
            ]
        })
        .collect();
    out += &table(&["AT", "EVENT", "NETWORK"], &events);
    Ok(Some(out))
}

async fn revoke(db: &Db, user_id: i32) -> Result<Option<String>, DbErr> {
    if Users::find_by_id(user_id).all(&db.read).await?.is_empty() {
        return Ok(None);
    }
    let ended = accounts::end_all_sessions(db, user_id).await?;
    Ok(Some(format!(
        "Signed out {ended} session(s) of user {user_id}.\n"
    )))
}

/// Moves every kept provider token to `TOKEN_ENCRYPTION_KEY`, after which
/// `TOKEN_ENCRYPTION_KEY_PREVIOUS` can go.
async fn reencrypt(db: &Db, keys: &TokenKeys) -> Result<String, DbErr> {
    let done = db::provider_tokens::reencrypt(db, keys).await?;
    let mut text = format!(
        "Sealed {} identities' tokens with key {} ({} had it already).\n",
        done.moved,
        keys.current().id(),
        done.current_already
    );
    if done.unreadable > 0 {
        let _ = writeln!(
            text,
            "{} open with neither key and were left as they are: their people sign in \
             again to renew them.",
            done.unreadable
        );
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn commands_parse_and_mistakes_get_the_usage() {
        assert!(matches!(
            parse(&args("users list")),
            Ok(Command::List { search: None })
        ));
        assert!(matches!(
            parse(&args("users list --search ann")),
            Ok(Command::List { search: Some(s) }) if s == "ann"
        ));
        assert!(matches!(
            parse(&args("users show 7")),
            Ok(Command::Show { user_id: 7 })
        ));
        assert!(matches!(
            parse(&args("sessions revoke --user 3")),
            Ok(Command::RevokeSessions { user_id: 3 })
        ));
        assert!(parse(&args("users show seven"))
            .unwrap_err()
            .contains("not a user id"));
        assert!(parse(&args("users frobnicate"))
            .unwrap_err()
            .starts_with("usage:"));
        assert!(is_command(&args("users list")) && !is_command(&args("doctor")));
    }

    #[test]
    fn tables_line_up() {
        let text = table(
            &["ID", "NAME"],
            &[
                vec!["1".into(), "Ann".into()],
                vec!["10".into(), "Bo".into()],
            ],
        );
        assert_eq!(text, "ID  NAME\n1   Ann\n10  Bo\n");
    }
}
