//! Builds the application from settings and serves it.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::signing_key;
use crate::auth::totp::TotpKey;
use crate::config::{DatabaseUrl, Settings};
use crate::http::serve::ConnectionLimits;
use crate::lifecycle::Lifecycle;
use crate::mail::Mailer;
use crate::mail::outbox::Outbox;
use crate::metrics::Metrics;
use crate::posters::PosterPool;
use crate::service::limits::Limits;
use crate::state::{AppState, SharedState};
use crate::store;

/// A bound, ready-to-serve server. Port 0 in the settings picks a free port: see [`Self::port`].
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: SharedState,
    /// `MAX_CONNECTIONS`, kept below the open-file limit.
    max_connections: usize,
}

impl Application {
    /// Connects the database (applying migrations), prepares keys and binds the port.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        // As a (host, port) pair, so that an IPv6 host such as `::` (dual stack) needs no brackets.
        let (host, port) = (settings.server.host.as_str(), settings.server.port);
        let listener =
            TcpListener::bind((host, port)).await.with_context(|| format!("cannot listen on {host} port {port}"))?;
        // With port 0 the system picked one: emailed links (PUBLIC_URL's default) name it.
        settings.server.port = listener.local_addr()?.port();
        let signing_key = signing_key::resolve(&settings)?;
        let keys = TokenKeys::new(&signing_key, settings.tokens.access_token_ttl)?;
        // TOTP secrets are sealed under a key of their own, derived from the signing key.
        let totp_key = TotpKey::derive(&signing_key);
        let limits = store::StoreLimits {
            write_queue: settings.limits.write_queue_limit as usize,
            database_timeout: settings.limits.database_timeout,
            scan_queue: settings.limits.scan_queue_limit as usize,
            readers: settings.limits.sqlite_readers,
        };
        let store = store::connect_with(&settings.database_url, limits).await?;
        let hasher = PasswordHasher::new(hashing_threads(), settings.limits.hash_queue_limit as usize)?;
        tracing::info!(permits = hasher.permit_count(), "password hashing pool ready");
        let posters = PosterPool::for_this_machine(settings.limits.poster_queue_limit as usize)?;
        tracing::info!(workers = posters.workers(), queue = posters.queue(), "poster pool ready");
        let state = Arc::new(AppState {
            hasher,
            posters,
            mailer: Mailer::from_settings(&settings)?,
            outbox: Outbox::default(),
            limits: Limits::new(settings.limits.auth_rate_limit_per_minute, settings.limits.account_failed_login_limit),
            metrics: Arc::new(Metrics::default()),
            lifecycle: Lifecycle::default(),
            totp_key,
            keys,
            store,
            settings,
        });
        let router = crate::http::router(state.clone());
        let max_connections = connection_cap(state.settings.server.max_connections);
        Ok(Self { listener, router, state, max_connections })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes; then drains for `SHUTDOWN_DRAIN` (`/ready` failing,
    /// requests still served, no connection kept alive), stops accepting, lets in-flight
    /// requests finish within `SHUTDOWN_TIMEOUT`, and closes the database pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let local = self.listener.local_addr()?;
        tracing::info!(address = %local, database = backend_name(&self.state.settings.database_url), "movie-bag listening");
        let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
        let lifecycle = self.state.lifecycle.clone();
        let drain = self.state.settings.server.shutdown_drain;
        let signal = async move {
            shutdown.await;
            lifecycle.start_draining();
            if !drain.is_zero() {
                tracing::info!(
                    milliseconds = drain.as_millis(),
                    "draining: /ready answers 503 while requests are served"
                );
                tokio::time::sleep(drain).await;
            }
            tracing::info!("closing the listener");
            let _ = stopping_tx.send(true);
        };
        // The email sender lives as long as the server: aborted with it, whatever stops it.
        let sender = self.state.outbox.clone().run_sender(
            self.state.store.clone(),
            self.state.mailer.clone(),
            self.state.settings.mail.give_up_after,
            self.state.settings.mail.lease,
        );
        let _sender = AbortOnDrop(tokio::spawn(sender));
        let _housekeeping = AbortOnDrop(tokio::spawn(crate::service::housekeeping::run(
            self.state.store.clone(),
            self.state.settings.tokens.security_event_retention,
        )));
        let _backups = self.scheduled_backups().map(|schedule| AbortOnDrop(tokio::spawn(schedule)));
        let limits = ConnectionLimits {
            header_read_timeout: self.state.settings.server.header_read_timeout,
            max_connections: self.max_connections,
        };
        let server = crate::http::serve::serve(self.listener, self.router, limits, signal);
        let grace = self.state.settings.server.shutdown_timeout;
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

impl Application {
    /// The schedule of `BACKUP_DIR` backups, on SQLite; PostgreSQL is backed up with its own
    /// tools (README, "Backing up and restoring").
    fn scheduled_backups(&self) -> Option<impl Future<Output = ()> + Send + 'static> {
        let settings = self.state.settings.backup.clone();
        settings.backup_dir.as_ref()?;
        match &self.state.settings.database_url {
            DatabaseUrl::Sqlite(_) => {
                let path = self.state.settings.database_url.sqlite_path()?;
                Some(crate::backup::run_schedule(path, settings, self.state.metrics.clone()))
            }
            DatabaseUrl::Postgres(_) => {
                tracing::warn!("BACKUP_DIR is ignored with PostgreSQL: back it up with pg_dump (see the README)");
                None
            }
        }
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Password-hashing threads: one per core but one (at least one), so that a login flood always
/// leaves a core to the requests, whatever else runs on the machine.
fn hashing_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.saturating_sub(1).max(1)
}

/// Descriptors kept for what is not a client connection: the database, files, backups, SMTP.
const DESCRIPTORS_HELD_BACK: u64 = 256;

/// `MAX_CONNECTIONS`, lowered to fit the open-file limit (raised to its hard limit first).
fn connection_cap(configured: u32) -> usize {
    let configured = u64::from(configured);
    let cap = match crate::os::raise_open_file_limit() {
        Some(files) if files.saturating_sub(DESCRIPTORS_HELD_BACK) < configured => {
            let fitted = files.saturating_sub(DESCRIPTORS_HELD_BACK).max(1);
            tracing::warn!(
                open_files = files,
                max_connections = fitted,
                "MAX_CONNECTIONS lowered to fit the open-file limit"
            );
            fitted
        }
        _ => configured,
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
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
