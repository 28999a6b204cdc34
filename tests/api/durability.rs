//! Crashes, signals and load: nothing acknowledged is lost, nothing a client sends gets a 5xx.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use sqlx::Connection as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::helpers::{Backend, TestDatabase, movie_body, user_on};
use crate::process::ServerProcess;

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
    let response = client
        .post(format!("{base}/api/movies"))
        .bearer_auth(token)
        .json(&movie_body(name))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if status == 200 { Ok(body["id"].as_str().unwrap().to_owned()) } else { Err(format!("{status}: {body}")) }
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
        let mut acknowledged = Vec::new();
        for i in 0..60 {
            acknowledged.push(create_on(&client, &server.address, &token, &format!("Crash {i}")).await.unwrap());
        }
        server.signal("KILL");
        server.wait_exit(Duration::from_secs(10)).await;
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
        let mut server = ServerProcess::start(&database).await;
        let (_, token) = user_on(&client, &server.address, "term@example.com").await;
        let base = server.address.clone();
        let writers = (0..6).map(|writer| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..400 {
                    match create_on(&client, &base, &token, &format!("Term {writer}-{i}")).await {
                        Ok(id) => acknowledged.push(id),
                        // Refused or cut off once the server stops accepting: not acknowledged.
                        Err(error) => {
                            assert!(!error.starts_with('5'), "a 5xx during shutdown: {error}");
                            break;
                        }
                    }
                }
                acknowledged
            })
        });
        let writers: Vec<_> = writers.collect();
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.signal("TERM");
        let status = server.wait_exit(Duration::from_secs(40)).await;
        assert!(status.success(), "exit status {status:?}");
        let acknowledged: Vec<String> = join_all(writers).await.into_iter().flat_map(|w| w.unwrap()).collect();
        assert!(!acknowledged.is_empty(), "some writes happened before the signal");
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
            async move { request.send().await.map(|r| r.status().as_u16()).map_err(|e| e.to_string()) }
        });
        let statuses: Vec<_> = join_all(requests).await;
        let failures: Vec<_> = statuses.iter().filter(|s| !matches!(s, Ok(200))).collect();
        assert!(failures.is_empty(), "{} of 1500 failed: {:?}", failures.len(), &failures[..failures.len().min(10)]);
        let unique: HashSet<_> = (0..1500).filter(|i| i % 5 == 2).collect();
        assert_eq!(unique.len(), 300);
    }
}
