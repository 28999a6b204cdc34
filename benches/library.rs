//! Library benchmark: the targets of issue 24 for the Letterboxd import and libraries at scale.
//!
//! ```sh
//! cargo bench --bench library                                                 # SQLite
//! MOVIEBAG_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench library
//! cargo bench --bench library -- --catalogue 100000 --movies 1000000 --users 10000 --entries 500  # the defaults
//! ```
//!
//! The server is the release binary, started as a process of its own (`movie-bag serve`) on a
//! fresh database seeded by `movie-bag seed`, so that its peak RSS (`VmHWM` in
//! `/proc/PID/status`) is the server's alone.
//!
//! 1. **Import.** A catalogue of `--catalogue` movies; a Letterboxd export zip (built here as
//!    Letterboxd writes it) of 5,000 diary rows, 3,000 ratings and 1,000 watchlist rows naming
//!    5,000 movies, half of them the catalogue's (named in capitals, so matching ignores case),
//!    half new. Timed from the request's first byte to the answer's last, the server's peak RSS
//!    read after it (targets: at most 5 s, under 150 MB); then the same export again.
//! 2. **Libraries at scale.** A catalogue of `--movies` movies, `--users` accounts with
//!    `--entries` entries each (written by SQL straight into the database, so the rating
//!    triggers keep every movie's average as an API write would), and one account of ours with
//!    5,100 entries. Median of 20 of: the first page and the page of the 5,000th entry (100 a
//!    page) of that library in each sort, and the first and 5,000th page of the catalogue's
//!    `rating` sort, each timed after a movie write so that no cached page answers (target:
//!    deep at most 2x the first). A rating change read back in the movie's average at once.
//!    Rating writes per second against movie creates per second, 8 clients each for
//!    `--seconds` (target: at least the create rate).

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection as _;

mod common;

use common::Database;

const KEY: &str = "benchmark-signing-key-0123456789abcdefghijkl";
const IMPORT_TARGET: Duration = Duration::from_secs(5);
const RSS_TARGET_MB: f64 = 150.0;
const HEAVY_ENTRIES: u64 = 5_100;
const DEEP_ENTRY: usize = 5_000;
const SAMPLES: usize = 20;
const WRITERS: usize = 8;

struct Options {
    catalogue: u64,
    movies: u64,
    users: u64,
    entries: u64,
    seconds: f64,
}

fn options() -> Options {
    let mut options = Options { catalogue: 100_000, movies: 1_000_000, users: 10_000, entries: 500, seconds: 5.0 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = |name: &str| args.get(i + 1).unwrap_or_else(|| panic!("a value after {name}")).clone();
        match args[i].as_str() {
            "--catalogue" => options.catalogue = value("--catalogue").parse().expect("--catalogue N"),
            "--movies" => options.movies = value("--movies").parse().expect("--movies N"),
            "--users" => options.users = value("--users").parse().expect("--users N"),
            "--entries" => options.entries = value("--entries").parse().expect("--entries N"),
            "--seconds" => options.seconds = value("--seconds").parse().expect("--seconds S"),
            _ => {
                i += 1; // cargo bench passes --bench
                continue;
            }
        }
        i += 2;
    }
    options
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// `movie-bag` as a command on the bench's database.
fn movie_bag(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_movie-bag"));
    command
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET_KEY", KEY)
        .env("ENV_FILE_LOCATION", "/nonexistent/.env")
        .env("RUST_LOG", "warn");
    command
}

fn seed(database_url: &str, movies: u64) -> Duration {
    let started = Instant::now();
    let status = movie_bag(database_url)
        .args(["seed", "--movies", &movies.to_string(), "--force"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("movie-bag seed runs");
    assert!(status.success(), "movie-bag seed failed");
    started.elapsed()
}

/// The release server as its own process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str, log: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = movie_bag(database_url)
            .arg("serve")
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("the server's log"))
            .spawn()
            .expect("start the release server");
        let server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(response) = client.get(format!("{}/ready", server.base)).send().await
                && response.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become ready; its log: {}", log.display());
    }

    /// `VmHWM` (peak resident set) of the server process, in MB.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user of ours: signed up and logged in; `(id, token)`.
async fn account(client: &reqwest::Client, base: &str, email: &str) -> (String, String) {
    let credentials = json!({"email": email, "password": "benchmark password 1"});
    let signup: Value =
        client.post(format!("{base}/api/auth/signup")).json(&credentials).send().await.unwrap().json().await.unwrap();
    let login: Value =
        client.post(format!("{base}/api/auth/login")).json(&credentials).send().await.unwrap().json().await.unwrap();
    (signup["id"].as_str().expect("signed up").to_owned(), login["token"].as_str().expect("logged in").to_owned())
}

/// Straight to the database, for what the API would take hours to write.
enum Sql {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl Sql {
    async fn open(url: &str) -> Self {
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                db.busy_timeout(Duration::from_secs(60)).unwrap();
                Self::Sqlite(db)
            }
            None => Self::Postgres(sqlx::PgConnection::connect(url).await.unwrap()),
        }
    }

    async fn run(&mut self, sqlite: &str, postgres: &str) {
        match self {
            Self::Sqlite(db) => db.execute_batch(sqlite).unwrap(),
            Self::Postgres(db) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(postgres.to_owned())).execute(&mut *db).await.unwrap();
            }
        }
    }

    /// Name and year of up to `limit` movies, spread over the catalogue.
    async fn movies(&mut self, limit: usize) -> Vec<(String, String, Option<i32>)> {
        let sql = format!("SELECT id, name, year FROM movies ORDER BY title_key LIMIT {limit}");
        match self {
            Self::Sqlite(db) => db
                .prepare(&sql)
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap(),
            Self::Postgres(db) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *db).await.unwrap(),
        }
    }
}

// ---- 1. the import --------------------------------------------------------------------------

fn field(value: &str) -> String {
    match value.contains([',', '"', '\n']) {
        true => format!("\"{}\"", value.replace('"', "\"\"")),
        false => value.to_owned(),
    }
}

/// The export: 5,000 movies, the even ones the catalogue's (in capitals), the odd ones new;
/// diary rows for the first 4,000 plus rewatches of the first 1,000, ratings of the first
/// 3,000, the last 1,000 on the watchlist.
fn letterboxd_zip(catalogue: &[(String, String, Option<i32>)]) -> Vec<u8> {
    let movies: Vec<(String, String)> = (0..5000)
        .map(|i| match i % 2 {
            0 => {
                let (_, name, year) = &catalogue[i / 2];
                (name.to_uppercase(), year.map(|y| y.to_string()).unwrap_or_default())
            }
            _ => (format!("Imported Film {i}, Part \"{}\"", i % 7), (1950 + i % 70).to_string()),
        })
        .collect();
    let uri = |i: usize| format!("https://boxd.it/{i:x}");
    let mut diary = String::from("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n");
    for n in 0..5000 {
        let (i, rewatch) = if n < 4000 { (n, "") } else { (n - 4000, "Yes") };
        let (name, year) = &movies[i];
        let day = format!("20{:02}-{:02}-{:02}", 15 + n % 10, 1 + n % 12, 1 + n % 28);
        let rating = ["", "0.5", "2", "3.5", "4", "5"][n % 6];
        diary.push_str(&format!("{day},{},{year},{},{rating},{rewatch},,{day}\n", field(name), uri(i)));
    }
    let mut ratings = String::from("Date,Name,Year,Letterboxd URI,Rating\n");
    for (i, (name, year)) in movies.iter().enumerate().take(3000) {
        ratings.push_str(&format!("2024-01-01,{},{year},{},{}\n", field(name), uri(i), 0.5 * (1 + i % 10) as f64));
    }
    let mut watchlist = String::from("Date,Name,Year,Letterboxd URI\n");
    for (i, (name, year)) in movies.iter().enumerate().skip(4000) {
        watchlist.push_str(&format!("2024-02-01,{},{year},{}\n", field(name), uri(i)));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let files = [
        (
            "profile.csv",
            "Date Joined,Username,Given Name,Family Name,Email Address,Location,Website,Bio,Pronoun,Favorite Films\n"
                .to_owned(),
        ),
        ("diary.csv", diary),
        ("ratings.csv", ratings),
        ("watched.csv", String::from("Date,Name,Year,Letterboxd URI\n")),
        ("watchlist.csv", watchlist),
        ("reviews.csv", String::from("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n")),
        ("comments.csv", String::from("Date,Content,Comment\n")),
        ("lists/favourites.csv", String::from("Letterboxd list export v7\n")),
        ("likes/films.csv", String::from("Date,Name,Year,Letterboxd URI\n")),
        ("deleted/diary.csv", String::from("Date,Name,Year,Letterboxd URI\n")),
    ];
    for (name, text) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn import_once(client: &reqwest::Client, base: &str, token: &str, zip: &[u8]) -> (Duration, Value) {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/api/users/me/library/import"))
        .bearer_auth(token)
        .header("content-type", "application/zip")
        .body(zip.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{body}");
    (elapsed, body)
}

async fn bench_import(backend: &str, postgres_admin: Option<&str>, catalogue: u64) {
    let (database, url) = Database::create(postgres_admin, "library").await;
    let seeded = seed(&url, catalogue);
    let names = Sql::open(&url).await.movies(2500).await;
    let zip = letterboxd_zip(&names);
    let server = Server::start(&url, &database.log_path()).await;
    let client = reqwest::Client::new();
    let (_, token) = account(&client, &server.base, "importer@example.com").await;
    let before = server.peak_rss_mb();

    let (first, report) = import_once(&client, &server.base, &token, &zip).await;
    let peak = server.peak_rss_mb();
    let (second, again) = import_once(&client, &server.base, &token, &zip).await;

    println!("\n### {backend}: import (catalogue of {catalogue}, seeded in {:.1} s)\n", seeded.as_secs_f64());
    println!("| measure | figure | target |\n|---|---|---|");
    println!("| export zip | {} KB: 5,000 diary rows, 3,000 ratings, 1,000 watchlist rows | |", zip.len() / 1024);
    println!(
        "| first import | {} ms (matched {}, created {}, entries {}, skipped {}) | <= {} ms: {} |",
        ms(first),
        report["matched"],
        report["created"],
        report["entries"],
        report["skipped"].as_array().map_or(0, Vec::len),
        IMPORT_TARGET.as_millis(),
        if first <= IMPORT_TARGET { "met" } else { "MISSED" }
    );
    println!(
        "| same export again | {} ms (matched {}, created {}) | changes nothing |",
        ms(second),
        again["matched"],
        again["created"]
    );
    println!(
        "| server peak RSS (VmHWM) | {before:.1} MB before, {peak:.1} MB after the import | < {RSS_TARGET_MB} MB: {} |",
        if peak < RSS_TARGET_MB { "met" } else { "MISSED" }
    );
    drop(server);
    database.drop().await;
}

// ---- 2. libraries at scale ------------------------------------------------------------------

/// `users` accounts with `entries` entries each, and `heavy` (ours) with [`HEAVY_ENTRIES`].
async fn fill_libraries(sql: &mut Sql, movies: u64, users: u64, entries: u64, heavy: &str) -> Duration {
    let started = Instant::now();
    sql.run(
        &format!(
            "CREATE TEMP TABLE nums AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM movies;
             CREATE UNIQUE INDEX temp.nums_n ON nums (n);
             WITH RECURSIVE u(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM u WHERE i < {users})
             INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
             SELECT printf('benchuser%06d', i), printf('bench%06d@example.com', i), printf('bench%06d@example.com', i),
                    'no login', 'user', 0 FROM u;"
        ),
        &format!(
            "CREATE TEMP TABLE nums AS SELECT id, (row_number() OVER (ORDER BY id) - 1)::bigint AS n FROM movies;
             CREATE UNIQUE INDEX ON nums (n);
             INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
             SELECT 'benchuser' || lpad(i::text, 6, '0'), 'bench' || i || '@example.com', 'bench' || i || '@example.com',
                    'no login', 'user', now() FROM generate_series(1, {users}) i;"
        ),
    )
    .await;
    // Each user's entries are distinct movies: (n * 7919 + j * 1999) mod movies, 1999 prime.
    let insert = |owners: &str, per: u64| {
        let sqlite = format!(
            "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < {last})
             INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
             SELECT u.id, m.id,
                CASE WHEN (u.n + k.j) % 5 = 0 THEN 'watchlist' ELSE 'watched' END,
                CASE WHEN (u.n + k.j) % 5 = 0 THEN NULL ELSE (u.n * 3 + k.j) % 10 + 1 END,
                CASE WHEN (u.n + k.j) % 5 = 0 THEN NULL
                     ELSE date('2015-01-01', '+' || ((u.n * 31 + k.j * 17) % 3000) || ' days') END,
                1600000000000000 + k.j * 1000000 + u.n, 1600000000000000 + k.j * 1000000 + u.n
             FROM ({owners}) u CROSS JOIN k JOIN nums m ON m.n = (u.n * 7919 + k.j * 1999) % {movies}",
            last = per - 1
        );
        let postgres = format!(
            "INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
             SELECT u.id, m.id,
                CASE WHEN (u.n + k.j) % 5 = 0 THEN 'watchlist' ELSE 'watched' END,
                CASE WHEN (u.n + k.j) % 5 = 0 THEN NULL ELSE ((u.n * 3 + k.j) % 10 + 1)::int END,
                CASE WHEN (u.n + k.j) % 5 = 0 THEN NULL
                     ELSE to_char(date '2015-01-01' + ((u.n * 31 + k.j * 17) % 3000)::int, 'YYYY-MM-DD') END,
                timestamptz '2020-09-13 12:26:40+00' + k.j * interval '1 second' + u.n * interval '1 microsecond',
                timestamptz '2020-09-13 12:26:40+00' + k.j * interval '1 second' + u.n * interval '1 microsecond'
             FROM ({owners}) u CROSS JOIN generate_series(0, {last}) k(j)
             JOIN nums m ON m.n = (u.n * 7919 + k.j * 1999) % {movies}",
            last = per - 1
        );
        (sqlite, postgres)
    };
    let batch = 200;
    for first in (1..=users).step_by(batch as usize) {
        let last = (first + batch).min(users + 1);
        let owners_sqlite = format!(
            "SELECT id, CAST(substr(id, 10) AS INTEGER) AS n FROM users
             WHERE id >= printf('benchuser%06d', {first}) AND id < printf('benchuser%06d', {last})"
        );
        let owners_postgres = format!(
            "SELECT id, substr(id, 10)::bigint AS n FROM users
             WHERE id >= 'benchuser' || lpad('{first}', 6, '0') AND id < 'benchuser' || lpad('{last}', 6, '0')"
        );
        let (sqlite, _) = insert(&owners_sqlite, entries);
        let (_, postgres) = insert(&owners_postgres, entries);
        sql.run(&sqlite, &postgres).await;
    }
    let own = format!("SELECT '{heavy}' AS id, 0 AS n");
    let (sqlite, postgres) = insert(&own, HEAVY_ENTRIES);
    sql.run(&sqlite, &postgres).await;
    sql.run("ANALYZE", "ANALYZE").await;
    started.elapsed()
}

/// Rewrites a movie of ours (its overview), which raises the catalogue version: the timed page
/// that follows cannot come from the page cache.
async fn touch(client: &reqwest::Client, base: &str, token: &str, movie: &str, round: usize) {
    let response = client
        .patch(format!("{base}/api/movies/{movie}"))
        .bearer_auth(token)
        .json(&json!({"overview": format!("round {round}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Median of [`SAMPLES`] requests of `path`, each after a catalogue write.
async fn median(client: &reqwest::Client, base: &str, token: &str, path: &str, touched: &str) -> Duration {
    let mut times = Vec::with_capacity(SAMPLES);
    for round in 0..SAMPLES + 3 {
        touch(client, base, token, touched, round).await;
        let started = Instant::now();
        let response = client.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let _ = response.bytes().await.unwrap();
        if round >= 3 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    times[times.len() / 2]
}

/// The path `pages` `Link: rel="next"` hops after `first`.
async fn follow(client: &reqwest::Client, base: &str, token: &str, first: &str, pages: usize) -> String {
    let mut path = first.to_owned();
    for _ in 0..pages {
        let response = client.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
        let link = response.headers().get("link").expect("enough pages").to_str().unwrap().to_owned();
        let _ = response.bytes().await;
        path = link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_owned();
    }
    path
}

/// Requests per second of `request` from [`WRITERS`] clients for `seconds`.
async fn rate<F, Fut>(seconds: f64, request: F) -> (f64, u64)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let request = Arc::new(request);
    let counter = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..WRITERS {
        let (request, counter, failures, done) = (request.clone(), counter.clone(), failures.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                match request(n).await {
                    200 => done.fetch_add(1, Ordering::Relaxed),
                    _ => failures.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    (done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), failures.load(Ordering::Relaxed))
}

async fn bench_libraries(backend: &str, postgres_admin: Option<&str>, options: &Options) {
    let (database, url) = Database::create(postgres_admin, "library").await;
    let seeded = seed(&url, options.movies);
    let server = Server::start(&url, &database.log_path()).await;
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let (heavy, token) = account(&client, &base, "reader@example.com").await;
    let mut sql = Sql::open(&url).await;
    let filled = fill_libraries(&mut sql, options.movies, options.users, options.entries, &heavy).await;
    let entries = options.users * options.entries + HEAVY_ENTRIES;
    let created: Value = client
        .post(format!("{base}/api/movies"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench Touch", "casts": ["Someone"], "genres": ["Drama"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let touched = created["id"].as_str().expect("a movie of ours").to_owned();

    println!(
        "\n### {backend}: libraries ({} movies seeded in {:.1} s; {} users x {} entries and one of {HEAVY_ENTRIES}, {entries} entries written in {:.1} s)\n",
        options.movies,
        seeded.as_secs_f64(),
        options.users,
        options.entries,
        filled.as_secs_f64()
    );
    println!("| listing (100 a page) | first page ms | page of the {DEEP_ENTRY}th ms | deep / first | target <= 2x |");
    println!("|---|---|---|---|---|");
    let hops = DEEP_ENTRY / 100 - 1;
    for sort in ["added", "watched_on", "rating", "title"] {
        let first = format!("/api/users/me/library?sort={sort}&limit=100");
        let deep = follow(&client, &base, &token, &first, hops).await;
        let (a, b) = (
            median(&client, &base, &token, &first, &touched).await,
            median(&client, &base, &token, &deep, &touched).await,
        );
        let ratio = b.as_secs_f64() / a.as_secs_f64();
        println!(
            "| library sort={sort} | {} | {} | {ratio:.2} | {} |",
            ms(a),
            ms(b),
            if ratio <= 2.0 { "met" } else { "MISSED" }
        );
    }
    // The catalogue's rating sort: its 5,000th page (or its last whole one, on a smaller
    // catalogue), reached 1,000 movies a hop.
    let page = (options.movies as usize / 100).min(DEEP_ENTRY);
    let first = "/api/movies?sort=rating&limit=100".to_owned();
    let far = follow(&client, &base, &token, "/api/movies?sort=rating&limit=1000", (page - 1) / 10).await;
    let deep = follow(&client, &base, &token, &far.replacen("limit=1000", "limit=100", 1), (page - 1) % 10).await;
    let (a, b) =
        (median(&client, &base, &token, &first, &touched).await, median(&client, &base, &token, &deep, &touched).await);
    let ratio = b.as_secs_f64() / a.as_secs_f64();
    println!(
        "| catalogue sort=rating, page {} | {} | {} | {ratio:.2} | {} |",
        page,
        ms(a),
        ms(b),
        if ratio <= 2.0 { "met" } else { "MISSED" }
    );

    // A rating read back in the movie's average at once.
    let movies = sql.movies(60_000).await;
    let (rated, _, _) = &movies[movies.len() - 1];
    let before: Value = client.get(format!("{base}/api/movies/{rated}")).send().await.unwrap().json().await.unwrap();
    let started = Instant::now();
    let put = client
        .put(format!("{base}/api/users/me/library/{rated}"))
        .bearer_auth(&token)
        .json(&json!({"status": "watched", "rating": 5.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let after: Value = client.get(format!("{base}/api/movies/{rated}")).send().await.unwrap().json().await.unwrap();
    let visible = after["rating"]["count"].as_u64() == before["rating"]["count"].as_u64().map(|c| c + 1);
    println!(
        "\n| rating change | figure |\n|---|---|\n| PUT rating then GET movie | {} ms; count {} -> {}, average {} -> {}: {} |",
        ms(started.elapsed()),
        before["rating"]["count"],
        after["rating"]["count"],
        before["rating"]["average"],
        after["rating"]["average"],
        if visible { "visible at once" } else { "NOT visible" }
    );

    // Rating writes against creates, the same clients and time.
    let ids: Arc<Vec<String>> = Arc::new(movies.iter().map(|(id, _, _)| id.clone()).collect());
    let (c, b, t) = (client.clone(), base.clone(), token.clone());
    let (ratings, rating_failures) = rate(options.seconds, move |n| {
        let (c, b, t, ids) = (c.clone(), b.clone(), t.clone(), ids.clone());
        async move {
            let movie = &ids[(n as usize) % ids.len()];
            let stars = 0.5 * (1 + n % 10) as f64;
            let response = c
                .put(format!("{b}/api/users/me/library/{movie}"))
                .bearer_auth(&t)
                .json(&json!({"status": "watched", "rating": stars}))
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    })
    .await;
    let (c, b, t) = (client.clone(), base.clone(), token.clone());
    let (creates, create_failures) = rate(options.seconds, move |n| {
        let (c, b, t) = (c.clone(), b.clone(), t.clone());
        async move {
            let body = json!({"name": format!("Bench Create {n}"), "casts": ["Someone"], "genres": ["Drama"]});
            c.post(format!("{b}/api/movies")).bearer_auth(&t).json(&body).send().await.unwrap().status().as_u16()
        }
    })
    .await;
    println!(
        "\n| writes, {WRITERS} clients for {} s | per second | refused |\n|---|---|---|\n| rating (PUT library entry) | {ratings:.0} | {rating_failures} |\n| movie create (POST /api/movies) | {creates:.0} | {create_failures} |\n| target: ratings >= creates | {} | |",
        options.seconds,
        if ratings >= creates { "met" } else { "MISSED" }
    );
    drop(sql);
    drop(server);
    database.drop().await;
}

#[tokio::main]
async fn main() {
    let options = options();
    let postgres = std::env::var("MOVIEBAG_BENCH_POSTGRES_URL").ok().filter(|url| !url.trim().is_empty());
    let backend = if postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "library bench on {backend}: --catalogue {} --movies {} --users {} --entries {} --seconds {}",
        options.catalogue, options.movies, options.users, options.entries, options.seconds
    );
    bench_import(backend, postgres.as_deref(), options.catalogue).await;
    bench_libraries(backend, postgres.as_deref(), &options).await;
}
