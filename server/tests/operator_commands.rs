//! `server users …` and `server sessions …`: the operators' commands, run as the binary on
//! the database of a running app.

mod support;

use std::process::Output;

use support::{
    fake_provider::{FakeProvider, UserinfoMode},
    Browser, TestApp,
};

/// Runs `server <args>` on `app`'s database (and with its GitHub configuration, so that
/// providers have their labels).
fn server(app: &TestApp, fake: &FakeProvider, args: &[&str]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env_clear()
        .envs(fake.github_env().iter().map(|(k, v)| (*k, v.as_str())))
        .env("DATABASE_URL", app.database().url())
        .env("RUST_LOG", "off")
        .output()
        .expect("runs");
    (
        status.code(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

async fn signed_in(app: &TestApp, name: &str) -> (Browser, i64) {
    let mut browser = app.browser();
    assert_eq!(
        app.sign_in_with_demo(&mut browser, name, false)
            .await
            .status(),
        302
    );
    let id = app.me(&mut browser).await.unwrap()["id"].as_i64().unwrap();
    (browser, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_list_show_revoke_and_delete_users() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(serde_json::json!({
        "login": "octocat", "id": 583231, "name": "The Octocat", "email": null
    })));
    let mut env = fake.github_env();
    env.push(("SIGN_IN_RATE_LIMIT_BURST", "0".into()));
    let app = TestApp::start_owned(&env).await;
    let (mut ann, ann_id) = signed_in(&app, "Ann Archer").await;
    let (mut bob, bob_id) = signed_in(&app, "Bob Brown").await;

    let (code, out, _) = server(&app, &fake, &["users", "list"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ID  NICKNAME"), "{out}");
    assert!(
        out.contains("Ann Archer") && out.contains("Bob Brown"),
        "{out}"
    );
    assert!(out.contains("2 user(s)"), "{out}");

    let (code, out, _) = server(&app, &fake, &["users", "list", "--search", "ARCHER"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("Ann Archer") && !out.contains("Bob Brown"),
        "{out}"
    );
    assert!(out.contains("1 user(s)"), "{out}");

    let (code, out, _) = server(&app, &fake, &["users", "show", &ann_id.to_string()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("User {ann_id}: Ann Archer")), "{out}");
    assert!(
        out.contains("Demo") && out.contains("self_asserted"),
        "{out}"
    );
    assert!(
        out.contains("Sessions") && out.contains("127.0.0.0/24"),
        "{out}"
    );
    assert!(out.contains("Signed in with Demo"), "{out}");
    assert!(!out
        .to_lowercase()
        .contains(&ann.session_cookie().unwrap().to_lowercase()));

    let (code, out, _) = server(
        &app,
        &fake,
        &["sessions", "revoke", "--user", &ann_id.to_string()],
    );
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("Signed out 1 session(s) of user {ann_id}.\n"));
    assert!(app.me(&mut ann).await.is_none(), "signed out everywhere");
    assert!(app.me(&mut bob).await.is_some());

    let (code, out, _) = server(&app, &fake, &["users", "delete", &bob_id.to_string()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(app.me(&mut bob).await.is_none());
    assert_eq!(app.count("users").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM identities WHERE user_id = {bob_id}"
        ))
        .await,
        0
    );

    // Clear exit codes for what went wrong.
    let (code, _, err) = server(&app, &fake, &["users", "show", &bob_id.to_string()]);
    assert_eq!(code, Some(1));
    assert_eq!(err.trim(), "no such user");
    let (code, _, err) = server(&app, &fake, &["users", "delete", "nobody"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("\"nobody\" is not a user id"), "{err}");
    let (code, _, err) = server(&app, &fake, &["users", "frobnicate"]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("usage:"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_of_the_live_database_holds_its_users_and_never_overwrites() {
    let fake = FakeProvider::start().await;
    let mut env = fake.github_env();
    env.push(("SIGN_IN_RATE_LIMIT_BURST", "0".into()));
    let app = TestApp::start_owned(&env).await;
    let (mut ann, _) = signed_in(&app, "Ann Archer").await;
    let dir = support::TempDir::new();
    let copy = dir.path().join("backup.db");
    let copy_arg = copy.to_str().unwrap();

    let (code, out, err) = server(&app, &fake, &["backup", copy_arg]);
    if app.is_postgres() {
        // PostgreSQL is backed up with its own tool; nothing is written.
        assert_eq!(code, Some(2), "{out}{err}");
        assert!(err.contains("pg_dump"), "{err}");
        assert!(!copy.exists());
        return;
    }
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("1 user(s)") && out.contains("integrity check ok"),
        "{out}"
    );
    // The live database keeps serving while and after it is copied.
    assert!(app.me(&mut ann).await.is_some());

    // The copy is a database the server opens: the user is in it.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["users", "list"])
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{copy_arg}"))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("Ann Archer") && listed.contains("1 user(s)"),
        "{listed}"
    );

    // An existing file is never overwritten, and a mistyped database is not created.
    let before = std::fs::metadata(&copy).unwrap().len();
    let (code, _, err) = server(&app, &fake, &["backup", copy_arg]);
    assert_eq!(code, Some(2));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), before);
    let missing = dir.path().join("no-such.db");
    let other = dir.path().join("other.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["backup", other.to_str().unwrap()])
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", missing.display()),
        )
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!missing.exists() && !other.exists());
    let (code, _, err) = server(&app, &fake, &["backup"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("usage: server backup <file>"), "{err}");
}
