//! Test harness: the whole app on an ephemeral 127.0.0.1 port with a fresh database (a
//! SQLite file, or a PostgreSQL database with `TEST_DATABASE=postgres`), and a minimal
//! cookie-keeping "browser" that never follows redirects by itself.

#![allow(dead_code)]

pub mod at_rest;
pub mod browser;
pub mod database;
pub mod fake_issuer;
pub mod fake_provider;
pub mod haproxy;
pub mod issuer_flow;
pub mod log_capture;
pub mod server_process;
pub mod tcp_relay;

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use app::backend::{config::Config, state::AppState};
use leptos::config::LeptosOptions;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tokio::{net::TcpListener, task::JoinHandle};

pub use browser::Browser;
pub use database::TestDatabase;

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("social-signin-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestApp {
    pub base_url: String,
    /// The app's writing connection (on PostgreSQL its one pool).
    pub db: DatabaseConnection,
    /// Both of the app's connections, as its code uses them.
    pub state_db: app::backend::db::Db,
    /// What the app's handlers see.
    pub state: AppState,
    server: JoinHandle<()>,
    /// Declared last: dropped after the server stops.
    database: Option<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// Starts the app with the default configuration plus `vars`.
    pub async fn start(vars: &[(&str, &str)]) -> TestApp {
        let database = TestDatabase::new().await;
        let mut app = Self::start_on(&database, None, vars).await;
        app.database = Some(database);
        app
    }

    /// Starts the app with the default configuration plus `vars` as a stand-in's `*_env()`
    /// gives them.
    pub async fn start_owned(vars: &[(&str, String)]) -> TestApp {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Self::start(&vars).await
    }

    /// Starts the app with configuration that depends on its own base URL (to point a
    /// provider at the built-in demo provider).
    pub async fn start_with_env(vars: impl FnOnce(&str) -> Vec<(String, String)>) -> TestApp {
        let database = TestDatabase::new().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let vars = vars(&base_url);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut app = Self::start_listening(listener, database.url(), &vars).await;
        app.database = Some(database);
        app
    }

    /// Starts the app on an existing database and, optionally, a fixed address (to play a
    /// restart, or a second instance sharing the database).
    pub async fn start_on(
        database: &TestDatabase,
        addr: Option<SocketAddr>,
        vars: &[(&str, &str)],
    ) -> TestApp {
        let listener = TcpListener::bind(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))
            .await
            .expect("bind");
        Self::start_listening(listener, database.url(), vars).await
    }

    async fn start_listening(
        listener: TcpListener,
        database_url: &str,
        vars: &[(&str, &str)],
    ) -> TestApp {
        // TEST_LOG=debug shows the app's logs, to debug a test.
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
        }
        let addr = listener.local_addr().unwrap();
        let base_url = format!("http://{addr}");
        let mut env: HashMap<String, String> = HashMap::from([
            ("PUBLIC_URL".into(), base_url.clone()),
            ("DATABASE_URL".into(), database_url.to_owned()),
            // As every instance of a deployment shares one (tests may name their own).
            (
                "SECRET_KEY".into(),
                "the tests' shared secret key, 32+ bytes".into(),
            ),
        ]);
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_vars(env).expect("test config");
        let leptos_options = LeptosOptions::builder()
            .output_name("social-signin")
            .site_root("target/site")
            .site_addr(addr)
            .build();
        let state: AppState = server::build_state(config, leptos_options)
            .await
            .expect("state");
        // The writing connection: tests also change rows to play time passing.
        let db = state.db.write.clone();
        let state_db = state.db.clone();
        let router = server::app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        TestApp {
            base_url,
            db,
            state_db,
            state,
            server,
            database: None,
        }
    }

    pub fn database(&self) -> &TestDatabase {
        self.database
            .as_ref()
            .expect("started with a database of its own")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn addr(&self) -> SocketAddr {
        self.base_url.trim_start_matches("http://").parse().unwrap()
    }

    /// Discovers every OpenID Connect issuer in the background, as the server does once it
    /// listens (tests otherwise discover on first use).
    pub fn discover_issuers_as_at_start_up(&self) {
        app::backend::oauth::protocol::discover_issuers_in_background(
            &self.state.config,
            &self.state.http,
        );
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base_url)
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get_by_index::<i64>(0).expect("integer")
    }

    pub async fn execute(&self, sql: &str) {
        self.db
            .execute_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("statement");
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres
    }

    /// Rewrites every session's data through `edit` (plays time passing, or tampering).
    /// The first column of every row `sql` selects, as text.
    pub async fn rows(&self, sql: &str) -> Vec<String> {
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query");
        rows.iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("text"))
            .collect()
    }

    pub async fn edit_sessions(&self, edit: impl Fn(&mut serde_json::Value)) {
        use app::backend::db::entities::sessions;
        use sea_orm::EntityTrait;
        for row in sessions::Entity::find()
            .all(&self.db)
            .await
            .expect("sessions")
        {
            let mut data: serde_json::Value = serde_json::from_str(&row.data).unwrap();
            edit(&mut data);
            let mut row: sessions::ActiveModel = row.into();
            row.data = sea_orm::Set(data.to_string());
            sea_orm::ActiveModelTrait::update(row, &self.db)
                .await
                .expect("session update");
        }
    }

    /// Changes the sign-in in progress that `browser`'s cookie holds, as only the app
    /// itself (holding `SECRET_KEY`) can: to play time passing.
    pub fn edit_pending_sign_in(
        &self,
        browser: &mut Browser,
        edit: impl FnOnce(&mut app::backend::pending_sign_in::PendingSignIn),
    ) {
        let mut headers = http::HeaderMap::new();
        let cookie = format!("signin={}", browser.cookies["signin"]);
        headers.insert(http::header::COOKIE, cookie.parse().unwrap());
        let mut pending = self
            .state
            .pending_cookie
            .open(&headers)
            .expect("a pending sign-in");
        edit(&mut pending);
        let sealed = self.state.pending_cookie.seal(&pending);
        let (_, value) = sealed
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap();
        browser.cookies.insert("signin".into(), value.to_owned());
    }

    /// Makes every insert into `table` fail inside the database, as a broken disk or a
    /// violated constraint would.
    pub async fn fail_inserts_into(&self, table: &str) {
        self.fail_writes_to(table, "INSERT").await;
    }

    /// Makes every `operation` (`INSERT`, `UPDATE`, `DELETE`) on `table` fail inside the
    /// database.
    pub async fn fail_writes_to(&self, table: &str, operation: &str) {
        let trigger = format!("fail_{operation}_{table}").to_lowercase();
        if self.is_postgres() {
            self.execute(
                "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            )
            .await;
            self.execute(&format!(
                "CREATE TRIGGER {trigger} BEFORE {operation} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION injected_failure()"
            ))
            .await;
        } else {
            self.execute(&format!(
                "CREATE TRIGGER {trigger} BEFORE {operation} ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ))
            .await;
        }
    }

    pub async fn text(&self, sql: &str) -> Option<String> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query")?;
        row.try_get_by_index::<Option<String>>(0).expect("text")
    }

    /// Signs in through the built-in demo provider as `name`, the way a browser would:
    /// authorize -> consent page -> Allow -> callback. Returns the callback's response.
    pub async fn sign_in_with_demo(
        &self,
        browser: &mut Browser,
        name: &str,
        remember: bool,
    ) -> reqwest::Response {
        let query = if remember { "?remember=on" } else { "" };
        let callback_url = self
            .consent(browser, "demo", query, name, "", "allow")
            .await;
        browser.get(&callback_url).await
    }

    /// `GET /authorize/{provider}{query}`, which must redirect to the provider; returns the
    /// `state` the provider was sent.
    pub async fn start_sign_in(
        &self,
        browser: &mut Browser,
        provider: &str,
        query: &str,
    ) -> String {
        let start = browser
            .get(&self.url(&format!("/authorize/{provider}{query}")))
            .await;
        assert_eq!(start.status(), 302, "authorize redirects to the provider");
        query_param(&location(&start), "state").expect("a state for the provider")
    }

    /// Walks from `/authorize/{provider}{query}` through the demo provider's consent page,
    /// submitting `decision`; returns the callback URL the provider redirected to.
    pub async fn consent(
        &self,
        browser: &mut Browser,
        provider: &str,
        query: &str,
        name: &str,
        email: &str,
        decision: &str,
    ) -> String {
        let choice = Consent {
            name,
            email,
            decision,
        };
        consent_at(&self.base_url, browser, provider, query, choice).await
    }

    /// `GET /api/me` as this browser: the JSON when signed in, `None` on 401.
    pub async fn me(&self, browser: &mut Browser) -> Option<serde_json::Value> {
        let response = browser.get(&self.url("/api/me")).await;
        match response.status().as_u16() {
            200 => Some(response.json().await.unwrap()),
            401 => None,
            other => panic!("/api/me answered {other}"),
        }
    }
}

/// Configuration pointing the app's Twitter provider at the built-in provider's OAuth 1.0a
/// endpoints on `base`, registered there as `consumer_key`/`consumer_secret`.
pub fn local_twitter_env(
    base: &str,
    consumer_key: &str,
    consumer_secret: &str,
    app_secret: &str,
) -> Vec<(String, String)> {
    let oauth1 = format!("{base}/demo-provider/oauth1");
    vec![
        (
            "DEMO_PROVIDER_CLIENTS".into(),
            format!("{consumer_key}:{consumer_secret}"),
        ),
        ("OAUTH_TWITTER_CLIENT_ID".into(), consumer_key.into()),
        ("OAUTH_TWITTER_CLIENT_SECRET".into(), app_secret.into()),
        (
            "OAUTH_TWITTER_REQUEST_TOKEN_URL".into(),
            format!("{oauth1}/request_token"),
        ),
        (
            "OAUTH_TWITTER_AUTHORIZE_URL".into(),
            format!("{oauth1}/authenticate"),
        ),
        (
            "OAUTH_TWITTER_ACCESS_TOKEN_URL".into(),
            format!("{oauth1}/access_token"),
        ),
        (
            "OAUTH_TWITTER_USERINFO_URL".into(),
            format!("{oauth1}/verify_credentials.json"),
        ),
    ]
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A Set-Cookie header's `Max-Age`, in seconds.
pub fn max_age(set_cookie: &str) -> Option<i64> {
    set_cookie
        .split(';')
        .find_map(|attribute| attribute.trim().strip_prefix("Max-Age="))
        .map(|value| value.parse().expect("a number"))
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What a person fills in on the demo provider's consent page.
pub struct Consent<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub decision: &'a str,
}

/// [`TestApp::consent`] against the app at `base_url`, for tasks that cannot borrow the app.
pub async fn consent_at(
    base_url: &str,
    browser: &mut Browser,
    provider: &str,
    query: &str,
    choice: Consent<'_>,
) -> String {
    let start = browser
        .get(&format!("{base_url}/authorize/{provider}{query}"))
        .await;
    assert_eq!(start.status(), 302, "authorize redirects to the provider");
    let authorize_url = location(&start);
    let consent = browser.get(&authorize_url).await;
    assert_eq!(consent.status(), 200, "consent page");
    let body = consent.text().await.unwrap();
    assert!(
        body.contains("Allow") && body.contains("Deny"),
        "consent page shows choices"
    );
    // The consent form carries the authorization request in hidden fields.
    let mut form: Vec<(String, String)> = url::Url::parse(&authorize_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    form.push(("name".into(), choice.name.into()));
    form.push(("email".into(), choice.email.into()));
    form.push(("decision".into(), choice.decision.into()));
    let decided = browser
        .post_form(&format!("{base_url}/demo-provider/authorize"), &form)
        .await;
    assert_eq!(decided.status(), 302, "consent redirects back to the app");
    location(&decided)
}
