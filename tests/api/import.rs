//! `movie-bag import`: the Flask tutorial's MongoDB data, written the way `mongoexport` writes
//! it (JSON lines or `--jsonArray`; Extended JSON v2, relaxed or canonical; real flask-bcrypt
//! hashes), moved into a running movie-bag.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use movie_bag::domain::{MovieName, TagList};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{TEST_JWT_KEY, TestApp};

const BINARY: &str = env!("CARGO_BIN_EXE_movie-bag");

/// A 24-hex ObjectId created at `seconds` (since the epoch), unique by `counter`.
fn oid(seconds: u32, counter: u64) -> String {
    format!("{seconds:08x}{counter:016x}")
}

fn relaxed_oid(hex: &str) -> Value {
    json!({ "$oid": hex })
}

/// What flask-bcrypt stores: `$2b$`, at the given cost.
fn flask_bcrypt(password: &str, cost: u32) -> String {
    bcrypt::hash(password, cost).unwrap()
}

struct ExportFiles {
    dir: PathBuf,
}

impl ExportFiles {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("movie-bag-import-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// One document per line, as `mongoexport` writes by default.
    fn json_lines(&self, name: &str, documents: &[Value]) -> PathBuf {
        let text: String = documents.iter().map(|d| format!("{d}\n")).collect();
        self.write(name, &text)
    }

    /// One array, as `mongoexport --jsonArray` writes it.
    fn json_array(&self, name: &str, documents: &[Value]) -> PathBuf {
        let text = format!("[{}]", documents.iter().map(Value::to_string).collect::<Vec<_>>().join(",\n"));
        self.write(name, &text)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for ExportFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `movie-bag import` of the two files into the app's database, not started yet.
fn import_command(app: &TestApp, users: &Path, movies: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &app.database.url)
        .env("JWT_SECRET_KEY", TEST_JWT_KEY)
        .current_dir(std::env::temp_dir())
        .arg("import")
        .arg("--users")
        .arg(users)
        .arg("--movies")
        .arg(movies)
        .args(extra);
    command
}

fn import(app: &TestApp, users: &Path, movies: &Path, extra: &[&str]) -> Output {
    import_command(app, users, movies, extra).output().expect("the binary runs")
}

/// `users` users and `movies` tidy movies spread over them, in JSON lines.
fn large_export(files: &ExportFiles, users: u64, movies: u64) -> (PathBuf, PathBuf) {
    let owners: Vec<String> = (0..users).map(|u| oid(JUNE_2020, u)).collect();
    let hash = flask_bcrypt("password", 4);
    let users: Vec<Value> = owners
        .iter()
        .enumerate()
        .map(|(u, id)| json!({"_id": relaxed_oid(id), "email": format!("user{u}@example.com"), "password": hash}))
        .collect();
    let movies: String = (0..movies)
        .map(|m| {
            let movie = json!({"_id": relaxed_oid(&oid(JUNE_2020 + 10, 1_000 + m)), "name": format!("Movie {m}"),
                "casts": [format!("Actor {}", m % 700)], "genres": [format!("Genre {}", m % 9)],
                "added_by": relaxed_oid(&owners[(m % owners.len() as u64) as usize])});
            format!("{movie}\n")
        })
        .collect();
    (files.json_lines("user.json", &users), files.write("movie.json", &movies))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stored password hash of a user, read from the database itself.
async fn stored_hash(app: &TestApp, email: &str) -> String {
    app.database.select_one("SELECT password_hash FROM users WHERE email_lower = $1", &[&email.to_lowercase()]).await
}

const JUNE_2020: u32 = 1_591_000_000;

backend_tests! {
    async fn imported_users_keep_their_passwords_and_their_movies_keep_ids_owners_and_order(backend) {
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let (ann, bob) = (oid(JUNE_2020, 1), oid(JUNE_2020 + 5, 2));
        let (heat, ronin) = (oid(JUNE_2020 + 100, 3), oid(JUNE_2020 + 200, 4));
        // The tutorial allowed 6-character passwords; its hashes are flask-bcrypt's, cost 12.
        let ann_hash = flask_bcrypt("secret", 12);
        assert!(ann_hash.starts_with("$2b$12$"), "{ann_hash}");
        let bob_hash = flask_bcrypt("bobs-password", 4).replacen("$2b$", "$2a$", 1);
        let users = files.json_lines("user.json", &[
            json!({"_id": relaxed_oid(&ann), "email": "ann@example.com", "password": ann_hash, "movies": [relaxed_oid(&heat)]}),
            json!({"_id": relaxed_oid(&bob), "email": "bob@example.com", "password": bob_hash, "movies": [relaxed_oid(&ronin)], "extra": true}),
        ]);
        let movies = files.json_lines("movie.json", &[
            json!({"_id": relaxed_oid(&heat), "name": "Heat", "casts": ["Al Pacino", "Robert De Niro"], "genres": ["Crime"], "added_by": relaxed_oid(&ann)}),
            json!({"_id": relaxed_oid(&ronin), "name": "Ronin", "casts": ["Robert De Niro"], "genres": ["Action"], "added_by": relaxed_oid(&bob), "__v": 0}),
        ]);
        let output = import(&app, &users, &movies, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("imported 2 users and 2 movies"), "{}", stdout(&output));

        // Old links keep working, with the ObjectId's time as created_at.
        let movie = app.movie(&heat).await;
        movie.assert_status(200);
        assert_eq!(movie.body["name"], "Heat");
        assert_eq!(movie.body["casts"], json!(["Al Pacino", "Robert De Niro"]));
        assert_eq!(movie.body["added_by"], ann.as_str());
        assert_eq!(movie.body["created_at"], "2020-06-01T08:28:20Z");
        let listed: Vec<String> = app.all_movies().await.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(listed, vec![ronin.clone(), heat.clone()], "newest first, by the ObjectId's time");

        // The bcrypt hash logs in (6 characters), and is replaced by argon2id at once.
        app.login("ann@example.com", "wrong password").await.assert_error(401, "unauthorized");
        assert!(stored_hash(&app, "ann@example.com").await.starts_with("$2b$12$"));
        let login = app.login("ann@example.com", "secret").await;
        login.assert_status(200);
        let token = login.body["token"].as_str().unwrap().to_owned();
        assert!(stored_hash(&app, "ann@example.com").await.starts_with("$argon2id$"));
        app.login("ann@example.com", "secret").await.assert_status(200);
        app.login("bob@example.com", "bobs-password").await.assert_status(200);
        assert!(stored_hash(&app, "bob@example.com").await.starts_with("$argon2id$"));

        // The profile lists the imported movie; the owner edits and deletes it at its old id.
        let me = app.get("/api/users/me", Some(&token)).await;
        assert_eq!(me.body["id"], ann.as_str());
        assert_eq!(me.body["movies"], json!([heat]));
        let patched = app.send(reqwest::Method::PATCH, &format!("/api/movies/{heat}"), Some(json!({"genres": ["Crime", "Drama"]})), Some(&token)).await;
        patched.assert_status(200);
        let replaced = app.send(reqwest::Method::PUT, &format!("/api/movies/{heat}"),
            Some(json!({"name": "Heat (1995)", "casts": ["Al Pacino"], "genres": ["Crime"]})), Some(&token)).await;
        replaced.assert_status(200);
        app.send(reqwest::Method::DELETE, &format!("/api/movies/{ronin}"), None, Some(&token)).await.assert_error(403, "forbidden");
        app.send(reqwest::Method::DELETE, &format!("/api/movies/{heat}"), None, Some(&token)).await.assert_status(204);
        app.movie(&heat).await.assert_error(404, "not_found");

        // New passwords follow today's rules.
        let short = app.send(reqwest::Method::PUT, "/api/auth/password",
            Some(json!({"current_password": "secret", "new_password": "short"})), Some(&token)).await;
        short.assert_error(400, "validation_failed");
    }

    async fn what_the_tutorials_data_can_hold_is_reported_by_id_and_the_rest_is_imported(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        app.create_movie(&owner.token, "Taken Name").await;
        let files = ExportFiles::new();
        let canonical = |hex: &str| json!({"$oid": hex});
        let (ann, ann_again, ghost) = (oid(JUNE_2020, 1), oid(JUNE_2020 + 1, 2), oid(JUNE_2020 + 2, 3));
        let (kept, orphan, taken, no_casts, odd_casts, missing) =
            (oid(JUNE_2020 + 10, 10), oid(JUNE_2020 + 11, 11), oid(JUNE_2020 + 12, 12), oid(JUNE_2020 + 13, 13),
             oid(JUNE_2020 + 14, 14), oid(JUNE_2020 + 15, 15));
        let hash = flask_bcrypt("password", 4);
        // Canonical Extended JSON, as `mongoexport --jsonFormat=canonical --jsonArray` writes it.
        let users = files.json_array("user.json", &[
            json!({"_id": canonical(&ann), "email": "Ann@Example.com", "password": hash, "movies": [canonical(&kept), canonical(&missing)],
                   "created": {"$date": {"$numberLong": "1591000000000"}}}),
            json!({"_id": canonical(&ann_again), "email": "ann@example.COM", "password": hash, "movies": [canonical(&odd_casts)]}),
        ]);
        let movies = files.json_array("movie.json", &[
            json!({"_id": canonical(&kept), "name": "Kept", "casts": ["A"], "genres": ["G"], "added_by": canonical(&ann)}),
            json!({"_id": canonical(&orphan), "name": "Orphan", "casts": ["A"], "genres": ["G"], "added_by": canonical(&ghost)}),
            json!({"_id": canonical(&taken), "name": "Taken Name", "casts": ["A"], "genres": ["G"], "added_by": canonical(&ann)}),
            json!({"_id": canonical(&no_casts), "name": "No Casts", "genres": ["G"], "added_by": canonical(&ann)}),
            json!({"_id": canonical(&odd_casts), "name": "Odd Casts", "casts": [{"$numberInt": "42"}, null, "B", " B "], "genres": ["G"],
                   "added_by": canonical(&ann_again)}),
        ]);
        let output = import(&app, &users, &movies, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report = stdout(&output);
        let line = |id: &str, what: &str| report.lines().any(|l| l.contains(id) && l.contains(what));
        assert!(line(&ann_again, "skipped: its email differs only in case"), "{report}");
        assert!(line(&orphan, "skipped: its owner"), "{report}");
        assert!(line(&taken, "skipped: a movie with its name already exists"), "{report}");
        // The API needs a cast: a movie without one is skipped, not stored as one it would refuse.
        assert!(line(&no_casts, "skipped: it has no `casts`"), "{report}");
        assert!(line(&odd_casts, "fixed: 1 entries of `casts` were not text"), "{report}");
        assert!(line(&odd_casts, "fixed: 1 entries of `casts` were empty or not text; dropped"), "{report}");
        assert!(line(&odd_casts, "fixed: 1 entries of `casts` repeated an earlier one; dropped"), "{report}");
        assert!(line(&ann, &format!("names {missing}, which is not in the movies file")), "{report}");
        assert!(report.contains("imported 1 users and 2 movies"), "{report}");

        app.movie(&kept).await.assert_status(200);
        app.movie(&orphan).await.assert_error(404, "not_found");
        app.movie(&taken).await.assert_error(404, "not_found");
        app.movie(&no_casts).await.assert_error(404, "not_found");
        let odd = app.movie(&odd_casts).await.body;
        assert_eq!(odd["casts"], json!(["42", "B"]));
        assert_eq!(odd["added_by"], ann.as_str(), "the duplicate's movie went to the first account with that email");
        app.login("ann@example.com", "password").await.assert_status(200);
    }

    async fn a_malformed_file_stops_the_import_naming_file_and_line_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let ann = oid(JUNE_2020, 1);
        let users = files.json_lines("user.json", &[
            json!({"_id": relaxed_oid(&ann), "email": "ann@example.com", "password": flask_bcrypt("password", 4)}),
        ]);
        let good = json!({"_id": relaxed_oid(&oid(JUNE_2020 + 1, 2)), "name": "Fine", "casts": ["A"], "genres": ["G"], "added_by": relaxed_oid(&ann)});
        let movies = files.write("movie.json", &format!("{good}\n{good}\n{{\"_id\": {{\"$oid\": \"{}\"}}, \"name\": \n", oid(JUNE_2020 + 2, 3)));
        let output = import(&app, &users, &movies, &[]);
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(message.contains("movie.json") && message.contains("line 3"), "{message}");
        assert!(message.contains("nothing was written"), "{message}");
        app.login("ann@example.com", "password").await.assert_error(401, "unauthorized");
        assert!(app.all_movies().await.is_empty());

        let broken_users = files.write("user.json", "{\"_id\": {\"$oid\": \"zz\"}, \"email\": \"a@b.c\"}\n");
        let output = import(&app, &broken_users, &movies, &[]);
        assert!(!output.status.success());
        assert!(stderr(&output).contains("user.json, line 1: the document has no `_id` ObjectId"), "{}", stderr(&output));
    }

    async fn an_upgrade_of_an_imported_hash_never_overwrites_a_password_changed_meanwhile(backend) {
        // The login that upgrades a bcrypt hash replaces it only if it is still the one it
        // verified: a password change or reset committed in between wins.
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let user_id = movie_bag::domain::UserId::from_stored(user.id.clone());
        let current = stored_hash(&app, &user.email).await;
        let stale = flask_bcrypt("old password", 4);
        assert!(!app.state.store.rehash_password(&user_id, &stale, "$argon2id$replacement").await.unwrap());
        assert_eq!(stored_hash(&app, &user.email).await, current);
        app.login(&user.email, &user.password).await.assert_status(200);
    }

    async fn a_dry_run_writes_nothing_and_a_second_import_adds_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let ann = oid(JUNE_2020, 1);
        let heat = oid(JUNE_2020 + 1, 2);
        let users = files.json_lines("user.json", &[
            json!({"_id": relaxed_oid(&ann), "email": "ann@example.com", "password": flask_bcrypt("password", 4)}),
        ]);
        let orphan = oid(JUNE_2020 + 2, 3);
        let movies = files.json_lines("movie.json", &[
            json!({"_id": relaxed_oid(&heat), "name": "Heat", "casts": ["A", "A"], "genres": ["G"], "added_by": relaxed_oid(&ann)}),
            json!({"_id": relaxed_oid(&orphan), "name": "Orphan", "casts": [], "genres": [], "added_by": relaxed_oid(&oid(JUNE_2020, 9))}),
        ]);
        let dry = import(&app, &users, &movies, &["--dry-run"]);
        assert!(dry.status.success(), "{}", stderr(&dry));
        assert!(stdout(&dry).contains("would import 1 users and 1 movies"), "{}", stdout(&dry));
        assert!(stdout(&dry).contains("dry run: nothing was written"));
        app.movie(&heat).await.assert_error(404, "not_found");
        app.login("ann@example.com", "password").await.assert_error(401, "unauthorized");

        let first = import(&app, &users, &movies, &[]);
        assert!(stdout(&first).contains("imported 1 users and 1 movies"), "{}", stdout(&first));
        // The dry run reported, line for line, what the import then did (the file's reader and
        // the store write notes as they find them, so their order may differ).
        let notes = |output: &Output| -> Vec<String> {
            let mut notes: Vec<String> =
                stdout(output).lines().filter(|l| l.starts_with("user ") || l.starts_with("movie ")).map(str::to_owned).collect();
            notes.sort();
            notes
        };
        assert_eq!(notes(&dry).len(), 2, "{}", stdout(&dry));
        assert_eq!(notes(&dry), notes(&first));
        let second = import(&app, &users, &movies, &[]);
        assert!(second.status.success(), "{}", stderr(&second));
        assert!(stdout(&second).contains("imported 0 users and 0 movies"), "{}", stdout(&second));
        assert!(stdout(&second).contains("already present: 1 users, 1 movies"), "{}", stdout(&second));
        assert_eq!(app.all_movies().await.len(), 1);
    }

    async fn a_large_export_is_streamed_in_batches_with_progress_on_stderr(backend) {
        // 100,000 movies: 50 of the reader's batches, progress once, every movie and its tag
        // rows stored.
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let (users, movies) = large_export(&files, 100, 100_000);
        let output = import(&app, &users, &movies, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stderr(&output).contains("read 100000 movies"), "{}", stderr(&output));
        assert!(stdout(&output).contains("imported 100 users and 100000 movies"), "{}", stdout(&output));
        assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 100_000);
        assert_eq!(app.database.select_count("SELECT count(*) FROM movie_genres").await, 100_000);
        assert_eq!(app.database.select_count("SELECT count(*) FROM movie_casts").await, 100_000);
        let page = app.get("/api/movies?genre=genre%204&limit=5", None).await;
        page.assert_status(200);
        assert_eq!(page.body.as_array().unwrap().len(), 5);
    }

    async fn an_import_killed_midway_leaves_nothing_and_running_it_again_completes_it(backend) {
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let (users, movies) = large_export(&files, 100, 150_000);
        // The first run reads its movies from a pipe fed the first 120,000 lines and then kept
        // open: the file never ends, so the import, which commits after the last movie, cannot
        // have committed when it is killed, however the processes are scheduled.
        let pipe = files.dir.join("movie.fifo");
        let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success(), "mkfifo");
        let (release, released) = std::sync::mpsc::channel::<()>();
        let feeder = {
            let (pipe, movies) = (pipe.clone(), movies.clone());
            std::thread::spawn(move || {
                use std::io::Write as _;
                let text = std::fs::read_to_string(&movies).unwrap();
                let head: String = text.lines().take(120_000).map(|line| format!("{line}\n")).collect();
                let mut writer = std::fs::OpenOptions::new().write(true).open(&pipe).unwrap();
                // The import may be killed before it reads everything: a broken pipe is fine.
                let _ = writer.write_all(head.as_bytes());
                let _ = released.recv();
            })
        };
        let mut child = import_command(&app, &users, &pipe, &[]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let progress = BufReader::new(child.stderr.take().unwrap());
        let midway = progress.lines().map_while(Result::ok).any(|line| line.contains("read 100000 movies"));
        assert!(midway, "the import ended before reporting progress");
        assert!(child.try_wait().unwrap().is_none(), "the import ended with its file still open");
        child.kill().unwrap();
        let status = child.wait().unwrap();
        drop(release);
        feeder.join().unwrap();
        assert!(!status.success(), "the import was killed, not finished: {status:?}");
        assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 0);
        assert_eq!(app.database.select_count("SELECT count(*) FROM users").await, 0);

        let output = import(&app, &users, &movies, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("imported 100 users and 150000 movies"), "{}", stdout(&output));
        assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 150_000);
    }

    async fn movies_and_emails_the_api_would_refuse_are_skipped_by_id_with_their_reason_and_the_rest_imported(backend) {
        // On SQLite these used to go in as they were; on PostgreSQL a NUL failed the whole
        // import's transaction.
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let hash = flask_bcrypt("password", 4);
        let (ann, nul_email, control_email, long_email) =
            (oid(JUNE_2020, 1), oid(JUNE_2020, 2), oid(JUNE_2020, 3), oid(JUNE_2020, 4));
        let users = files.json_lines("user.json", &[
            json!({"_id": relaxed_oid(&ann), "email": "ann@example.com", "password": hash}),
            json!({"_id": relaxed_oid(&nul_email), "email": "bob\u{0}@example.com", "password": hash}),
            json!({"_id": relaxed_oid(&control_email), "email": "cy\u{7}@example.com", "password": hash}),
            json!({"_id": relaxed_oid(&long_email), "email": format!("{}@example.com", "d".repeat(300)), "password": hash}),
        ]);
        let id = |n: u64| oid(JUNE_2020 + 10 + n as u32, 100 + n);
        let (heat, ronin) = (id(0), id(1));
        let many_casts: Vec<String> = (0..10_000).map(|n| format!("Actor {n}")).collect();
        let refused = [
            (id(2), json!({"name": "He\u{0}at"}), "skipped: its name must not contain control characters"),
            (id(3), json!({"name": "Red\u{1b}[31m"}), "skipped: its name must not contain control characters"),
            (id(4), json!({"name": "x".repeat(300)}), "skipped: its name must be at most 200 characters"),
            (id(5), json!({"casts": ["Al\u{7}Pacino"]}), "skipped: its `casts` entry 0 must not contain control characters"),
            (id(6), json!({"genres": ["Drama", "Cri\u{0}me"]}), "skipped: its `genres` entry 1 must not contain control characters"),
            (id(7), json!({"casts": many_casts}), "skipped: its `casts` must have at most 100 entries"),
            (id(8), json!({"genres": ["g".repeat(5_000)]}), "skipped: its `genres` entry 0 must be at most 200 characters"),
            (id(9), json!({"genres": [" ", null]}), "skipped: its `genres` must have at least one entry"),
        ];
        let mut movies = vec![
            json!({"_id": relaxed_oid(&heat), "name": " Heat ", "casts": [" Al Pacino ", "Al Pacino", "Robert De Niro"],
                   "genres": ["Crime"], "added_by": relaxed_oid(&ann)}),
            json!({"_id": relaxed_oid(&ronin), "name": "Ronin", "casts": ["Robert De Niro"], "genres": ["Action", ""],
                   "added_by": relaxed_oid(&ann)}),
            json!({"_id": relaxed_oid(&id(10)), "name": "Owned by a refused email", "casts": ["A"], "genres": ["G"],
                   "added_by": relaxed_oid(&nul_email)}),
        ];
        for (n, (movie_id, fields, _)) in refused.iter().enumerate() {
            let mut movie = json!({"_id": relaxed_oid(movie_id), "name": format!("Refused {n}"), "casts": ["A"], "genres": ["G"],
                                   "added_by": relaxed_oid(&ann)});
            movie.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
            movies.push(movie);
        }
        let movies = files.json_lines("movie.json", &movies);

        let output = import(&app, &users, &movies, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report = stdout(&output);
        let line = |id: &str, what: &str| report.lines().any(|l| l.starts_with(&format!("movie {id}: ")) && l.contains(what))
            || report.lines().any(|l| l.starts_with(&format!("user {id}: ")) && l.contains(what));
        for (movie_id, _, reason) in &refused {
            assert!(line(movie_id, reason), "{movie_id}: {reason}\n{report}");
        }
        assert!(line(&nul_email, "skipped: its email must be an email address"), "{report}");
        assert!(line(&control_email, "skipped: its email must be an email address"), "{report}");
        assert!(line(&long_email, "skipped: its email must be at most 254 characters"), "{report}");
        assert!(line(&id(10), "skipped: its owner"), "{report}");
        assert!(line(&heat, "fixed: 1 entries of `casts` repeated an earlier one; dropped"), "{report}");
        assert!(line(&ronin, "fixed: 1 entries of `genres` were empty or not text; dropped"), "{report}");
        assert!(report.contains("imported 1 users and 2 movies"), "{report}");

        // The database holds the two good movies and the good user, and nothing the API would refuse.
        assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 2);
        assert_eq!(app.database.select_count("SELECT count(*) FROM users").await, 1);
        let stored = app.all_movies().await;
        assert_eq!(stored.len(), 2);
        for movie in &stored {
            let name = movie["name"].as_str().unwrap();
            assert_eq!(MovieName::parse(name).map(MovieName::into_inner).as_deref(), Ok(name), "{movie}");
            for field in ["casts", "genres"] {
                let entries: Vec<String> = serde_json::from_value(movie[field].clone()).unwrap();
                assert_eq!(TagList::parse(&entries).map(TagList::into_inner), Ok(entries.clone()), "{movie}");
            }
        }
        let heat_stored = app.movie(&heat).await.body;
        assert_eq!(heat_stored["name"], "Heat");
        assert_eq!(heat_stored["casts"], json!(["Al Pacino", "Robert De Niro"]));
        assert_eq!(app.movie(&ronin).await.body["genres"], json!(["Action"]));
        for (movie_id, _, _) in &refused {
            app.movie(movie_id).await.assert_error(404, "not_found");
        }
        app.login("ann@example.com", "password").await.assert_status(200);
    }

    async fn a_document_over_16_mib_stops_the_import_naming_file_and_line_and_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let ann = oid(JUNE_2020, 1);
        let ann_user = json!({"_id": relaxed_oid(&ann), "email": "ann@example.com", "password": flask_bcrypt("password", 4)});
        let users = files.json_lines("user.json", std::slice::from_ref(&ann_user));
        let movie = |n: u64, name: &str| {
            json!({"_id": relaxed_oid(&oid(JUNE_2020 + 1, n)), "name": name, "casts": ["A"], "genres": ["G"], "added_by": relaxed_oid(&ann)})
        };
        // 17 MB in one line, between good movies: MongoDB itself holds no document over 16 MiB.
        let huge = movie(3, &"x".repeat(17 * 1024 * 1024));
        let text = format!("{}\n{}\n{huge}\n{}\n", movie(1, "Fine"), movie(2, "Also fine"), movie(4, "After"));
        let movies = files.write("movie.json", &text);
        let output = import(&app, &users, &movies, &[]);
        assert!(!output.status.success(), "{}", stdout(&output));
        let message = stderr(&output);
        assert!(message.contains("movie.json, line 3: the document starting here is larger than 16 MiB"), "{message}");
        assert!(message.contains("nothing was written"), "{message}");
        assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 0);
        assert_eq!(app.database.select_count("SELECT count(*) FROM users").await, 0);

        // The same in a `--jsonArray` users file: its second element, on line 2.
        let huge_user = json!({"_id": relaxed_oid(&oid(JUNE_2020, 2)), "email": "bob@example.com",
                               "password": flask_bcrypt("password", 4), "bio": "y".repeat(17 * 1024 * 1024)});
        let users = files.json_array("users-array.json", &[ann_user, huge_user]);
        let movies = files.json_lines("movie.json", &[movie(1, "Fine")]);
        let output = import(&app, &users, &movies, &[]);
        assert!(!output.status.success(), "{}", stdout(&output));
        let message = stderr(&output);
        assert!(message.contains("users-array.json, line 2: the document starting here is larger than 16 MiB"), "{message}");
        assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 0);
        assert_eq!(app.database.select_count("SELECT count(*) FROM users").await, 0);
        app.login("ann@example.com", "password").await.assert_error(401, "unauthorized");
    }

    async fn an_account_with_a_bcrypt_cost_over_14_is_imported_unusable_and_its_logins_answer_401_without_delaying_others(backend) {
        let app = TestApp::spawn(backend).await;
        let files = ExportFiles::new();
        let (ann, stall, stall_movie) = (oid(JUNE_2020, 1), oid(JUNE_2020, 2), oid(JUNE_2020 + 1, 3));
        // Crafted, not computed: cost 31 is 2^31 rounds, a day and a half of one core to check.
        let stalling = "$2b$31$OVhkJ90oZgNYBlOcXHTzX.XJP5EHjHOyLA3NlB5NtTd3iwvUPfINK";
        let users = files.json_lines("user.json", &[
            json!({"_id": relaxed_oid(&ann), "email": "ann@example.com", "password": flask_bcrypt("password", 4)}),
            json!({"_id": relaxed_oid(&stall), "email": "stall@example.com", "password": stalling}),
        ]);
        let movies = files.json_lines("movie.json", &[
            json!({"_id": relaxed_oid(&stall_movie), "name": "Kept", "casts": ["A"], "genres": ["G"], "added_by": relaxed_oid(&stall)}),
        ]);
        let output = import(&app, &users, &movies, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report = stdout(&output);
        assert!(
            report.lines().any(|l| l.starts_with(&format!("user {stall}: imported without a usable password: its bcrypt cost is 31"))
                && l.contains("password reset")),
            "{report}"
        );
        assert!(report.contains("imported 2 users and 1 movies"), "{report}");
        assert_eq!(app.movie(&stall_movie).await.body["added_by"], stall.as_str(), "the account and its movies came along");

        // Login attempts abandoned by their clients: each used to hold a hashing thread for days.
        let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
        let abandoned = (0..4).map(|_| {
            impatient.post(app.url("/api/auth/login")).json(&json!({"email": "stall@example.com", "password": "password"})).send()
        });
        let _ = futures_util::future::join_all(abandoned).await;
        let within = Duration::from_secs(10);
        let started = Instant::now();
        let refused = tokio::time::timeout(within, app.login("stall@example.com", "password")).await.expect("answered in time");
        refused.assert_error(401, "unauthorized");
        assert_eq!(refused.body["message"], "Invalid username or password", "the same answer as a wrong password");
        let ordinary = tokio::time::timeout(within, app.login("ann@example.com", "password")).await.expect("not delayed");
        ordinary.assert_status(200);
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        // Still the imported hash: nothing verified it, nothing replaced it.
        assert_eq!(stored_hash(&app, "stall@example.com").await, stalling);
    }
}
