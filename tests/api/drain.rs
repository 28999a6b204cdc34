//! Shutdown with a drain (`SHUTDOWN_DRAIN`): `/ready` fails at once, requests go on being served
//! with `Connection: close`, then the listener closes and idle connections end cleanly.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::backend_tests;
use crate::helpers::{TestDatabase, movie_body, read, user_on};
use crate::process::{ProcessOptions, ServerProcess};

fn draining_for(drain: &str) -> ProcessOptions {
    ProcessOptions { env: vec![("SHUTDOWN_DRAIN".into(), drain.into())], ..Default::default() }
}

/// One request on a fresh connection, as raw bytes: the whole answer up to the server's close
/// or `Content-Length`.
async fn raw_get(port: u16, path: &str, keep_alive: bool) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connects");
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: {connection}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.unwrap().unwrap();
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if read == 0 || answer_is_complete(&text) {
            return (stream, text.into_owned());
        }
    }
}

fn answer_is_complete(text: &str) -> bool {
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse::<usize>().ok());
    length.is_some_and(|length| body.len() >= length)
}

backend_tests! {
    async fn sigterm_with_a_drain_fails_ready_at_once_and_serves_reads_and_writes_with_connection_close_until_the_listener_closes(backend) {
        let database = TestDatabase::create(&backend).await;
        let mut server = ServerProcess::start_with(&database, draining_for("3s")).await;
        let client = reqwest::Client::new();
        let (_, token) = user_on(&client, &server.address, "drain@example.com").await;
        let base = server.address.clone();
        let created = read(client.post(format!("{base}/api/movies")).bearer_auth(&token).json(&movie_body("Before")).send().await.unwrap()).await;
        created.assert_status(200);
        let id = created.body["id"].as_str().unwrap().to_owned();
        // Before the signal, answers keep the connection.
        let (_, before) = raw_get(server.port, "/health", true).await;
        assert!(!before.to_ascii_lowercase().contains("connection: close"), "{before}");

        let signalled = Instant::now();
        server.signal("TERM");
        // `/ready` fails at once; the process still answers everything else.
        let mut ready = 200;
        while signalled.elapsed() < Duration::from_secs(1) {
            ready = client.get(format!("{base}/ready")).send().await.unwrap().status().as_u16();
            if ready == 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(ready, 503, "/ready still answered 200 a second after SIGTERM");
        let movie = client.get(format!("{base}/api/movies/{id}")).send().await.unwrap();
        assert_eq!(movie.status(), 200);
        assert_eq!(movie.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
        let during = read(client.post(format!("{base}/api/movies")).bearer_auth(&token).json(&movie_body("During the drain")).send().await.unwrap()).await;
        during.assert_status(200);
        assert_eq!(during.header("connection"), Some("close"));
        // A keep-alive request is answered and its connection then closed by the server.
        let (mut stream, answer) = raw_get(server.port, "/health", true).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
        let mut rest = [0u8; 16];
        let after = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut rest)).await.expect("closed").unwrap();
        assert_eq!(after, 0, "the connection was not closed after a draining answer");
        assert!(signalled.elapsed() < Duration::from_secs(3), "the checks above took the whole drain");

        // After the drain the process exits cleanly and nothing listens.
        let status = server.wait_exit(Duration::from_secs(20)).await;
        assert!(status.success(), "exit status {status}");
        assert!(signalled.elapsed() >= Duration::from_secs(3), "the listener closed before SHUTDOWN_DRAIN");
        assert!(TcpStream::connect(("127.0.0.1", server.port)).await.is_err(), "still listening after exit");
        // Both creates were kept.
        let restarted = ServerProcess::start(&database).await;
        let names: Vec<String> = client.get(format!("{}/api/movies", restarted.address)).send().await.unwrap()
            .json::<Vec<serde_json::Value>>().await.unwrap()
            .iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
        assert!(names.contains(&"Before".to_owned()) && names.contains(&"During the drain".to_owned()), "{names:?}");
    }

    async fn an_idle_keep_alive_connection_is_closed_cleanly_at_shutdown(backend) {
        let database = TestDatabase::create(&backend).await;
        let mut server = ServerProcess::start_with(&database, draining_for("0s")).await;
        // A client that keeps its connection open and idle after one answer.
        let (mut idle, answer) = raw_get(server.port, "/health", true).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        server.signal("TERM");
        // The server ends it with an orderly close (end of stream), not a reset, and no
        // half-written answer.
        let mut rest = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut rest)).await.expect("closed in time");
        assert_eq!(read.expect("an orderly close, not a reset"), 0);
        let status = server.wait_exit(Duration::from_secs(20)).await;
        assert!(status.success(), "exit status {status}");
    }

    async fn a_request_in_flight_at_the_end_of_the_drain_finishes_before_the_process_exits(backend) {
        let database = TestDatabase::create(&backend).await;
        let mut server = ServerProcess::start_with(&database, draining_for("1s")).await;
        let client = reqwest::Client::new();
        let (_, token) = user_on(&client, &server.address, "inflight@example.com").await;
        // A request whose body arrives slowly is still being received when the drain ends: it
        // is answered, and its write kept.
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
        let body = serde_json::to_string(&movie_body("Slow body")).unwrap();
        let head = format!(
            "POST /api/movies HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body.as_bytes()[..5]).await.unwrap();
        server.signal("TERM");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stream.write_all(&body.as_bytes()[5..]).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await.expect("answered").unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let status = server.wait_exit(Duration::from_secs(20)).await;
        assert!(status.success(), "exit status {status}");
        let restarted = ServerProcess::start(&database).await;
        let movies: Vec<serde_json::Value> =
            client.get(format!("{}/api/movies", restarted.address)).send().await.unwrap().json().await.unwrap();
        assert!(movies.iter().any(|m| m["name"] == "Slow body"), "{movies:?}");
    }
}
