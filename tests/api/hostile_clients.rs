//! Clients that hold the server's resources without finishing anything: bodies that trickle in,
//! oversized heads, more connections than the server can keep.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::backend_tests;
use crate::helpers::{TestApp, movie_body};

fn host_of(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends a login whose head promises `length` bytes of body, then one.
async fn trickling_login(host: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads what the server sent until it closes the connection (or `wait` passes).
async fn answer_of(stream: &mut TcpStream, wait: Duration) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

backend_tests! {
    async fn bodies_that_trickle_in_hold_no_turn_and_other_clients_are_served_meanwhile(backend) {
        // Four turns, and eight clients each sending a byte of a 60,000-byte body: before bodies
        // were read outside the limit, the ninth client waited for REQUEST_TIMEOUT.
        let app = TestApp::builder(backend)
            .flag("--max-concurrent-requests", "4")
            .flag("--body-read-timeout", "20s")
            .spawn()
            .await;
        let user = app.new_user().await;
        let host = host_of(&app);
        let mut slow = Vec::new();
        for _ in 0..8 {
            slow.push(trickling_login(&host, 60_000).await);
        }
        // Give the server every chance to take the slow requests in first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let listing = client.get(app.url("/api/movies")).send().await.expect("a read is served beside trickling bodies");
        assert_eq!(listing.status(), 200);
        let create = client
            .post(app.url("/api/movies"))
            .bearer_auth(&user.token)
            .json(&movie_body("Served meanwhile"))
            .send()
            .await
            .expect("a write is served beside trickling bodies");
        assert_eq!(create.status(), 200);
        // The slow clients are still waiting: none of them was answered yet.
        for stream in &mut slow {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await;
            assert!(read.is_err(), "a trickling client was answered before its body arrived");
        }
    }

    async fn a_body_that_does_not_arrive_within_the_body_read_timeout_is_answered_408_and_does_nothing(backend) {
        let app = TestApp::builder(backend).flag("--body-read-timeout", "1s").spawn().await;
        let user = app.new_user().await;
        let mut stream = TcpStream::connect(host_of(&app)).await.unwrap();
        let body = serde_json::to_vec(&movie_body("Never arrives")).unwrap();
        let head = format!(
            "POST /api/movies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            user.token,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // All but the last byte: the request is never whole.
        stream.write_all(&body[..body.len() - 1]).await.unwrap();
        let answer = answer_of(&mut stream, Duration::from_secs(20)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "answer: {answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"), "answer: {answer}");
        let json_start = answer.find("\r\n\r\n").map(|i| i + 4).unwrap_or_default();
        let error: Value = serde_json::from_str(&answer[json_start..]).expect("a JSON error body");
        assert_eq!(error["code"], "request_timeout");
        assert_eq!(error["status"], 408);
        assert!(app.all_movies().await.is_empty(), "a request that never arrived whole wrote a movie");
    }
}

/// The status line of the answer to `request` sent on a new connection ("" when none came).
async fn status_line_of(host: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(host).await.unwrap();
    let _ = stream.write_all(request).await;
    let answer = answer_of(&mut stream, Duration::from_secs(10)).await;
    answer.lines().next().unwrap_or_default().to_owned()
}

backend_tests! {
    async fn a_request_head_over_64_kib_is_refused_431_and_the_server_keeps_serving(backend) {
        let app = TestApp::spawn(backend).await;
        let padding = "a".repeat(100 * 1024);
        let request = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: {padding}\r\nConnection: close\r\n\r\n");
        let status = status_line_of(&host_of(&app), request.as_bytes()).await;
        assert!(status.is_empty() || status.starts_with("HTTP/1.1 431"), "status: {status}");
        // A head under the cap is served as ever.
        let padding = "a".repeat(32 * 1024);
        let request = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: {padding}\r\nConnection: close\r\n\r\n");
        assert_eq!(status_line_of(&host_of(&app), request.as_bytes()).await, "HTTP/1.1 200 OK");
    }

    async fn past_max_connections_a_new_connection_is_refused_at_once_and_the_open_ones_are_served(backend) {
        let app = TestApp::builder(backend).flag("--max-connections", "8").spawn().await;
        let host = host_of(&app);
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(TcpStream::connect(&host).await.unwrap());
        }
        // The ninth is answered 503 and closed, without waiting for a request.
        let mut ninth = TcpStream::connect(&host).await.unwrap();
        let answer = answer_of(&mut ninth, Duration::from_secs(10)).await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 503"), "answer: {answer}");
        // The open ones are served.
        for stream in held.iter_mut().take(3) {
            stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
            let mut buffer = [0u8; 64];
            let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.unwrap().unwrap();
            assert!(buffer[..read].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buffer[..read]));
        }
        // Once some close, new connections are taken again.
        held.truncate(4);
        let mut served = false;
        for _ in 0..50 {
            if status_line_of(&host, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await == "HTTP/1.1 200 OK" {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(served, "no new connection was served after four closed");
    }
}

/// Linux only: the limits are read from /proc.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_open_file_soft_limit_is_raised_to_the_hard_limit_at_start() {
    let _app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|line| line.starts_with("Max open files")).unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers[0], numbers[1], "soft and hard limits differ: {line}");
}
