//! A second server as a separate OS process (the real binary) on a shared database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TEST_JWT_KEY, TestDatabase};

pub struct ServerProcess {
    pub address: String,
    child: Child,
}

impl ServerProcess {
    pub async fn start(database: &TestDatabase) -> Self {
        Self::start_with(database, Some(TEST_JWT_KEY)).await
    }

    /// `jwt_key: None` leaves `JWT_SECRET_KEY` unset (SQLite then generates and keeps one).
    pub async fn start_with(database: &TestDatabase, jwt_key: Option<&str>) -> Self {
        // Reserve a free port, release it, and hand it to the child.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_movie-bag"));
        command.env_clear();
        if let Some(key) = jwt_key {
            command.env("JWT_SECRET_KEY", key);
        }
        let child = command
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &database.url)
            .env("PORT", port.to_string())
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server binary starts");
        let server = Self { address: format!("http://127.0.0.1:{port}"), child };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(reply) = client.get(format!("{}/ready", server.address)).send().await
                && reply.status() == 200
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server process did not become ready on port {port}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
