//! Catalogue query benchmark: latency of listing pages and filters at 10k and 1M movies.
//!
//! ```sh
//! cargo bench --bench catalogue                                   # SQLite, 10k and 1M movies
//! MOVIEBAG_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench catalogue
//! cargo bench --bench catalogue -- --sizes 10000 --samples 100    # smaller run
//! ```
//!
//! For each backend and size it starts the real server (release build, in this process) on a
//! fresh database, seeds it with `movie-bag seed`'s generator, then times sequential keep-alive
//! HTTP requests over loopback: median and p99 per query; then each order's first and 5,000th
//! page, the listing's counts (`count=true`) and the browsing endpoints. Before each timed request one movie is
//! rewritten unchanged, so SQLite's listing page cache never answers: the figures are the queries. The deep page is reached by following
//! `Link: rel="next"` 5,000 times, then requested repeatedly.

use std::time::{Duration, Instant};

use movie_bag::config::Settings;
use movie_bag::domain::Movie;
use movie_bag::service::seed::{SEED_EMAIL, seed};
use movie_bag::startup::Application;
use movie_bag::state::SharedState;
use movie_bag::store::{MovieChange, MovieGuard, SEED_ID_PREFIX};

mod common;

use common::Database;

const DEEP_PAGES: usize = 5000;

struct Options {
    sizes: Vec<u64>,
    samples: usize,
}

fn options() -> Options {
    let mut options = Options { sizes: vec![10_000, 1_000_000], samples: 200 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--sizes" => {
                options.sizes = args[i + 1].split(',').map(|s| s.parse().expect("--sizes 10000,1000000")).collect();
                i += 1;
            }
            "--samples" => {
                options.samples = args[i + 1].parse().expect("--samples N");
                i += 1;
            }
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    options
}

struct Stats {
    median: Duration,
    p99: Duration,
    rows: usize,
}

/// Rewrites one movie unchanged, which bumps the catalogue version and so empties the SQLite page
/// cache: every timed request then measures the query, not the cache.
async fn invalidate_cache(state: &SharedState, movie: &Movie) {
    let unchanged = MovieChange::touch(movie_bag::domain::now());
    state.store.update_movie(&movie.id, &unchanged, &MovieGuard::default()).await.expect("rewrite a movie");
}

async fn measure(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    samples: usize,
    state: &SharedState,
    movie: &Movie,
) -> Stats {
    let url = format!("{base}{path}");
    let mut rows = 0;
    for _ in 0..10 {
        let body: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
        rows = body.as_array().map_or(0, Vec::len);
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        invalidate_cache(state, movie).await;
        let started = Instant::now();
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let _ = response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    Stats { median: times[times.len() / 2], p99: times[(times.len() * 99 / 100).min(times.len() - 1)], rows }
}

/// Follows the next links `pages` times from `first`; returns the path of the page reached.
async fn deep_page(client: &reqwest::Client, base: &str, first: &str, pages: usize) -> String {
    let mut path = first.to_owned();
    for _ in 0..pages {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        let link = response.headers().get("link").expect("enough pages").to_str().unwrap().to_owned();
        let _ = response.bytes().await;
        path = link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_owned();
    }
    path
}

/// The path of page `page` (from 1) of `sort` with 100 movies a page, reached quickly: the
/// links are followed with 1,000 movies a page as far as they go evenly, then with 100 (a cursor
/// does not depend on the page size).
async fn deep_sorted_page(client: &reqwest::Client, base: &str, sort: &str, page: usize) -> String {
    let skipped = (page - 1) * 100;
    let mut path = deep_page(client, base, &format!("/api/movies?limit=1000&sort={sort}"), skipped / 1000).await;
    path = path.replacen("limit=1000", "limit=100", 1);
    deep_page(client, base, &path, (skipped % 1000) / 100).await
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn run(backend: &str, postgres_admin: Option<&str>, size: u64, samples: usize) {
    let (database, url) = Database::create(postgres_admin, "bench").await;
    let settings = Settings::from_flags([
        "--port",
        "0",
        "--database-url",
        &url,
        "--jwt-secret-key",
        "benchmark-signing-key-0123456789abcdef",
    ])
    .unwrap();
    let app = Application::build(settings).await.expect("server starts");
    let state = app.state();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until(std::future::pending()));

    let started = Instant::now();
    seed(&state.store, size, true, |_, _| {}).await.expect("seed");
    let seed_seconds = started.elapsed().as_secs_f64();
    let owner =
        state.store.user_by_email(&movie_bag::domain::Email::parse(SEED_EMAIL).unwrap()).await.unwrap().unwrap().id;
    // The oldest synthetic movie: rewritten (unchanged) before each timed request.
    let untouched = state
        .store
        .movie(&movie_bag::domain::MovieId::from_stored(format!("{SEED_ID_PREFIX}{:012x}", 1)))
        .await
        .unwrap()
        .expect("seeded movie 1");

    let client = reqwest::Client::new();
    // The deep page is 5,000 pages in: with 100 per page where the catalogue allows it.
    let deep_limit = (size / (DEEP_PAGES as u64 + 1)).clamp(1, 100);
    let deep_first = format!("/api/movies?limit={deep_limit}");
    let deep_path = deep_page(&client, &base, &deep_first, DEEP_PAGES).await;

    let queries: Vec<(String, String)> = vec![
        ("first page (limit 100)".into(), "/api/movies?limit=100".into()),
        (format!("first page (limit {deep_limit})"), deep_first.clone()),
        (format!("page {DEEP_PAGES} by cursor (limit {deep_limit})"), deep_path),
        ("genre=drama".into(), "/api/movies?genre=drama".into()),
        ("cast=actor 42".into(), "/api/movies?cast=actor%2042".into()),
        ("added_by=<seed user>".into(), format!("/api/movies?added_by={owner}")),
        ("q=lantern (common word)".into(), "/api/movies?q=lantern".into()),
        ("q=4242 (rare digits)".into(), "/api/movies?q=4242".into()),
        ("genre=drama&q=storm".into(), "/api/movies?genre=drama&q=storm".into()),
    ];
    println!("\n### {backend}, {size} movies (seeded in {seed_seconds:.1} s; {samples} sequential requests each)\n");
    println!("| query | rows | median ms | p99 ms |");
    println!("|---|---|---|---|");
    let mut first_limit_l = Duration::ZERO;
    for (label, path) in &queries {
        let stats = measure(&client, &base, path, samples, &state, &untouched).await;
        if label.starts_with("first page (limit") && path == &deep_first {
            first_limit_l = stats.median;
        }
        println!("| {label} | {} | {} | {} |", stats.rows, ms(stats.median), ms(stats.p99));
        if label.starts_with("page ") {
            println!(
                "| deep / first page (limit {deep_limit}), medians | | {:.2}x | |",
                stats.median.as_secs_f64() / first_limit_l.as_secs_f64()
            );
        }
    }
    sorted_and_counted(&client, &base, size, samples, &state, &untouched, &owner).await;
    server.abort();
    drop(state);
    database.drop().await;
}

/// Every order's first and 5,000th page (100 movies a page), the listing's counts and the
/// browsing endpoints' prefix search: the targets of the record people keep (BENCHMARKS.md).
async fn sorted_and_counted(
    client: &reqwest::Client,
    base: &str,
    size: u64,
    samples: usize,
    state: &SharedState,
    untouched: &Movie,
    owner: &movie_bag::domain::UserId,
) {
    println!("\n| order | first page median ms | page {DEEP_PAGES} median ms | deep / first | target |");
    println!("|---|---|---|---|---|");
    for sort in ["newest", "oldest", "title", "year", "rating"] {
        let first_path = format!("/api/movies?limit=100&sort={sort}");
        let first = measure(client, base, &first_path, samples, state, untouched).await;
        if size < (DEEP_PAGES as u64) * 100 {
            println!("| {sort} | {} | (fewer than {DEEP_PAGES} pages) | | |", ms(first.median));
            continue;
        }
        let deep_path = deep_sorted_page(client, base, sort, DEEP_PAGES).await;
        let deep = measure(client, base, &deep_path, samples, state, untouched).await;
        assert_eq!(deep.rows, 100, "{deep_path}");
        let ratio = deep.median.as_secs_f64() / first.median.as_secs_f64();
        println!("| {sort} | {} | {} | {ratio:.2}x | at most 2x |", ms(first.median), ms(deep.median));
    }
    let counted: Vec<(String, String, &str)> = vec![
        ("none".into(), String::new(), "5"),
        ("genre=drama".into(), "&genre=drama".into(), "5"),
        ("cast=actor 42".into(), "&cast=actor%2042".into(), "5"),
        ("director=director 42".into(), "&director=director%2042".into(), "5"),
        ("added_by=<seed user>".into(), format!("&added_by={owner}"), "5"),
        ("q=lantern".into(), "&q=lantern".into(), "100"),
        ("q=4242".into(), "&q=4242".into(), "100"),
        ("year_from=1990&year_to=1999".into(), "&year_from=1990&year_to=1999".into(), "100"),
        ("year_from=2024".into(), "&year_from=2024".into(), "100"),
    ];
    println!("\n| count=true (limit=1) with | X-Total-Count | median ms | p99 ms | target ms |");
    println!("|---|---|---|---|---|");
    for (label, filter, target) in &counted {
        let path = format!("/api/movies?limit=1&count=true{filter}");
        let total = client.get(format!("{base}{path}")).send().await.unwrap();
        let total = total.headers().get("x-total-count").expect("a count").to_str().unwrap().to_owned();
        let stats = measure(client, base, &path, samples, state, untouched).await;
        println!("| {label} | {total} | {} | {} | {target} |", ms(stats.median), ms(stats.p99));
    }
    println!("\n| browsing | entries | median ms | p99 ms | target ms |");
    println!("|---|---|---|---|---|");
    for path in ["/api/casts?q=actor%2042", "/api/casts?q=42", "/api/casts?q=a", "/api/directors?q=dir", "/api/genres"]
    {
        let stats = measure(client, base, path, samples, state, untouched).await;
        println!("| {path} | {} | {} | {} | 10 |", stats.rows, ms(stats.median), ms(stats.p99));
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let postgres = std::env::var("MOVIEBAG_BENCH_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    println!("# movie-bag catalogue benchmark");
    println!(
        "machine: {} cores; sizes {:?}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.sizes
    );
    if postgres.is_none() {
        println!("(PostgreSQL skipped: set MOVIEBAG_BENCH_POSTGRES_URL to include it)");
    }
    for size in &options.sizes {
        run("SQLite", None, *size, options.samples).await;
        if let Some(admin) = &postgres {
            run("PostgreSQL", Some(admin), *size, options.samples).await;
        }
    }
}
