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
        // A free port is reserved, released and handed to the child; another test may take it in
        // between, so a start that fails to listen is retried on a fresh port.
        for _ in 0..4 {
            if let Some(server) = Self::try_start(database, &options).await {
                return server;
            }
        }
        panic!("server process could not find a free port");
    }

    /// `None` when the child could not listen on its port.
    async fn try_start(database: &TestDatabase, options: &ProcessOptions) -> Option<Self> {
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
        // The log goes to a file: the caller's, or a temporary one shown if the start fails.
        let log_path = options.log_file.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("movie-bag-process-{}.log", uuid::Uuid::new_v4().simple()))
        });
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
        let stderr = Stdio::from(file);
        let child = command
            .env("DATABASE_URL", &database.url)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("server binary starts");
        let mut server = Self { address: format!("http://127.0.0.1:{port}"), port, child };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(reply) = client.get(format!("{}/ready", server.address)).send().await
                && reply.status() == 200
            {
                if options.log_file.is_none() {
                    let _ = std::fs::remove_file(&log_path);
                }
                return Some(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                if log.contains("cannot listen") && options.port.is_none() {
                    return None;
                }
                panic!("server process exited with {status} before becoming ready on port {port}:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!("server process did not become ready on port {port}:\n{log}");
    }

    /// The process's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
        line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmHWM value")
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
