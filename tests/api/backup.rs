//! Backups of the embedded SQLite database (`movie-bag backup`, `restore`, `BACKUP_DIR`), and
//! failing fast when the database does not answer, on both backends.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

use crate::backend_tests;
use crate::helpers::{Backend, TEST_JWT_KEY, TestApp, movie_body, user_on};
use crate::process::ServerProcess;

const BINARY: &str = env!("CARGO_BIN_EXE_movie-bag");

fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET_KEY", TEST_JWT_KEY)
        .current_dir(std::env::temp_dir())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("movie-bag-backup-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn integrity(path: &Path) -> String {
    let connection = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap()
}

fn sqlite_path(app: &TestApp) -> PathBuf {
    PathBuf::from(app.database.url.strip_prefix("sqlite://").expect("an SQLite test database"))
}

/// The bytes of a file, to show it did not change.
fn contents(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_stream_of_creates_restores_every_create_acknowledged_before_it_started() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let user = app.new_user().await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, url, token) = (app.client.clone(), app.url("/api/movies"), user.token.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&movie_body(&format!("Stream {writer}-{n}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let body: serde_json::Value = response.json().await.unwrap();
                acknowledged.lock().unwrap().push(body["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    let acknowledged_count = || acknowledged.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged_count() <= 20 {
        assert!(Instant::now() < deadline, "the writers did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = scratch_dir();
    let backup_file = dir.join("backup.db");
    // Writes acknowledged while the backup ran: after it started, before it ended. A backup
    // that happened to fall between two writes proves nothing about writes during it, so it is
    // taken again (replacing the last) until one overlapped some.
    let mut rounds = 0;
    let (before_backup, written_during, output) = loop {
        rounds += 1;
        let before_backup: Vec<String> = acknowledged.lock().unwrap().clone();
        let (url, target) = (app.database.url.clone(), backup_file.to_str().unwrap().to_owned());
        let output = tokio::task::spawn_blocking(move || run(&url, &["backup", "--force", &target])).await.unwrap();
        let written_during = acknowledged_count() - before_backup.len();
        assert!(output.status.success(), "{}", text(&output.stderr));
        if written_during > 0 || rounds == 20 {
            break (before_backup, written_during, output);
        }
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(text(&output.stdout).contains("integrity check passed"), "{}", text(&output.stdout));
    assert!(
        written_during > 0,
        "in {rounds} backups no create was acknowledged while one ran ({} before the last)",
        before_backup.len()
    );
    assert_eq!(integrity(&backup_file), "ok");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&backup_file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Restored into a fresh place and served: every create acknowledged before the backup began.
    let restored = dir.join("restored.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let output = run(&restored_url, &["restore", backup_file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let connection = rusqlite::Connection::open(&restored).unwrap();
    let mut missing = 0;
    for id in &before_backup {
        let found: bool =
            connection.query_row("SELECT EXISTS (SELECT 1 FROM movies WHERE id = ?)", [id], |row| row.get(0)).unwrap();
        missing += usize::from(!found);
    }
    assert_eq!(missing, 0, "of {} creates acknowledged before the backup", before_backup.len());
    assert_eq!(integrity(&restored), "ok");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_truncated_or_foreign_file_and_changes_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let user = app.new_user().await;
    app.create_movie(&user.token, "Kept").await;
    let dir = scratch_dir();
    let backup_file = dir.join("good.db");
    let output = run(&app.database.url, &["backup", backup_file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    drop(app);

    let target = dir.join("live.db");
    let target_url = format!("sqlite://{}", target.display());
    assert!(run(&target_url, &["restore", backup_file.to_str().unwrap()]).status.success());
    let before = contents(&target);

    let good = contents(&backup_file);
    let truncated = dir.join("truncated.db");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let foreign = dir.join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    let not_sqlite = dir.join("notes.txt");
    std::fs::write(&not_sqlite, "this is not a database\n".repeat(100)).unwrap();
    for (file, expected) in [
        (&truncated, "cannot be restored"),
        (&foreign, "not a movie-bag one"),
        (&not_sqlite, "cannot be restored"),
        (&dir.join("absent.db"), "is not a file"),
    ] {
        let output = run(&target_url, &["restore", file.to_str().unwrap()]);
        assert!(!output.status.success(), "{}", file.display());
        assert!(text(&output.stderr).contains(expected), "{}: {}", file.display(), text(&output.stderr));
        assert_eq!(contents(&target), before, "{} changed the database", file.display());
    }
    let replaced: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".replaced-"))
        .collect();
    assert!(replaced.is_empty(), "a refused restore moved nothing aside");
    let _ = std::fs::remove_dir_all(dir);
}

/// The live database's files (main file and WAL), to show a refused restore left them alone.
fn live_files(database: &Path) -> (Vec<u8>, Vec<u8>) {
    (contents(database), contents(&PathBuf::from(format!("{}-wal", database.display()))))
}

/// Copies `backup` to `name` in `dir` and changes its schema with `sql`, as an attacker who
/// can write a backup file would.
fn tampered(dir: &Path, backup: &Path, name: &str, sql: &str) -> PathBuf {
    let copy = dir.join(name);
    std::fs::copy(backup, &copy).unwrap();
    rusqlite::Connection::open(&copy).unwrap().execute_batch(sql).unwrap();
    copy
}

fn replaced_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".replaced-"))
        .collect()
}

/// SQLite only (`restore` is): a backup whose schema has a trigger the migrations do not make
/// would act on every later write once restored; it is refused, and the live database stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_backup_with_a_planted_trigger_and_later_signups_stay_plain_users() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let user = app.new_user().await;
    let kept = app.create_movie(&user.token, "Kept").await;
    let dir = scratch_dir();
    let backup_file = dir.join("good.db");
    assert!(run(&app.database.url, &["backup", backup_file.to_str().unwrap()]).status.success());
    let planted = tampered(
        &dir,
        &backup_file,
        "planted.db",
        "CREATE TRIGGER make_admins AFTER INSERT ON users BEGIN UPDATE users SET role = 'admin' WHERE id = NEW.id; END;",
    );
    let database = sqlite_path(&app);
    // Stopped for good (connections closed, the in-use lock let go) before the files are read.
    let database_guard = app.stop().await;
    let before = live_files(&database);

    let output = run(&database_guard.url, &["restore", planted.to_str().unwrap()]);
    assert!(!output.status.success(), "{}", text(&output.stdout));
    let message = text(&output.stderr);
    assert!(message.contains("planted.db cannot be restored"), "{message}");
    assert!(message.contains("unexpected trigger `make_admins` (on `users`)"), "{message}");
    assert!(live_files(&database) == before, "a refused restore changed the live database");
    assert!(replaced_files(database.parent().unwrap()).is_empty(), "a refused restore moved nothing aside");

    // The live database serves as before, and a signup is a plain user.
    let server = ServerProcess::start(&database_guard).await;
    let client = reqwest::Client::new();
    let (_, token) = user_on(&client, &server.address, "after-restore@example.com").await;
    let me = client.get(format!("{}/api/users/me", server.address)).bearer_auth(&token).send().await.unwrap();
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["role"], "user", "{me}");
    let movie = client.get(format!("{}/api/movies/{kept}", server.address)).send().await.unwrap();
    assert_eq!(movie.status(), 200);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// SQLite only: an extra table or index, a dropped index, a view or a changed trigger in a
/// backup is refused by name, changing nothing; the honest backup, statistics from `ANALYZE`
/// and all, still restores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_backup_whose_schema_differs_from_the_migrations_and_restores_an_honest_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let user = app.new_user().await;
    app.create_movie(&user.token, "Kept").await;
    // The query planner's statistics are part of an honest database, not a difference.
    rusqlite::Connection::open(sqlite_path(&app)).unwrap().execute_batch("ANALYZE").unwrap();
    let dir = scratch_dir();
    let backup_file = dir.join("good.db");
    assert!(run(&app.database.url, &["backup", backup_file.to_str().unwrap()]).status.success());
    drop(app);

    let target = dir.join("live.db");
    let target_url = format!("sqlite://{}", target.display());
    assert!(run(&target_url, &["restore", backup_file.to_str().unwrap()]).status.success());
    let before = live_files(&target);
    for (name, sql, expected) in [
        ("extra-table.db", "CREATE TABLE notes (body TEXT);", "unexpected table `notes`"),
        ("extra-index.db", "CREATE INDEX users_by_role ON users (role);", "unexpected index `users_by_role` (on `users`)"),
        ("dropped-index.db", "DROP INDEX movies_by_owner;", "missing index `movies_by_owner`"),
        ("view.db", "CREATE VIEW everyone AS SELECT email, password_hash FROM users;", "unexpected view `everyone`"),
        (
            "changed-trigger.db",
            "DROP TRIGGER catalogue_version_on_insert;
             CREATE TRIGGER catalogue_version_on_insert AFTER INSERT ON movies BEGIN UPDATE users SET role = 'admin'; END;",
            "trigger `catalogue_version_on_insert` differs from what the migrations make",
        ),
    ] {
        let file = tampered(&dir, &backup_file, name, sql);
        let output = run(&target_url, &["restore", file.to_str().unwrap()]);
        assert!(!output.status.success(), "{name} was restored");
        assert!(text(&output.stderr).contains(expected), "{name}: {}", text(&output.stderr));
        assert!(live_files(&target) == before, "{name} changed the database");
    }
    assert!(replaced_files(&dir).is_empty(), "a refused restore moved nothing aside");

    let output = run(&target_url, &["restore", backup_file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(replaced_files(&dir).len(), 1);
    assert_eq!(integrity(&target), "ok");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_while_a_server_uses_the_database_and_keeps_the_replaced_one_beside_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let user = app.new_user().await;
    app.create_movie(&user.token, "Before").await;
    let dir = scratch_dir();
    let backup_file = dir.join("before.db");
    assert!(run(&app.database.url, &["backup", backup_file.to_str().unwrap()]).status.success());
    app.create_movie(&user.token, "After").await;

    let refused = run(&app.database.url, &["restore", backup_file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("in use"), "{}", text(&refused.stderr));
    assert_eq!(app.all_movies().await.len(), 2);

    // Overwriting a backup needs --force.
    let again = run(&app.database.url, &["backup", backup_file.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"), "{}", text(&again.stderr));
    assert!(run(&app.database.url, &["backup", "--force", backup_file.to_str().unwrap()]).status.success());

    let database = sqlite_path(&app);
    let url = app.database.url.clone();
    let database_guard = app.stop().await;
    // The backup has both movies now (it was replaced with --force); take an older one.
    let output = run(&url, &["restore", backup_file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(".replaced-"), "{}", text(&output.stdout));
    let kept: Vec<PathBuf> = std::fs::read_dir(database.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(integrity(&kept[0]), "ok");
    drop(database_guard);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_rotate_to_backup_keep_and_show_in_metrics() {
    let dir = scratch_dir();
    let app = TestApp::builder(Backend::Sqlite)
        .flag("--backup-dir", dir.to_str().unwrap())
        .flag("--backup-interval", "1s")
        .flag("--backup-keep", "2")
        .spawn()
        .await;
    let user = app.new_user().await;
    app.create_movie(&user.token, "Backed up").await;
    // Finished backups only (one being written is a hidden `.partial-` file). Rotation is seen
    // once a third backup has been taken and two are left.
    let finished = || -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        found.sort();
        found
    };
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let backups = loop {
        let backups = finished();
        seen.extend(backups.iter().cloned());
        assert!(backups.len() <= 3, "more than BACKUP_KEEP backups are kept: {backups:?}");
        if seen.len() >= 3 && backups.len() == 2 {
            break backups;
        }
        assert!(Instant::now() < deadline, "no rotation to two backups; seen {seen:?}, now {backups:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!backups.contains(seen.first().unwrap()), "the oldest backup went first: {backups:?}");
    for backup in &backups {
        assert!(backup.file_name().unwrap().to_string_lossy().starts_with("movie-bag-"), "{backups:?}");
        assert_eq!(integrity(backup), "ok");
    }
    // The metrics are updated once the backup (and its rotation) is done.
    let value = |metrics: &str, name: &str| -> f64 {
        metrics.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).and_then(|v| v.parse().ok()).unwrap_or(-1.0)
    };
    let metrics = loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if value(&metrics, "moviebag_backup_last_success_timestamp_seconds") > 1.7e9 {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no backup in the metrics: {metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let value = |name: &str| value(&metrics, name);
    assert!(value("moviebag_backup_last_success_bytes") > 0.0, "{metrics}");
    assert_eq!(value("moviebag_backup_failures_total"), 0.0);
    drop(app);
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL only, so not one of the `backend_tests!` pairs: an SQLite half would pass having
/// checked nothing. It skips (or fails, under `MOVIEBAG_REQUIRE_POSTGRES=1`) as their PostgreSQL
/// halves do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_on_postgresql_points_to_pg_dump_and_fails() {
    let Some(backend) = Backend::postgres() else { return };
    let app = TestApp::spawn(backend).await;
    let dir = scratch_dir();
    let target = dir.join("never-written.db");
    let output = run(&app.database.url, &["backup", target.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("pg_dump"), "{}", text(&output.stderr));
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written beside it either");
    let _ = std::fs::remove_dir_all(dir);
}

backend_tests! {
    async fn when_the_database_does_not_answer_requests_get_503_within_the_timeout_and_recover(backend) {
        match backend {
            Backend::Sqlite => {
                let app = TestApp::builder(Backend::Sqlite).flag("--database-timeout", "1s").spawn().await;
                let user = app.new_user().await;
                // Another process's writer holds the lock for longer than the timeout.
                let holder = rusqlite::Connection::open(sqlite_path(&app)).unwrap();
                holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
                let started = Instant::now();
                let refused = app.post("/api/movies", movie_body("Locked out"), Some(&user.token)).await;
                let took = started.elapsed();
                refused.assert_error(503, "unavailable");
                assert!(refused.header("retry-after").is_some());
                assert!(took < Duration::from_secs(3), "answered after {took:?}");
                holder.execute_batch("ROLLBACK").unwrap();
                app.post("/api/movies", movie_body("Back again"), Some(&user.token)).await.assert_status(200);
            }
            Backend::Postgres(_) => {
                let proxy = Proxy::start().await;
                let app = TestApp::builder(backend).via_port(proxy.port).spawn().await;
                let user = app.new_user().await;
                let id = app.create_movie(&user.token, "Seen before").await;
                proxy.cut();
                for path in ["/api/movies".to_owned(), format!("/api/movies/{id}")] {
                    let started = Instant::now();
                    let refused = app.get(&path, None).await;
                    let took = started.elapsed();
                    refused.assert_error(503, "unavailable");
                    assert!(refused.header("retry-after").is_some());
                    assert!(took < Duration::from_millis(3_500), "{path} answered after {took:?}");
                }
                let started = Instant::now();
                app.post("/api/movies", movie_body("While away"), Some(&user.token)).await.assert_error(503, "unavailable");
                assert!(started.elapsed() < Duration::from_millis(3_500));
                proxy.restore();
                let deadline = Instant::now() + Duration::from_secs(15);
                loop {
                    if app.get(&format!("/api/movies/{id}"), None).await.status == 200 {
                        break;
                    }
                    assert!(Instant::now() < deadline, "the server did not recover");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                app.post("/api/movies", movie_body("Back again"), Some(&user.token)).await.assert_status(200);
                assert_eq!(app.all_movies().await.len(), 2);
            }
        }
    }
}

/// A TCP relay to the test PostgreSQL server that can be cut (every connection dropped, and
/// each new one closed as soon as it is accepted: the database is away) and restored. The
/// listener stays bound throughout, so no other test can take its port in between.
struct Proxy {
    port: u16,
    /// The relays open now; `None` while cut. One lock for both, so that a connection accepted
    /// while the proxy is being cut is either in the list (and aborted) or refused.
    relays: Arc<Mutex<Option<Vec<tokio::task::JoinHandle<()>>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relays = Arc::new(Mutex::new(Some(Vec::new())));
        let accept = tokio::spawn({
            let relays = relays.clone();
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else { return };
                    let mut relays = relays.lock().unwrap();
                    // While cut: `client` is dropped here, closing the connection.
                    if let Some(relays) = relays.as_mut() {
                        relays.push(tokio::spawn(async move {
                            if let Ok(mut server) = TcpStream::connect(Proxy::upstream()).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }));
                    }
                }
            }
        });
        Self { port, relays, accept }
    }

    fn upstream() -> String {
        let url = reqwest::Url::parse(&std::env::var("MOVIEBAG_TEST_POSTGRES_URL").unwrap()).unwrap();
        format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432))
    }

    fn cut(&self) {
        for relay in self.relays.lock().unwrap().take().unwrap_or_default() {
            relay.abort();
        }
    }

    fn restore(&self) {
        self.relays.lock().unwrap().get_or_insert_with(Vec::new);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
