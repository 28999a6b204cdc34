//! Poster benchmark: the targets of issue 23 for poster uploads and poster serving.
//!
//! ```sh
//! cargo bench --bench posters                                                 # SQLite
//! MOVIEBAG_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench posters
//! cargo bench --bench posters -- --uploads 9 --clients 32 --seconds 5        # the defaults
//! ```
//!
//! The server is the release binary, started as a process of its own (`movie-bag serve`) on a
//! fresh database, so that its peak RSS (`VmHWM` in `/proc/PID/status`) is the server's alone.
//! The bench generates a 6000 x 4000 photo-like JPEG (smooth shading, texture and sensor-like
//! noise, quality 90, a few MB), signs up, logs in and creates one movie per upload, then:
//!
//! 1. uploads it sequentially, each to its own movie, timing each from the request's first byte
//!    to the answer's last (target: at most 1.5 s);
//! 2. reads one movie (`GET /api/movies/{id}`) from `--clients` concurrent keep-alive clients,
//!    alone for `--seconds`, then again while 8 uploads are sent at once (the window is from
//!    their start to the last one's answer); an upload answered 503 is retried after its
//!    `Retry-After` (targets: peak RSS under 400 MB, reads at least half their rate alone);
//! 3. serves the 320 px rendition and `/health` with the same load, interleaved, three rounds
//!    each (target: the poster at least half of `/health`'s requests per second).
//!
//! The load generator is reqwest in this process, one client (one keep-alive connection) per
//! concurrent reader, and shares the machine's cores with the server: the same generator for
//! every rate that is compared.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;
use serde_json::{Value, json};

mod common;

use common::Database;

const WIDTH: u32 = 6000;
const HEIGHT: u32 = 4000;
const CONCURRENT_UPLOADS: usize = 8;
const UPLOAD_TARGET: Duration = Duration::from_millis(1500);
const RSS_TARGET_MB: f64 = 400.0;
const KEY: &str = "benchmark-signing-key-0123456789abcdefghijkl";

struct Options {
    uploads: usize,
    clients: usize,
    seconds: f64,
}

fn options() -> Options {
    let mut options = Options { uploads: 9, clients: 32, seconds: 5.0 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).expect("a value after the flag");
        match args[i].as_str() {
            "--uploads" => {
                options.uploads = value().parse().expect("--uploads N");
                i += 1;
            }
            "--clients" => {
                options.clients = value().parse().expect("--clients N");
                i += 1;
            }
            "--seconds" => {
                options.seconds = value().parse().expect("--seconds S");
                i += 1;
            }
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    options.uploads = options.uploads.max(1);
    options.clients = options.clients.max(1);
    options
}

/// A small deterministic generator (xorshift64*): the image is the same on every run.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A grid of random colours, one every `cell` pixels, read with bilinear interpolation: smooth
/// patches of colour like a photo's large shapes (`cell` large) or its texture (`cell` small).
struct ValueNoise {
    cell: f32,
    columns: usize,
    values: Vec<[f32; 3]>,
}

impl ValueNoise {
    fn new(noise: &mut Noise, cell: u32, amplitude: f32) -> Self {
        let columns = (WIDTH / cell + 2) as usize;
        let rows = (HEIGHT / cell + 2) as usize;
        let values =
            (0..columns * rows).map(|_| [0, 1, 2].map(|_| noise.signed() * amplitude)).collect::<Vec<[f32; 3]>>();
        Self { cell: cell as f32, columns, values }
    }

    fn at(&self, x: u32, y: u32) -> [f32; 3] {
        let (fx, fy) = (x as f32 / self.cell, y as f32 / self.cell);
        let (cx, cy) = (fx as usize, fy as usize);
        let (tx, ty) = (fx - cx as f32, fy - cy as f32);
        // Smoothstep, so the cells' edges do not show.
        let (tx, ty) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
        let v = |col: usize, row: usize| self.values[row * self.columns + col];
        let (a, b, c, d) = (v(cx, cy), v(cx + 1, cy), v(cx, cy + 1), v(cx + 1, cy + 1));
        [0, 1, 2].map(|k| {
            let top = a[k] + (b[k] - a[k]) * tx;
            let bottom = c[k] + (d[k] - c[k]) * tx;
            top + (bottom - top) * ty
        })
    }
}

/// 6000 x 4000 RGB pixels: a sky-to-ground gradient, large and small shapes, and per-pixel noise
/// of `grain` levels (what makes a camera's JPEG several MB).
fn photo_pixels(grain: f32) -> Vec<u8> {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let shapes = ValueNoise::new(&mut noise, 400, 70.0);
    let detail = ValueNoise::new(&mut noise, 24, 30.0);
    let fine = ValueNoise::new(&mut noise, 4, 10.0);
    let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    for y in 0..HEIGHT {
        let height = y as f32 / HEIGHT as f32;
        let base = [90.0 + 80.0 * (1.0 - height), 110.0 + 40.0 * (1.0 - height), 170.0 - 110.0 * height];
        for x in 0..WIDTH {
            let (s, d, f) = (shapes.at(x, y), detail.at(x, y), fine.at(x, y));
            let grain = noise.signed() * grain;
            for k in 0..3 {
                pixels.push((base[k] + s[k] + d[k] + f[k] + grain).clamp(0.0, 255.0) as u8);
            }
        }
    }
    pixels
}

/// The upload: a photo-like JPEG of a realistic size (3 to 9 MB; the server takes up to 10 MiB).
fn photo_jpeg() -> Bytes {
    let mut grain = 6.0;
    let mut jpeg = Vec::new();
    for _ in 0..5 {
        let pixels = photo_pixels(grain);
        jpeg.clear();
        JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode(&pixels, WIDTH, HEIGHT, ExtendedColorType::Rgb8)
            .expect("encode the test JPEG");
        let mb = jpeg.len() as f64 / 1e6;
        if mb < 3.0 {
            grain *= 1.6;
        } else if mb > 9.0 {
            grain /= 1.6;
        } else {
            break;
        }
    }
    Bytes::from(jpeg)
}

/// The release server as its own process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str, log: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_movie-bag"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("JWT_SECRET_KEY", KEY)
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
            .env("ENV_FILE_LOCATION", "/nonexistent/.env")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("the server's log"))
            .spawn()
            .expect("start the release server");
        let server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(response) = client.get(format!("{}/ready", server.base)).send().await
                && response.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become ready; its log: {}", log.display());
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmHWM` (peak resident set) and `VmRSS` of the server process, in MB.
    fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One upload's outcome: its first answer, the 503s it got before being stored, and its time
/// from the first request to the stored answer.
struct Upload {
    first_status: u16,
    busy: usize,
    attempt_time: Duration,
    total_time: Duration,
    poster: Value,
}

async fn upload(client: &reqwest::Client, base: &str, token: &str, movie: &str, jpeg: &Bytes) -> Upload {
    let started = Instant::now();
    let mut busy = 0;
    let mut first_status = 0;
    let mut attempt_time = Duration::ZERO;
    loop {
        let attempt = Instant::now();
        let response = client
            .put(format!("{base}/api/movies/{movie}/poster"))
            .bearer_auth(token)
            .header("content-type", "image/jpeg")
            .body(jpeg.clone())
            .send()
            .await
            .expect("the upload is answered");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let body = response.bytes().await.expect("the upload's answer");
        if first_status == 0 {
            first_status = status;
            attempt_time = attempt.elapsed();
        }
        match status {
            200 => {
                let movie: Value = serde_json::from_slice(&body).expect("the movie");
                return Upload {
                    first_status,
                    busy,
                    attempt_time,
                    total_time: started.elapsed(),
                    poster: movie["poster"].clone(),
                };
            }
            503 => {
                busy += 1;
                let wait = retry_after.expect("a 503 carries Retry-After");
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => panic!("upload answered {other}: {}", String::from_utf8_lossy(&body)),
        }
    }
}

/// The server process, whose CPU time the loads report.
static SERVER_PID: AtomicU32 = AtomicU32::new(0);

/// CPU ticks (USER_HZ) so far: the server's, this process's, the machine's busy and total.
#[derive(Clone, Copy)]
struct Ticks {
    server: u64,
    bench: u64,
    /// Every process named `postgres` (the database's backends, on this machine).
    postgres: u64,
    busy: u64,
    total: u64,
}

fn process_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat_ticks(&stat)
}

fn stat_ticks(stat: &str) -> u64 {
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    // utime and stime, fields 14 and 15 of the line (11 and 12 after the command's name).
    [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum()
}

fn postgres_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| stat_ticks(&stat))
        .sum()
}

impl Ticks {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        let total: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        Self {
            server: process_ticks(&SERVER_PID.load(Ordering::Relaxed).to_string()),
            bench: process_ticks("self"),
            postgres: postgres_ticks(),
            busy: total - idle,
            total,
        }
    }

    /// Cores used since `earlier`: the server, the bench (the load generator), PostgreSQL,
    /// everything else (other work on the machine), and idle.
    fn cores_since(&self, earlier: &Self) -> String {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let total = (self.total - earlier.total).max(1) as f64;
        let share = |ticks: u64| ticks as f64 / total * cores;
        let (server, bench, busy) =
            (self.server - earlier.server, self.bench - earlier.bench, self.busy - earlier.busy);
        // A backend that exited meanwhile takes its ticks with it: never below zero.
        let postgres = self.postgres.saturating_sub(earlier.postgres);
        format!(
            "server {:.2}, bench {:.2}, postgres {:.2}, other {:.2}, idle {:.2}",
            share(server),
            share(bench),
            share(postgres),
            share(busy.saturating_sub(server + bench + postgres)),
            share(self.total - earlier.total - (self.busy - earlier.busy))
        )
    }
}

/// Requests answered 200 by `clients` concurrent keep-alive clients until `stop` is set.
struct Load {
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    started: Instant,
    ticks: Ticks,
}

struct Rate {
    per_second: f64,
    ok: u64,
    failed: u64,
    seconds: f64,
    /// Cores used meanwhile, by whom.
    cpu: String,
}

impl Load {
    async fn start(url: &str, clients: usize) -> Self {
        Self::start_over(&[url.to_owned()], clients).await
    }

    /// Client `i` asks for `urls[i % urls.len()]`.
    async fn start_over(urls: &[String], clients: usize) -> Self {
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut connected = Vec::new();
        // Every client connects (and warms its connection) before the clock starts.
        for i in 0..clients {
            let url = urls[i % urls.len()].clone();
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
            let response = client.get(&url).send().await.expect("the load's first request");
            assert_eq!(response.status(), 200, "{url}");
            let _ = response.bytes().await;
            connected.push((client, url));
        }
        let started = Instant::now();
        let ticks = Ticks::now();
        let tasks = connected
            .into_iter()
            .map(|(client, url)| {
                let (ok, failed, stop) = (Arc::clone(&ok), Arc::clone(&failed), Arc::clone(&stop));
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let answered = match client.get(&url).send().await {
                            Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
                            Err(_) => false,
                        };
                        if stop.load(Ordering::Relaxed) {
                            break; // answered after the window: not counted
                        }
                        if answered { &ok } else { &failed }.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self { ok, failed, stop, tasks, started, ticks }
    }

    async fn stop(self) -> Rate {
        self.stop.store(true, Ordering::Relaxed);
        let seconds = self.started.elapsed().as_secs_f64();
        let cpu = Ticks::now().cores_since(&self.ticks);
        let (ok, failed) = (self.ok.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed));
        for task in self.tasks {
            let _ = task.await;
        }
        Rate { per_second: ok as f64 / seconds, ok, failed, seconds, cpu }
    }

    async fn for_seconds(url: &str, clients: usize, seconds: f64) -> Rate {
        Self::over_for_seconds(&[url.to_owned()], clients, seconds).await
    }

    async fn over_for_seconds(urls: &[String], clients: usize, seconds: f64) -> Rate {
        let load = Self::start_over(urls, clients).await;
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        load.stop().await
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.0}", duration.as_secs_f64() * 1000.0)
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "NOT MET" }
}

async fn post_json(client: &reqwest::Client, url: &str, token: Option<&str>, body: &Value) -> Value {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "POST {url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The absolute URL of `poster`'s rendition `width` px wide.
fn source_url(base: &str, poster: &Value, width: u64) -> Option<String> {
    let url = poster["sources"].as_array()?.iter().find(|source| source["width"] == width)?["url"].as_str()?;
    Some(if url.starts_with("http") { url.to_owned() } else { format!("{base}{url}") })
}

async fn run(backend: &str, postgres_admin: Option<&str>, jpeg: &Bytes, options: &Options) {
    let (database, url) = Database::create(postgres_admin, "posterbench").await;
    let log = database.log_path();
    let server = Server::start(&url, &log).await;
    SERVER_PID.store(server.pid(), Ordering::Relaxed);
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let credentials = json!({"email": "posterbench@example.com", "password": "benchmark password"});
    post_json(&client, &format!("{base}/api/auth/signup"), None, &credentials).await;
    let login = post_json(&client, &format!("{base}/api/auth/login"), None, &credentials).await;
    let token = login["token"].as_str().expect("a token").to_owned();
    let movies_needed = options.uploads + CONCURRENT_UPLOADS + 1;
    let mut movies = Vec::with_capacity(movies_needed);
    for i in 0..movies_needed {
        let movie = json!({
            "name": format!("Poster bench {i}"), "year": 1950 + i, "runtime": 90 + i,
            "casts": [format!("Actor {i}")], "directors": [format!("Director {}", i % 9)],
            "genres": ["Drama"], "overview": format!("Movie {i} of the poster benchmark."),
        });
        let created = post_json(&client, &format!("{base}/api/movies"), Some(&token), &movie).await;
        movies.push(created["id"].as_str().expect("an id").to_owned());
    }
    let (read_movie, movies) = movies.split_first().unwrap();
    let (sequential_movies, concurrent_movies) = movies.split_at(options.uploads);
    let (rss_start, _) = server.memory_mb();

    println!(
        "\n### {backend} ({} cores; upload {:.2} MB, {WIDTH} x {HEIGHT} JPEG; server pid {}, {:.1} MB peak RSS at start)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        jpeg.len() as f64 / 1e6,
        server.pid(),
        rss_start,
    );

    // 1. Sequential uploads, each to its own movie.
    println!("\n#### 1. One 24-megapixel upload at a time ({} uploads, each to its own movie)\n", options.uploads);
    println!("| upload | status | ms | renditions |");
    println!("|---|---|---|---|");
    let mut times = Vec::new();
    let mut poster = Value::Null;
    for (n, movie) in sequential_movies.iter().enumerate() {
        let done = upload(&client, &base, &token, movie, jpeg).await;
        let widths: Vec<String> = done.poster["sources"]
            .as_array()
            .map(|sources| sources.iter().map(|source| source["width"].to_string()).collect())
            .unwrap_or_default();
        println!("| {} | {} | {} | {} |", n + 1, done.first_status, ms(done.total_time), widths.join(", "));
        times.push(done.total_time);
        poster = done.poster;
    }
    times.sort();
    let (median, min, max) = (times[times.len() / 2], times[0], times[times.len() - 1]);
    let (rss_sequential, _) = server.memory_mb();
    println!("\n| median ms | min ms | max ms | target | |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | at most {} ms | {} |",
        ms(median),
        ms(min),
        ms(max),
        ms(UPLOAD_TARGET),
        verdict(median <= UPLOAD_TARGET)
    );
    println!("\n(peak RSS after the sequential uploads: {rss_sequential:.1} MB)");

    // 2. Reads alone, then the same reads while 8 uploads are sent at once.
    let read_url = format!("{base}/api/movies/{read_movie}");
    let alone = Load::for_seconds(&read_url, options.clients, options.seconds).await;
    let (rss_before, _) = server.memory_mb();
    let reads = Load::start(&read_url, options.clients).await;
    let burst_started = Instant::now();
    let uploads = futures_util::future::join_all(concurrent_movies.iter().map(|movie| {
        let (client, base, token) = (reqwest::Client::new(), base.clone(), token.clone());
        async move { upload(&client, &base, &token, movie, jpeg).await }
    }))
    .await;
    let burst_time = burst_started.elapsed();
    let during = reads.stop().await;
    let (rss_peak, rss_now) = server.memory_mb();
    println!(
        "\n#### 2. {CONCURRENT_UPLOADS} uploads at once, while {} keep-alive clients read `GET /api/movies/{{id}}`\n",
        options.clients
    );
    println!("| upload | first status | first answer ms | 503s | stored after ms |");
    println!("|---|---|---|---|---|");
    for (n, done) in uploads.iter().enumerate() {
        assert!(done.poster["sources"].is_array(), "upload {n} stored a poster");
        println!(
            "| {} | {} | {} | {} | {} |",
            n + 1,
            done.first_status,
            ms(done.attempt_time),
            done.busy,
            ms(done.total_time)
        );
    }
    let refused = uploads.iter().filter(|done| done.busy > 0).count();
    println!(
        "\nAll {CONCURRENT_UPLOADS} stored in {} ms; {refused} first answered 503 (retried after Retry-After).",
        ms(burst_time)
    );
    let ratio = during.per_second / alone.per_second;
    println!("\n| measure | figure | target | |");
    println!("|---|---|---|---|");
    println!(
        "| server peak RSS (VmHWM) | {rss_peak:.1} MB (before the burst {rss_before:.1}, after it VmRSS {rss_now:.1}) | under {RSS_TARGET_MB:.0} MB | {} |",
        verdict(rss_peak < RSS_TARGET_MB)
    );
    println!(
        "| reads alone | {:.0} req/s ({} in {:.1} s, {} failed; cores: {}) | | |",
        alone.per_second, alone.ok, alone.seconds, alone.failed, alone.cpu
    );
    println!(
        "| reads during the uploads | {:.0} req/s ({} in {:.1} s, {} failed; cores: {}) | | |",
        during.per_second, during.ok, during.seconds, during.failed, during.cpu
    );
    println!("| during / alone | {:.1}% | at least 50% | {} |", 100.0 * ratio, verdict(ratio >= 0.5));

    // 3. The 320 px rendition against /health, same load, interleaved rounds; with references:
    // every client its own poster, and a movie read (one for all, or every client its own).
    let poster_url = source_url(&base, &poster, 320).expect("a 320 px rendition");
    let poster_bytes = client.get(&poster_url).send().await.unwrap().bytes().await.unwrap().len();
    let all_posters: Vec<String> =
        uploads.iter().map(|done| source_url(&base, &done.poster, 320).expect("a 320 px rendition")).collect();
    let all_movies: Vec<String> = movies.iter().map(|movie| format!("{base}/api/movies/{movie}")).collect();
    let scenarios: Vec<(String, Vec<String>)> = vec![
        ("GET /health".into(), vec![format!("{base}/health")]),
        ("GET 320 px poster (one for all clients)".into(), vec![poster_url.clone()]),
        (format!("reference: GET 320 px posters ({} different)", all_posters.len()), all_posters),
        ("reference: GET /api/movies/{id} (one for all)".into(), vec![read_url.clone()]),
        (format!("reference: GET /api/movies/{{id}} ({} different)", all_movies.len()), all_movies),
    ];
    let rounds = 3;
    let round_seconds = (options.seconds * 0.6).max(1.0);
    let mut rates: Vec<Vec<Rate>> = scenarios.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (n, (_, urls)) in scenarios.iter().enumerate() {
            rates[n].push(Load::over_for_seconds(urls, options.clients, round_seconds).await);
        }
    }
    println!(
        "\n#### 3. Serving the 320 px poster ({poster_bytes} bytes) vs `GET /health`: {} keep-alive clients, {rounds} interleaved rounds of {round_seconds:.1} s\n",
        options.clients
    );
    println!("| route | req/s (median) | rounds | cores used in the median round | vs /health |");
    println!("|---|---|---|---|---|");
    let mut medians = Vec::new();
    for ((label, _), mut rounds) in scenarios.iter().zip(rates) {
        let list = rounds.iter().map(|rate| format!("{:.0}", rate.per_second)).collect::<Vec<_>>().join(", ");
        rounds.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        let median = &rounds[rounds.len() / 2];
        let versus =
            medians.first().map_or(String::new(), |health: &f64| format!("{:.1}%", 100.0 * median.per_second / health));
        println!("| {label} | {:.0} | {list} | {} | {versus} |", median.per_second, median.cpu);
        medians.push(median.per_second);
    }
    let ratio = medians[1] / medians[0];
    println!("\n| poster / health | {:.1}% | target at least 50% | {} |", 100.0 * ratio, verdict(ratio >= 0.5));
    let _ = std::io::stdout().flush();

    drop(server);
    database.drop().await;
}

#[tokio::main]
async fn main() {
    let options = options();
    let postgres = std::env::var("MOVIEBAG_BENCH_POSTGRES_URL").ok().filter(|url| !url.is_empty());
    println!("# movie-bag poster benchmark");
    let started = Instant::now();
    let jpeg = tokio::task::spawn_blocking(photo_jpeg).await.unwrap();
    println!(
        "test image: {WIDTH} x {HEIGHT} photo-like JPEG (quality 90), {:.2} MB, generated in {:.1} s; \
         load: {} keep-alive reqwest clients in the bench process",
        jpeg.len() as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        options.clients
    );
    if postgres.is_none() {
        println!("(PostgreSQL skipped: set MOVIEBAG_BENCH_POSTGRES_URL to include it)");
    }
    run("SQLite", None, &jpeg, &options).await;
    if let Some(admin) = &postgres {
        run("PostgreSQL", Some(admin), &jpeg, &options).await;
    }
}
