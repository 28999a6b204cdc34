//! Builds the application from settings and serves it.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::account_throttle::AccountThrottle;
use crate::auth::jwt::{MIN_SECRET_BYTES, TokenKeys};
use crate::auth::password::PasswordHasher;
use crate::coalesce::Coalescer;
use crate::config::{DatabaseUrl, Secret, Settings};
use crate::mail::Mailer;
use crate::mail::outbox::Outbox;
use crate::metrics::Metrics;
use crate::page_cache::PageCache;
use crate::rate_limit::RateLimiter;
use crate::state::{AppState, SharedState};
use crate::store;

/// A bound, ready-to-serve server. Port 0 in the settings picks a free port: see [`Self::port`].
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: SharedState,
}

impl Application {
    /// Connects the database (applying migrations), prepares keys and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let secret = resolve_jwt_secret(&settings)?;
        let keys = TokenKeys::new(&secret, settings.access_token_ttl)?;
        let limits = store::StoreLimits { write_queue: settings.write_queue_limit as usize };
        let store = store::connect_with(&settings.database_url, limits).await?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hasher = PasswordHasher::new(cores, settings.hash_queue_limit as usize)?;
        tracing::info!(permits = hasher.permit_count(), "password hashing pool ready");
        let state = Arc::new(AppState {
            hasher,
            mailer: Mailer::from_settings(&settings)?,
            outbox: Outbox::default(),
            auth_rate_limiter: RateLimiter::new(settings.auth_rate_limit_per_minute),
            account_throttle: AccountThrottle::new(settings.account_failed_login_limit),
            metrics: Metrics::default(),
            page_cache: PageCache::default(),
            listing_runs: Coalescer::default(),
            keys,
            store,
            settings,
        });
        let address = format!("{}:{}", state.settings.host, state.settings.port);
        let listener = TcpListener::bind(&address).await.with_context(|| format!("cannot listen on {address}"))?;
        let router = crate::http::router(state.clone());
        Ok(Self { listener, router, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets in-flight requests finish
    /// within `SHUTDOWN_TIMEOUT`, and closes the database pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let local = self.listener.local_addr()?;
        tracing::info!(address = %local, database = backend_name(&self.state.settings.database_url), "movie-bag listening");
        let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
        let signal = async move {
            shutdown.await;
            let _ = stopping_tx.send(true);
        };
        // The email sender lives as long as the server: aborted with it, whatever stops it.
        let sender = self.state.outbox.clone().run_sender(
            self.state.store.clone(),
            self.state.mailer.clone(),
            self.state.settings.mail_give_up_after,
        );
        let _sender = AbortOnDrop(tokio::spawn(sender));
        let header_read_timeout = self.state.settings.header_read_timeout;
        let server = crate::http::serve::serve(self.listener, self.router, header_read_timeout, signal);
        let grace = self.state.settings.shutdown_timeout;
        let deadline = async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = server => {},
            () = deadline => tracing::warn!(seconds = grace.as_secs(), "in-flight requests did not finish within SHUTDOWN_TIMEOUT"),
        }
        // Closing waits for connections to come back; never let it hold the exit hostage.
        if tokio::time::timeout(std::time::Duration::from_secs(5), self.state.store.close()).await.is_err() {
            tracing::warn!("database connections did not close within 5 s");
        }
        Ok(())
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn backend_name(url: &DatabaseUrl) -> &'static str {
    match url {
        DatabaseUrl::Sqlite(_) => "sqlite",
        DatabaseUrl::Postgres(_) => "postgres",
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}

/// The signing key: `JWT_SECRET_KEY`, or with SQLite a key generated once and kept in a file
/// beside the database (`<database>.jwt-key`, mode 0600), so tokens survive restarts with zero
/// configuration. PostgreSQL deployments run several replicas, which must share one key: there
/// it must be set.
fn resolve_jwt_secret(settings: &Settings) -> anyhow::Result<Secret> {
    if let Some(secret) = &settings.jwt_secret_key {
        if secret.expose().len() < MIN_SECRET_BYTES {
            anyhow::bail!("JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long");
        }
        return Ok(secret.clone());
    }
    match (&settings.database_url, settings.database_url.sqlite_path()) {
        (DatabaseUrl::Postgres(_), _) => {
            anyhow::bail!("JWT_SECRET_KEY must be set with PostgreSQL: every replica must sign with the same key")
        }
        (_, Some(database)) => {
            let mut name = database.file_name().unwrap_or_default().to_os_string();
            name.push(".jwt-key");
            load_or_create_key(&database.with_file_name(name))
        }
        (_, None) => {
            tracing::warn!(
                "JWT_SECRET_KEY is not set: using a random key for this in-memory database; tokens die with the process"
            );
            Ok(Secret::new(crate::auth::secret_token::generate()))
        }
    }
}

fn load_or_create_key(path: &Path) -> anyhow::Result<Secret> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let key = existing.trim();
        if key.len() >= MIN_SECRET_BYTES {
            return Ok(Secret::new(key));
        }
        anyhow::bail!(
            "the key file {} is shorter than {MIN_SECRET_BYTES} bytes: delete it or set JWT_SECRET_KEY",
            path.display()
        );
    }
    let key = format!("{}{}", crate::auth::secret_token::generate(), crate::auth::secret_token::generate());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Written whole to a private temporary file, then linked into place: a second process
    // starting at the same moment either links first (and we read its key) or finds ours
    // complete. Never a half-written key, never two keys.
    let temporary = path.with_extension(format!("tmp-{}", crate::model::new_id()));
    write_private(&temporary, &key)
        .with_context(|| format!("cannot write the generated JWT key to {}", temporary.display()))?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "JWT_SECRET_KEY is not set: generated a signing key and kept it beside the database");
            Ok(Secret::new(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_existing_key(path),
        Err(e) => Err(e).with_context(|| format!("cannot store the generated JWT key at {}", path.display())),
    }
}

fn load_existing_key(path: &Path) -> anyhow::Result<Secret> {
    let existing =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
    let key = existing.trim();
    if key.len() < MIN_SECRET_BYTES {
        anyhow::bail!(
            "the key file {} is shorter than {MIN_SECRET_BYTES} bytes: delete it or set JWT_SECRET_KEY",
            path.display()
        );
    }
    Ok(Secret::new(key))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
