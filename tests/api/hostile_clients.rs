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
            .flag("--body-read-timeout", "60s")
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
