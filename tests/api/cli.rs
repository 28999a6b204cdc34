//! The `movie-bag` command line: user promote/demote, migrate, configuration errors, `.env`.

use std::process::{Command, Output};

use crate::backend_tests;
use crate::helpers::{TEST_JWT_KEY, TestApp, TestDatabase};

const BINARY: &str = env!("CARGO_BIN_EXE_movie-bag");

/// Runs the binary with a clean environment plus `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BINARY);
    command.env_clear().env("RUST_LOG", "warn").args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.current_dir(std::env::temp_dir());
    command.output().expect("binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

backend_tests! {
    async fn user_promote_and_demote_change_the_role_seen_by_the_api(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let url = app.database.url.clone();
        let env = [("DATABASE_URL", url.as_str()), ("JWT_SECRET_KEY", TEST_JWT_KEY)];
        let upper = user.email.to_uppercase();
        let promoted = run(&["user", "promote", &upper], &env);
        assert!(promoted.status.success(), "{}", stderr(&promoted));
        assert!(String::from_utf8_lossy(&promoted.stdout).contains("is now admin"));
        app.get("/api/users", Some(&user.token)).await.assert_status(200);

        // The last admin stays an admin, from the command line too.
        let refused = run(&["user", "demote", &user.email], &env);
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("last admin"), "{}", stderr(&refused));
        app.get("/api/users", Some(&user.token)).await.assert_status(200);

        let other = app.new_admin().await;
        let demoted = run(&["user", "demote", &user.email], &env);
        assert!(demoted.status.success(), "{}", stderr(&demoted));
        app.get("/api/users", Some(&other.token)).await.assert_status(200);
        app.get("/api/users", Some(&user.token)).await.assert_error(403, "forbidden");
    }

    async fn promoting_an_unknown_email_fails_with_a_message(backend) {
        let app = TestApp::spawn(backend).await;
        let url = app.database.url.clone();
        let output = run(&["user", "promote", "nobody@example.com"], &[("DATABASE_URL", url.as_str())]);
        assert!(!output.status.success());
        assert!(stderr(&output).contains("no user with email"), "{}", stderr(&output));
    }

    async fn migrate_prepares_a_fresh_database_and_exits(backend) {
        let database = TestDatabase::create(&backend).await;
        let output = run(&["migrate"], &[("DATABASE_URL", database.url.as_str())]);
        assert!(output.status.success(), "{}", stderr(&output));
        let again = run(&["migrate"], &[("DATABASE_URL", database.url.as_str())]);
        assert!(again.status.success(), "migrating twice is a no-op: {}", stderr(&again));
    }
}

fn sqlite_url_in(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("mb.db").display())
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("movie-bag-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts a failed start with a one-line error naming the problem.
#[track_caller]
fn assert_config_error(output: &Output, mentions: &str) {
    assert!(!output.status.success(), "should fail");
    let text = stderr(output);
    assert!(text.contains(mentions), "stderr should mention {mentions:?}: {text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn an_unparseable_ttl_is_a_clear_error() {
    let output = run(&["migrate"], &[("ACCESS_TOKEN_TTL", "7x")]);
    assert_config_error(&output, "7x");
}

#[test]
fn an_unknown_database_scheme_is_a_clear_error() {
    let output = run(&["migrate"], &[("DATABASE_URL", "mysql://localhost/movies")]);
    assert_config_error(&output, "unknown database scheme");
}

#[test]
fn an_in_memory_sqlite_database_is_refused_with_a_clear_error() {
    let output = run(&["migrate"], &[("DATABASE_URL", "sqlite::memory:")]);
    assert_config_error(&output, "needs an SQLite file");
}

#[test]
fn an_unwritable_database_path_is_a_clear_error() {
    let output = run(&["migrate"], &[("DATABASE_URL", "sqlite:///proc/movie-bag/none.db")]);
    assert_config_error(&output, "cannot open the SQLite database");
    assert_eq!(stderr(&output).lines().filter(|l| l.starts_with("error:")).count(), 1);
}

#[test]
fn a_short_jwt_secret_is_refused() {
    let dir = temp_dir();
    let url = sqlite_url_in(&dir);
    let output = run(&["serve", "--port", "0"], &[("DATABASE_URL", url.as_str()), ("JWT_SECRET_KEY", "too-short")]);
    assert_config_error(&output, "at least 32 bytes");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_published_or_predictable_jwt_secret_is_refused_saying_why_and_how_to_make_one() {
    let dir = temp_dir();
    let url = sqlite_url_in(&dir);
    let repeated = "a".repeat(32);
    for (key, why) in [
        // The Flask tutorial's .env, and a placeholder from JWT examples.
        ("t1NP63m4wnBg6nyHYKfmc2TpCOGI4nss", "is a published key"),
        ("super-secret", "is a published key"),
        (repeated.as_str(), "uses only 1 different characters"),
        ("0123456789abcdef0123456789abcdef", "too predictable: about"),
        ("abcabcabcabcabcabcabcabcabcabcab", "uses only 3 different characters"),
        ("moviebag-moviebag-moviebag-moviebag", "too predictable"),
    ] {
        let output = run(&["serve", "--port", "0"], &[("DATABASE_URL", url.as_str()), ("JWT_SECRET_KEY", key)]);
        assert_config_error(&output, why);
        let text = stderr(&output);
        assert!(text.contains("JWT_SECRET_KEY") && text.contains("openssl rand -base64 48"), "{text}");
        assert!(!text.contains(key), "the refusal must not print the key: {text}");
    }
    assert!(!dir.join("mb.db").exists(), "refused before the database was touched");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_build_refuses_the_tutorials_key_and_starts_with_a_generated_one() {
    use movie_bag::config::Settings;
    use movie_bag::startup::Application;
    let dir = temp_dir();
    let url = sqlite_url_in(&dir);
    let settings = |key: &str| {
        Settings::from_flags(["--port", "0", "--database-url", url.as_str(), "--jwt-secret-key", key]).unwrap()
    };
    let refused = Application::build(settings("t1NP63m4wnBg6nyHYKfmc2TpCOGI4nss")).await.err().expect("refused");
    assert!(refused.to_string().contains("published key"), "{refused}");
    // What `openssl rand -base64 48` printed once.
    let generated = "EKbzxl4GiUc4ZibmPLzCVk6r2k2r0ZxFu60LbAW112wkkEi+9Bn2ttvdELA/k9b3";
    let app = Application::build(settings(generated)).await.expect("a generated key starts the server");
    drop(app);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres_without_a_jwt_secret_is_refused_before_connecting() {
    let output = run(&["serve", "--port", "0"], &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")]);
    assert_config_error(&output, "JWT_SECRET_KEY must be set");
}

#[test]
fn the_env_file_is_read_but_never_overrides_the_environment() {
    let dir = temp_dir();
    let from_file = dir.join("from-file.db");
    let from_env = dir.join("from-env.db");
    let env_file = dir.join("settings.env");
    std::fs::write(&env_file, format!("DATABASE_URL=sqlite://{}\n", from_file.display())).unwrap();
    let env_file = env_file.display().to_string();

    let output = run(&["migrate"], &[("ENV_FILE_LOCATION", env_file.as_str())]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(from_file.exists(), "the .env file's DATABASE_URL is used");

    let env_url = format!("sqlite://{}", from_env.display());
    let output = run(&["migrate"], &[("ENV_FILE_LOCATION", env_file.as_str()), ("DATABASE_URL", env_url.as_str())]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(from_env.exists(), "the environment wins over the .env file");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_a_jwt_secret_sqlite_keeps_a_generated_key_beside_the_database() {
    let dir = temp_dir();
    let url = sqlite_url_in(&dir);
    let mut child = Command::new(BINARY)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &url)
        .args(["serve", "--port", "0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let key_file = dir.join("mb.db.jwt-key");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !key_file.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(key_file.exists(), "key file created: {}", stderr(&output));
    assert!(stderr(&output).contains("JWT_SECRET_KEY is not set"), "a warning is logged");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.trim().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!stderr(&output).contains(key.trim()), "the key itself is never logged");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unreachable_postgresql_server_is_a_clear_error() {
    let started = std::time::Instant::now();
    let output = run(
        &["serve", "--port", "0"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"), ("JWT_SECRET_KEY", TEST_JWT_KEY)],
    );
    assert_config_error(&output, "cannot connect to PostgreSQL at 127.0.0.1:1/none");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "gives up within the connect timeout");
}

backend_tests! {
    async fn seed_fills_an_empty_database_with_listable_filterable_movies(backend) {
        let database = TestDatabase::create(&backend).await;
        let env = [("DATABASE_URL", database.url.as_str())];
        let output = run(&["seed", "--movies", "2500"], &env);
        assert!(output.status.success(), "{}", stderr(&output));
        let again = run(&["seed", "--movies", "500"], &env);
        assert!(again.status.success(), "seeding again adds more: {}", stderr(&again));

        let server = crate::process::ServerProcess::start(&database).await;
        let client = reqwest::Client::new();
        let mut seen = std::collections::HashSet::new();
        let mut path = Some("/api/movies?limit=1000".to_owned());
        while let Some(current) = path {
            let reply = crate::helpers::read(client.get(format!("{}{current}", server.address)).send().await.unwrap()).await;
            reply.assert_status(200);
            for movie in reply.body.as_array().unwrap() {
                assert!(seen.insert(movie["id"].as_str().unwrap().to_owned()), "duplicate {movie}");
            }
            path = reply.header("link").and_then(crate::helpers::next_path);
        }
        assert_eq!(seen.len(), 3000);
        let drama = crate::helpers::read(client.get(format!("{}/api/movies?genre=drama&limit=1000", server.address)).send().await.unwrap()).await;
        let drama = drama.body.as_array().unwrap();
        assert!(!drama.is_empty() && drama.len() < 1000);
        assert!(drama.iter().all(|m| m["genres"].as_array().unwrap().iter().any(|g| g == "Drama")));
        // The record people keep is filled in too, and the kept counts hold the seeded movies.
        let get = |path: String| {
            let client = client.clone();
            async move { crate::helpers::read(client.get(path).send().await.unwrap()).await }
        };
        let page = get(format!("{}/api/movies?limit=100&count=true", server.address)).await;
        assert_eq!(page.header("x-total-count"), Some("3000"));
        let movies = page.body.as_array().unwrap();
        assert!(movies.iter().all(|m| m["runtime"].is_i64() && m["overview"].is_string()), "{}", movies[0]);
        assert!(movies.iter().all(|m| m["directors"].as_array().is_some_and(|d| d.len() == 1)));
        let with_year = movies.iter().filter(|m| m["year"].is_i64()).count();
        assert!((90..100).contains(&with_year), "one movie in 20 has no year: {with_year} of 100 have one");
        let directors = get(format!("{}/api/directors?q=director", server.address)).await;
        assert_eq!(directors.body.as_array().unwrap().len(), 20);
        let by_year = get(format!("{}/api/movies?sort=year&limit=1", server.address)).await;
        assert!(by_year.body[0]["year"].as_i64().is_some_and(|year| year >= 2020), "{}", by_year.body);
    }

    async fn seed_refuses_a_database_with_real_users_unless_forced(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let env = [("DATABASE_URL", app.database.url.as_str())];
        let refused = run(&["seed", "--movies", "10"], &env);
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("real user"), "{}", stderr(&refused));
        assert!(app.all_movies().await.is_empty(), "nothing was added");
        let forced = run(&["seed", "--movies", "10", "--force"], &env);
        assert!(forced.status.success(), "{}", stderr(&forced));
        assert_eq!(app.all_movies().await.len(), 10);
        app.login(&user.email, &user.password).await.assert_status(200);
    }
}
