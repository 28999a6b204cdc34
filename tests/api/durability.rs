//! Crashes, signals and load: nothing acknowledged is lost, nothing a client sends gets a 5xx.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;
use sqlx::Connection as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::helpers::{Backend, TestDatabase, movie_body, user_on};
use crate::process::{ProcessOptions, ServerProcess};

/// Holds the movies table locked (another client's long transaction) until dropped: the
/// connection is only kept, never read.
#[allow(dead_code)]
pub enum TableLock {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

pub async fn lock_movies(backend: &Backend, url: &str) -> TableLock {
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
            TableLock::Sqlite(conn)
        }
        Backend::Postgres(_) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("LOCK TABLE movies IN ACCESS EXCLUSIVE MODE").execute(&mut conn).await.unwrap();
            TableLock::Postgres(conn)
        }
    }
}

async fn create_on(client: &reqwest::Client, base: &str, token: &str, name: &str) -> Result<String, String> {
    match create_outcome(client, base, token, name).await {
        Outcome::Created(id) => Ok(id),
        Outcome::Refused(status, body) => Err(format!("{status}: {body}")),
        Outcome::Transport(error) => Err(error),
    }
}

/// What became of one create.
#[derive(Debug, Clone)]
enum Outcome {
    /// 200 with the movie's id: acknowledged.
    Created(String),
    /// Any other answer.
    Refused(u16, String),
    /// No answer: the connection failed, or closed before a whole response.
    Transport(String),
}

async fn create_outcome(client: &reqwest::Client, base: &str, token: &str, name: &str) -> Outcome {
    let response =
        match client.post(format!("{base}/api/movies")).bearer_auth(token).json(&movie_body(name)).send().await {
            Ok(response) => response,
            Err(error) => return Outcome::Transport(format!("{error:?}")),
        };
    let status = response.status().as_u16();
    match response.text().await {
        Err(error) => Outcome::Transport(format!("{error:?}")),
        Ok(body) if status == 200 => {
            let body: serde_json::Value = serde_json::from_str(&body).expect("a movie");
            Outcome::Created(body["id"].as_str().expect("an id").to_owned())
        }
        Ok(body) => Outcome::Refused(status, body),
    }
}

/// One create as a writer saw it: whether it started before the signal, and whether its
/// outcome came after it.
#[derive(Debug, Clone)]
struct Attempt {
    started_before_signal: bool,
    ended_after_signal: bool,
    outcome: Outcome,
}

/// `name` from the server's `/metrics` (a gauge or counter without labels).
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Waits until `condition` holds, failing after a minute with `what`.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn movie_exists(client: &reqwest::Client, base: &str, id: &str) -> bool {
    client.get(format!("{base}/api/movies/{id}")).send().await.unwrap().status() == 200
}

backend_tests! {
    async fn every_acknowledged_create_survives_kill_9(backend) {
        let database = TestDatabase::create(&backend).await;
        let client = reqwest::Client::new();
        let mut server = ServerProcess::start(&database).await;
        let (_, token) = user_on(&client, &server.address, "crash@example.com").await;
        let killed = Arc::new(AtomicBool::new(false));
        let acknowledged_so_far = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        // Six writers create without pause until their server is gone; the kill comes while
        // several creates are in flight (some committed, unanswered), seen by the writers' count.
        let writers: Vec<_> = (0..6)
            .map(|writer| {
                let (client, base, token) = (client.clone(), server.address.clone(), token.clone());
                let (killed, acknowledged_so_far, in_flight) = (killed.clone(), acknowledged_so_far.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let mut attempts = Vec::new();
                    for i in 0.. {
                        let started_before_signal = !killed.load(Ordering::SeqCst);
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let outcome = create_outcome(&client, &base, &token, &format!("Crash {writer}-{i}")).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        let attempt = Attempt { started_before_signal, ended_after_signal: killed.load(Ordering::SeqCst), outcome };
                        let stop = matches!(attempt.outcome, Outcome::Transport(_));
                        if matches!(attempt.outcome, Outcome::Created(_)) {
                            acknowledged_so_far.fetch_add(1, Ordering::SeqCst);
                        }
                        attempts.push(attempt);
                        if stop {
                            break;
                        }
                    }
                    attempts
                })
            })
            .collect();
        wait_until("60 acknowledged creates", || acknowledged_so_far.load(Ordering::SeqCst) >= 60).await;
        // Another client holds the movies table, so the creates under way cannot be answered
        // before the kill (a create takes far less than the time `kill` takes to land); the kill
        // comes once every writer has one outstanding (a create the server answered just
        // before the lock is still counted until its writer has read the answer, so fewer than
        // six may all be answered ones), well within DATABASE_TIMEOUT.
        let lock = lock_movies(&backend, &database.url).await;
        wait_until("a create in flight from every writer", || in_flight.load(Ordering::SeqCst) == 6).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        killed.store(true, Ordering::SeqCst);
        server.signal("KILL");
        server.wait_exit(Duration::from_secs(10)).await;
        drop(lock);
        let attempts: Vec<Attempt> = join_all(writers).await.into_iter().flat_map(|w| w.unwrap()).collect();
        for attempt in &attempts {
            assert!(!matches!(attempt.outcome, Outcome::Refused(..)), "a create was refused: {attempt:?}");
        }
        let cut_off = attempts.iter().filter(|a| a.started_before_signal && matches!(a.outcome, Outcome::Transport(_))).count();
        assert!(cut_off > 0, "no create was in flight when the server was killed");
        let acknowledged: Vec<&String> =
            attempts.iter().filter_map(|a| if let Outcome::Created(id) = &a.outcome { Some(id) } else { None }).collect();
        assert!(acknowledged.len() >= 60);
        let restarted = ServerProcess::start(&database).await;
        for id in &acknowledged {
            assert!(movie_exists(&client, &restarted.address, id).await, "acknowledged movie {id} lost");
        }
        // The session survived the crash too.
        let me = client.get(format!("{}/api/users/me", restarted.address)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), 200);
    }

    async fn sigterm_during_concurrent_writes_exits_0_and_keeps_every_acknowledged_write(backend) {
        let database = TestDatabase::create(&backend).await;
        let client = reqwest::Client::new();
        // Writes held up behind another client's lock wait for it rather than being refused.
        let options = ProcessOptions { env: vec![("DATABASE_TIMEOUT".into(), "60s".into())], ..Default::default() };
        let mut server = ServerProcess::start_with(&database, options).await;
        let (_, token) = user_on(&client, &server.address, "term@example.com").await;
        let base = server.address.clone();
        let signalled = Arc::new(AtomicBool::new(false));
        let exited = Arc::new(AtomicBool::new(false));
        let acknowledged_so_far = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        // Six writers create until the server has exited, whatever each create's outcome; every
        // outcome is kept, with whether it started before SIGTERM and ended after it.
        let writers: Vec<_> = (0..6)
            .map(|writer| {
                let (client, base, token) = (client.clone(), base.clone(), token.clone());
                let (signalled, exited) = (signalled.clone(), exited.clone());
                let (acknowledged_so_far, in_flight) = (acknowledged_so_far.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let mut attempts = Vec::new();
                    let mut i = 0;
                    while !exited.load(Ordering::SeqCst) {
                        i += 1;
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let started_before_signal = !signalled.load(Ordering::SeqCst);
                        let outcome = create_outcome(&client, &base, &token, &format!("Term {writer}-{i}")).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        if matches!(outcome, Outcome::Created(_)) {
                            acknowledged_so_far.fetch_add(1, Ordering::SeqCst);
                        }
                        attempts.push(Attempt { started_before_signal, ended_after_signal: signalled.load(Ordering::SeqCst), outcome });
                    }
                    attempts
                })
            })
            .collect();
        wait_until("30 acknowledged creates", || acknowledged_so_far.load(Ordering::SeqCst) >= 30).await;
        // Another client locks the movies: each writer's next create reaches the server and waits
        // there. Once every writer has one outstanding and the server reports a write held up in
        // the database, SIGTERM.
        let lock = lock_movies(&backend, &database.url).await;
        wait_until("a create outstanding from every writer", || in_flight.load(Ordering::SeqCst) == 6).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while metric(&client, &base, "moviebag_db_pool_connections_in_use").await < 1.0 {
            assert!(Instant::now() < deadline, "no create reached the locked database");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        signalled.store(true, Ordering::SeqCst);
        server.signal("TERM");
        // The server has taken the signal once it stops listening; then the lock goes, and the
        // writes it held up finish during the shutdown.
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.is_ok() {
            assert!(Instant::now() < deadline, "the server kept listening after SIGTERM");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(lock);
        let status = server.wait_exit(Duration::from_secs(40)).await;
        exited.store(true, Ordering::SeqCst);
        assert!(status.success(), "exit status {status:?}");
        let attempts: Vec<Vec<Attempt>> = join_all(writers).await.into_iter().map(|w| w.unwrap()).collect();

        for attempt in attempts.iter().flatten() {
            if let Outcome::Refused(status, body) = &attempt.outcome {
                assert!(*status < 500, "a {status} during shutdown: {body}");
            }
            // A create sent before SIGTERM reached a server that was still taking requests: it is
            // answered, and acknowledged, whatever the shutdown does meanwhile.
            if attempt.started_before_signal {
                assert!(matches!(attempt.outcome, Outcome::Created(_)), "a create sent before SIGTERM: {attempt:?}");
            }
        }
        // Every writer's create was held up across the signal: SIGTERM came with six in flight.
        for (writer, attempts) in attempts.iter().enumerate() {
            assert!(
                attempts.iter().any(|a| a.started_before_signal && a.ended_after_signal),
                "writer {writer} had no create in flight at SIGTERM"
            );
        }
        let acknowledged: Vec<&String> = attempts
            .iter()
            .flatten()
            .filter_map(|a| if let Outcome::Created(id) = &a.outcome { Some(id) } else { None })
            .collect();
        let restarted = ServerProcess::start(&database).await;
        for id in &acknowledged {
            assert!(movie_exists(&client, &restarted.address, id).await, "acknowledged movie {id} lost");
        }
    }

    async fn the_server_keeps_500_idle_keep_alive_connections_and_answers_each_afterwards(backend) {
        let database = TestDatabase::create(&backend).await;
        let server = ServerProcess::start(&database).await;
        let request = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port);
        let mut connections = Vec::new();
        for _ in 0..500 {
            connections.push(tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap());
        }
        async fn ask(stream: &mut tokio::net::TcpStream, request: &str) -> String {
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut buffer = vec![0u8; 1024];
            let mut read = 0;
            while !String::from_utf8_lossy(&buffer[..read]).contains("{\"status\":\"ok\"}") {
                let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer[read..])).await.unwrap().unwrap();
                assert!(n > 0, "connection closed");
                read += n;
            }
            String::from_utf8_lossy(&buffer[..read]).into_owned()
        }
        for stream in &mut connections {
            assert!(ask(stream, &request).await.starts_with("HTTP/1.1 200"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        for stream in &mut connections {
            assert!(ask(stream, &request).await.starts_with("HTTP/1.1 200"), "an idle connection was dropped");
        }
    }

    async fn fifteen_hundred_mixed_concurrent_requests_get_no_5xx(backend) {
        let database = TestDatabase::create(&backend).await;
        let server = ServerProcess::start(&database).await;
        let client = reqwest::Client::new();
        let base = server.address.clone();
        let (_, token) = user_on(&client, &base, "load@example.com").await;
        let mut mine = Vec::new();
        for i in 0..20 {
            mine.push(create_on(&client, &base, &token, &format!("Seed {i}")).await.unwrap());
        }
        let requests = (0..1500).map(|i| {
            let url = |path: String| format!("{base}{path}");
            let request = match i % 5 {
                0 => client.get(url("/api/movies?limit=20".into())),
                1 => client.get(url(format!("/api/movies/{}", mine[i % mine.len()]))),
                2 => client.post(url("/api/movies".into())).bearer_auth(&token).json(&movie_body(&format!("Load {i}"))),
                3 => client
                    .patch(url(format!("/api/movies/{}", mine[i % mine.len()])))
                    .bearer_auth(&token)
                    .json(&json!({"genres": [format!("Genre {i}")]})),
                _ => client.get(url("/api/users/me".into())).bearer_auth(&token),
            };
            async move {
                let response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
                // A create's answer names the movie it made.
                Ok::<_, String>((status, (i % 5 == 2).then(|| body["id"].as_str().map(str::to_owned))))
            }
        });
        let outcomes: Vec<_> = join_all(requests).await;
        let failures: Vec<_> = outcomes.iter().filter(|o| !matches!(o, Ok((200, _)))).collect();
        assert!(failures.is_empty(), "{} of 1500 failed: {:?}", failures.len(), &failures[..failures.len().min(10)]);
        // What the server kept: each of the 300 creates answered with its own id, and each is a
        // movie in the database, with nothing else made.
        let created: HashSet<String> =
            outcomes.iter().filter_map(|o| o.as_ref().ok()?.1.clone()).map(|id| id.expect("a created movie's id")).collect();
        assert_eq!(created.len(), 300, "300 creates answered with 300 distinct ids");
        for id in &created {
            assert!(movie_exists(&client, &base, id).await, "created movie {id} not served");
        }
        let kept = database.select_count("SELECT COUNT(*) FROM movies WHERE name LIKE 'Load %'").await;
        assert_eq!(kept, 300, "movies the server kept from the 300 creates");
        assert_eq!(database.select_count("SELECT COUNT(DISTINCT name) FROM movies WHERE name LIKE 'Load %'").await, 300);
        assert_eq!(database.select_count("SELECT COUNT(*) FROM movies").await, 320, "the 20 seeds and the 300 creates");
    }
}
