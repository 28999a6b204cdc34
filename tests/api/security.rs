//! Abuse from outside: slow clients, forged headers, hostile input that must change nothing.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests! {
    async fn a_connection_that_does_not_finish_its_request_head_in_time_is_closed(backend) {
        let app = TestApp::builder(backend).flag("--header-read-timeout", "1s").spawn().await;
        let host = app.address.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let started = Instant::now();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        // A slowloris client dribbles a header byte now and then, never ending the head.
        let mut closed = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(b"X").await.is_err() {
                closed = true;
                break;
            }
        }
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        closed = closed || matches!(read, Ok(Ok(_)) | Ok(Err(_)));
        assert!(closed, "the connection stayed open");
        assert!(started.elapsed() < Duration::from_secs(6), "closed only after {:?}", started.elapsed());
        // The server itself is fine.
        app.get("/health", None).await.assert_status(200);
    }
}
