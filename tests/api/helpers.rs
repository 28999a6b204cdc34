//! The test harness: a real server on port 0 with a fresh database, spoken to over HTTP.
//!
//! Every test runs against SQLite, and against PostgreSQL when `MOVIEBAG_TEST_POSTGRES_URL`
//! names a server; each test gets its own database, dropped when the test ends.

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use movie_bag::config::Settings;
use movie_bag::domain::Role;
use movie_bag::startup::Application;
use movie_bag::state::SharedState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

/// The signing key every test server uses, so tests can forge tokens with other keys.
pub const TEST_JWT_KEY: &str = "2lrFUpwG+h8UE6SxGLn3XZWVQMeCbF+grlzInIEzBVxzC4CU+CaheoK1EBiYo0/r";
pub const PASSWORD: &str = "correct horse battery";

/// Declares each test once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block )*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $backend = $crate::helpers::Backend::Sqlite;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($backend) = $crate::helpers::Backend::postgres() else { return };
                $body
            }
        }
    )*};
}

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The admin URL of a PostgreSQL server; each test creates a database on it.
    Postgres(String),
}

impl Backend {
    /// `None` (with a printed reason) when no PostgreSQL server is configured. With
    /// `MOVIEBAG_REQUIRE_POSTGRES=1` (CI sets it) a PostgreSQL test that cannot run fails
    /// instead: a skipped variant prints `... ok` like one that ran.
    pub fn postgres() -> Option<Self> {
        match std::env::var("MOVIEBAG_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Self::Postgres(url)),
            _ if std::env::var("MOVIEBAG_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!(
                    "MOVIEBAG_REQUIRE_POSTGRES=1 but MOVIEBAG_TEST_POSTGRES_URL is not set: this PostgreSQL test cannot run"
                )
            }
            _ => {
                static SAID: Once = Once::new();
                SAID.call_once(|| {
                    eprintln!("skipping PostgreSQL tests: MOVIEBAG_TEST_POSTGRES_URL is not set");
                });
                None
            }
        }
    }
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

/// What runs that failed or were killed leave behind is swept once older than this: no test
/// lasts nearly as long, so a concurrently running suite's databases and folders are never taken.
const LEFT_BEHIND_AFTER: Duration = Duration::from_secs(3600);

/// The temp-folder prefixes of the tests' scratch files and folders.
const SCRATCH_PREFIXES: [&str; 7] = [
    "movie-bag-test-",
    "movie-bag-log-",
    "movie-bag-security-log-",
    "movie-bag-backup-",
    "movie-bag-import-",
    "movie-bag-process-",
    "movie-bag-cli-",
];

/// Removes the tests' scratch files and folders last modified over [`LEFT_BEHIND_AFTER`] ago;
/// returns how many.
pub fn sweep_scratch(dir: &std::path::Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !SCRATCH_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) {
            continue;
        }
        let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if age.is_none_or(|age| age < older_than) {
            continue;
        }
        let path = entry.path();
        let gone = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed += usize::from(gone.is_ok());
    }
    removed
}

/// Drops the databases whose name is `LIKE` `pattern` created over `older_than` ago (their
/// `PG_VERSION` file is written at creation); returns their names.
pub async fn sweep_databases(admin_url: &str, pattern: &str, older_than: Duration) -> Vec<String> {
    let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await else { return Vec::new() };
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 \
         AND (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - make_interval(secs => $2)",
    )
    .bind(pattern)
    .bind(older_than.as_secs_f64())
    .fetch_all(&mut admin)
    .await
    .unwrap_or_default();
    let mut dropped = Vec::new();
    for name in old {
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        if sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.is_ok() {
            dropped.push(name);
        }
    }
    dropped
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> Self {
        static SCRATCH_SWEPT: Once = Once::new();
        SCRATCH_SWEPT.call_once(|| {
            sweep_scratch(&std::env::temp_dir(), LEFT_BEHIND_AFTER);
        });
        if let Backend::Postgres(admin_url) = backend {
            static DATABASES_SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
            DATABASES_SWEPT
                .get_or_init(|| async {
                    sweep_databases(admin_url, r"moviebag\_test\_%", LEFT_BEHIND_AFTER).await;
                })
                .await;
        }
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("movie-bag-test-{unique}"));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}", dir.join("movie-bag.db").display());
                Self { url, cleanup: Cleanup::Directory(dir) }
            }
            Backend::Postgres(admin_url) => {
                let name = format!("moviebag_test_{unique}");
                let mut admin = sqlx::PgConnection::connect(admin_url)
                    .await
                    .expect("MOVIEBAG_TEST_POSTGRES_URL is set but PostgreSQL does not answer");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let url = with_database(admin_url, &name);
                Self { url, cleanup: Cleanup::PostgresDatabase { admin_url: admin_url.clone(), name } }
            }
        }
    }
}

impl TestDatabase {
    /// The one value `sql` selects, read from the database itself: for checking what the API
    /// cannot show (a stored hash, rows a trigger keeps). `sql` is standard SQL both backends
    /// accept, with `$1`, `$2`, ... for `params` (SQLite reads them too).
    pub async fn select_one<T>(&self, sql: &str, params: &[&str]) -> T
    where
        T: rusqlite::types::FromSql
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + Send
            + Unpin,
    {
        match self.url.strip_prefix("sqlite://") {
            Some(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, rusqlite::params_from_iter(params), |row| row.get(0))
                .unwrap(),
            None => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()));
                for param in params {
                    query = query.bind(*param);
                }
                query.fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    /// Runs `sql` (no parameters) on the database itself: for setting up what the API cannot
    /// (time passing, rows aged). `sql` must suit the backend (see [`Self::is_sqlite`]).
    pub async fn execute(&self, sql: &str) {
        match self.url.strip_prefix("sqlite://") {
            Some(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                db.busy_timeout(Duration::from_secs(5)).unwrap();
                db.execute_batch(sql).unwrap();
            }
            None => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
            }
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite://")
    }

    /// The one integer `sql` selects (see [`Self::select_one`]).
    pub async fn select_count(&self, sql: &str) -> i64 {
        self.select_one(sql, &[]).await
    }
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{database}{query}")
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a fresh thread with its own runtime can
                // block on the DROP without stalling it.
                let dropper = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut admin)
                            .await
                            .ok()
                    })
                });
                let _ = dropper.join();
            }
        }
    }
}

/// A user signed up and logged in through the API.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

/// A running server. Dropping it stops the server and removes its database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: SharedState,
    server: tokio::task::JoinHandle<()>,
    // Declared last: dropped after the server task is aborted.
    pub database: std::sync::Arc<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Builds a test server with extra flags.
pub struct TestAppBuilder {
    backend: Backend,
    flags: Vec<String>,
    /// Reach the database through this local port (a relay the test controls).
    via_port: Option<u16>,
}

impl TestAppBuilder {
    pub fn flag(mut self, name: &str, value: &str) -> Self {
        self.flags.push(name.to_owned());
        self.flags.push(value.to_owned());
        self
    }

    /// Connects the server to its (PostgreSQL) database through `127.0.0.1:port`.
    pub fn via_port(mut self, port: u16) -> Self {
        self.via_port = Some(port);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let database = std::sync::Arc::new(TestDatabase::create(&self.backend).await);
        let url = match self.via_port {
            Some(port) => {
                let mut url = reqwest::Url::parse(&database.url).expect("a database URL");
                url.set_host(Some("127.0.0.1")).expect("a host");
                url.set_port(Some(port)).expect("a port");
                url.to_string()
            }
            None => database.url.clone(),
        };
        let mut flags = vec![
            "--port".to_owned(),
            "0".to_owned(),
            "--database-url".to_owned(),
            url,
            "--jwt-secret-key".to_owned(),
            TEST_JWT_KEY.to_owned(),
            "--auth-rate-limit-per-minute".to_owned(),
            "0".to_owned(),
        ];
        flags.extend(self.flags);
        let settings = Settings::from_flags(flags).expect("test flags parse");
        let app = Application::build(settings).await.expect("test server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let server = tokio::spawn(async move {
            let _ = app.run_until(std::future::pending()).await;
        });
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("http client");
        TestApp { address, client, state, server, database }
    }
}

/// A response read whole: status, headers and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error body for `status` and `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.body["status"], status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "body: {}", self.body);
        if status == 401 {
            assert_eq!(self.header("www-authenticate"), Some("Bearer"));
        }
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
    }
}

impl TestApp {
    /// Stops the server and returns its database once nothing of the server uses it: every
    /// connection closed (the SQLite writer joined, its WAL checkpointed) and, on SQLite, the
    /// shared `in-use` lock released, which `movie-bag restore` needs alone.
    pub async fn stop(self) -> std::sync::Arc<TestDatabase> {
        self.state.store.close().await;
        let database = self.database.clone();
        drop(self);
        if let Some(path) = database.url.strip_prefix("sqlite://") {
            // Waits (blocking, on the blocking pool) until the last holder lets go.
            let released = movie_bag::files::lock_beside(
                std::path::Path::new(path),
                movie_bag::store::IN_USE_LOCK,
                movie_bag::files::LockKind::Exclusive,
            );
            let lock = tokio::time::timeout(Duration::from_secs(60), released)
                .await
                .expect("the stopped server still holds its database")
                .expect("the in-use lock");
            drop(lock);
        }
        database
    }

    pub async fn spawn(backend: Backend) -> TestApp {
        Self::builder(backend).spawn().await
    }

    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder { backend, flags: Vec::new(), via_port: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends a request with an optional JSON body and bearer token.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("request reaches the server")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, None, token).await
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.send(Method::POST, path, Some(body), token).await
    }

    pub async fn signup(&self, email: &str, password: &str) -> Reply {
        self.post("/api/auth/signup", json!({"email": email, "password": password}), None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/auth/login", json!({"email": email, "password": password}), None).await
    }

    /// Signs up a fresh user and logs them in.
    pub async fn new_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let signup = self.signup(&email, PASSWORD).await;
        signup.assert_status(200);
        let login = self.login(&email, PASSWORD).await;
        login.assert_status(200);
        TestUser {
            id: signup.body["id"].as_str().expect("id").to_owned(),
            email,
            password: PASSWORD.to_owned(),
            token: login.body["token"].as_str().expect("token").to_owned(),
            refresh_token: login.body["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }

    /// A fresh user made admin the way an operator does it (the store call behind the CLI).
    pub async fn new_admin(&self) -> TestUser {
        let user = self.new_user().await;
        self.state
            .store
            .set_role(&movie_bag::domain::UserId::from_stored(user.id.clone()), Role::Admin)
            .await
            .expect("promote")
            .expect("user exists");
        user
    }

    /// Creates a movie and returns its id.
    pub async fn create_movie(&self, token: &str, name: &str) -> String {
        let reply = self.post("/api/movies", movie_body(name), Some(token)).await;
        reply.assert_status(200);
        reply.body["id"].as_str().expect("movie id").to_owned()
    }

    pub async fn movie(&self, id: &str) -> Reply {
        self.get(&format!("/api/movies/{id}"), None).await
    }

    /// Every movie, read through the API (all pages).
    pub async fn all_movies(&self) -> Vec<Value> {
        self.pages("/api/movies?limit=1000", None).await.concat()
    }

    /// Every page of the listing at `path` (each a JSON array), following `Link: rel="next"`.
    pub async fn pages(&self, path: &str, token: Option<&str>) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut next = Some(path.to_owned());
        while let Some(path) = next {
            let reply = self.get(&path, token).await;
            reply.assert_status(200);
            pages.push(reply.body.as_array().expect("array").clone());
            next = reply.header("link").and_then(next_path);
        }
        pages
    }
}

/// The path inside `Link: <path>; rel="next"`.
pub fn next_path(link: &str) -> Option<String> {
    let start = link.find('<')? + 1;
    let end = link.find('>')?;
    link.contains("rel=\"next\"").then(|| link[start..end].to_owned())
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply { status, headers, body }
}

pub fn movie_body(name: &str) -> Value {
    json!({"name": name, "casts": ["Al Pacino", "Robert De Niro"], "genres": ["Crime", "Drama"]})
}

/// Signs up `email` (with [`PASSWORD`]) and logs in through the server at `base` (another
/// process); returns (user id, token).
pub async fn user_on(client: &reqwest::Client, base: &str, email: &str) -> (String, String) {
    let body = json!({"email": email, "password": PASSWORD});
    let signup = read(client.post(format!("{base}/api/auth/signup")).json(&body).send().await.unwrap()).await;
    signup.assert_status(200);
    let login = read(client.post(format!("{base}/api/auth/login")).json(&body).send().await.unwrap()).await;
    login.assert_status(200);
    (signup.body["id"].as_str().unwrap().to_owned(), login.body["token"].as_str().unwrap().to_owned())
}
