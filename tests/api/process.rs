//! Servers as separate OS processes (the real binary) on a shared database: for scale-out,
//! signals, crashes and captured logs.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TEST_JWT_KEY, TestDatabase};

/// How to start a server process.
pub struct ProcessOptions {
    /// `None` leaves `JWT_SECRET_KEY` unset (SQLite then generates and keeps one).
    pub jwt_key: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Where stderr (the log) goes; discarded when `None`.
    pub log_file: Option<PathBuf>,
    /// A fixed port (to restart on the same address); a free one when `None`.
    pub port: Option<u16>,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        Self { jwt_key: Some(TEST_JWT_KEY.to_owned()), env: Vec::new(), log_file: None, port: None }
    }
}

pub struct ServerProcess {
    pub address: String,
    pub port: u16,
    child: Child,
}

impl ServerProcess {
    pub async fn start(database: &TestDatabase) -> Self {
        Self::start_with(database, ProcessOptions::default()).await
    }

    pub async fn start_with(database: &TestDatabase, options: ProcessOptions) -> Self {
        // Reserve a free port, release it, and hand it to the child.
        let port = options
            .port
            .unwrap_or_else(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_movie-bag"));
        command.env_clear().env("RUST_LOG", "warn").env("AUTH_RATE_LIMIT_PER_MINUTE", "0");
        if let Some(key) = &options.jwt_key {
            command.env("JWT_SECRET_KEY", key);
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let stderr = match &options.log_file {
            Some(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("log file");
                Stdio::from(file)
            }
            None => Stdio::null(),
        };
        let child = command
            .env("DATABASE_URL", &database.url)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("server binary starts");
        let server = Self { address: format!("http://127.0.0.1:{port}"), port, child };
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

    /// Sends a signal by name (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args(["-s", name, &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits for the process to exit, at most `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit within {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
