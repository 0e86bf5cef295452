//! An identity is who vouches for it (the issuer) and the subject: renaming a provider's
//! variables keeps everyone's account, pointing them at another issuer never signs anyone
//! into an old account, and rows from before accounts are given their issuer at start-up.

mod support;

use support::{
    database::TestDatabase,
    fake_issuer::{FakeIssuer, SUBJECT},
    issuer_flow, TestApp,
};

fn owned(vars: Vec<(String, String)>) -> Vec<(&'static str, String)> {
    vars.into_iter()
        .map(|(k, v)| (&*Box::leak(k.into_boxed_str()), v))
        .collect()
}

async fn user_id(app: &TestApp, browser: &mut support::Browser) -> i64 {
    app.me(browser).await.expect("signed in")["id"]
        .as_i64()
        .unwrap()
}

/// Signs in with `name` at `issuer`, on a fresh app over `database`.
async fn sign_in_as(database: &TestDatabase, issuer: &FakeIssuer, name: &str) -> (TestApp, i64) {
    let vars = owned(issuer.env_named(name));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start_on(database, None, &vars).await;
    let mut browser = app.browser();
    let callback = issuer_flow::answer_of(&app, issuer, &mut browser, name).await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let id = user_id(&app, &mut browser).await;
    (app, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn renaming_a_providers_variables_keeps_everyones_account() {
    let issuer = FakeIssuer::start().await;
    let database = TestDatabase::new().await;
    let (_, as_corp) = sign_in_as(&database, &issuer, "corp").await;
    let (app, as_staff) = sign_in_as(&database, &issuer, "staff").await;
    assert_eq!(
        as_staff, as_corp,
        "the same person, whatever the variables are called"
    );
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("identities").await, 1);
    assert_eq!(
        app.text("SELECT provider FROM identities").await.as_deref(),
        Some("staff"),
        "the identity follows the renamed configuration"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_issuer_with_the_same_subject_is_another_person() {
    let (first, second) = (FakeIssuer::start().await, FakeIssuer::start().await);
    // Someone else there: another (verified) address, so only the subject collides.
    second.set_userinfo(Some(serde_json::json!({
        "sub": SUBJECT, "name": "Someone Else",
        "email": "someone.else@other.example", "email_verified": true
    })));
    let database = TestDatabase::new().await;
    let (_, at_first) = sign_in_as(&database, &first, "corp").await;
    // `OAUTH_CORP_ISSUER` now points elsewhere; that issuer has a person with the same `sub`.
    let (app, at_second) = sign_in_as(&database, &second, "corp").await;
    assert_ne!(at_second, at_first);
    assert_eq!(app.count("users").await, 2);
    let issuers = app.rows("SELECT issuer FROM identities ORDER BY id").await;
    assert_eq!(issuers.len(), 2);
    assert_ne!(issuers[0], issuers[1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn identities_from_before_accounts_keep_their_user_and_get_their_issuer() {
    use app::backend::db::migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database};

    let issuer = FakeIssuer::start().await;
    let database = TestDatabase::new().await;
    let db = Database::connect(database.url()).await.unwrap();
    Migrator::up(&db, Some(7)).await.unwrap();
    let statements = [
        "INSERT INTO users (nickname, email, avatar_url, created_at, last_login_at) VALUES \
         ('Old Timer', 'old@corp.example', 'https://img.example/o.png', \
          '2026-01-01 00:00:00+00:00', '2026-02-01 00:00:00+00:00')"
            .to_owned(),
        format!(
            "INSERT INTO identities (user_id, provider, provider_user_id, social_id, created_at) \
             VALUES (1, 'corp', '{SUBJECT}', 'corp${SUBJECT}', '2026-01-01 00:00:00+00:00'), \
             (1, 'gone', 'x1', 'gone$x1', '2026-01-01 00:00:00+00:00')"
        ),
        "INSERT INTO sessions (id, data, expires_at) VALUES ('stored-key', \
         '{\"auth.user_id\":1,\"auth.signed_in\":{\"remember\":true,\"at\":1796000000}}', 9999999999)"
            .to_owned(),
    ];
    for statement in statements {
        db.execute_unprepared(&statement).await.unwrap();
    }
    drop(db);

    let (app, id) = sign_in_as(&database, &issuer, "corp").await;
    assert_eq!(id, 1, "the old account");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(
        app.rows("SELECT social_id FROM identities ORDER BY id")
            .await,
        [
            format!("{} {SUBJECT}", issuer.base_url),
            "gone$x1".to_owned()
        ],
        "keyed by issuer and subject; a provider no longer configured waits"
    );
    assert_eq!(
        app.text("SELECT email FROM identities WHERE provider = 'gone'")
            .await
            .as_deref(),
        Some("old@corp.example"),
        "the user's address moved to the identities, unverified"
    );
    assert_eq!(
        app.text("SELECT email_status FROM identities WHERE provider = 'gone'")
            .await
            .as_deref(),
        Some("unverified")
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE id = 'stored-key' AND user_id = 1")
            .await,
        1,
        "signed-in sessions know their user"
    );
}
