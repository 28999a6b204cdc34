//! PostgreSQL implementation of [`Store`]: for several server processes sharing one database.
//!
//! Same methods and meaning as the SQLite store; the dialect differs (`TIMESTAMPTZ`, `TEXT[]`
//! lists, row locks where SQLite has one writer). Migrations run under sqlx's advisory lock, so
//! replicas starting together against a fresh database do not race. One file per aggregate
//! holds its methods.

mod access_tokens;
mod import;
mod library;
mod library_writes;
mod limits;
mod mail;
mod mfa;
mod movie_inserts;
mod movie_updates;
mod movies;
mod posters;
mod security_events;
mod seed;
mod sessions;
mod users;
mod verification;
mod write_batches;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};

use self::library_writes::EntryPut;
use self::movie_inserts::MovieInsert;
use self::movie_updates::MovieUpdate;
use self::write_batches::WriteBatches;
use super::coalesce::Coalescer;
use super::listing::Listings;
use super::versioned_cache::{MovieCache, PosterImages};
use super::{Conflict, PoolUse, Store, StoreError, StoreLimits, StoreResult, UnrevokedSession};
use crate::domain::{Movie, User};
use crate::domain::{MovieId, Role, SessionId};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub struct PgStore {
    pool: PgPool,
    /// Creates queued and inserted together, one statement and one commit per batch.
    movie_inserts: WriteBatches<MovieInsert>,
    /// Replaces and patches queued and applied together, likewise: edits of movies sharing a
    /// genre would otherwise queue one commit at a time on that genre's kept count.
    movie_updates: WriteBatches<MovieUpdate>,
    /// Library entries (ratings, watchlist) queued and written together, likewise.
    entry_puts: WriteBatches<EntryPut>,
    /// Concurrent lookups of one movie share a query (each is a round trip to another process).
    movie_runs: Coalescer<MovieId, StoreResult<Option<Movie>>>,
    /// Concurrent checks of one session share a query; each request still applies its own
    /// clock to the expiry that comes back.
    session_runs: Coalescer<SessionId, StoreResult<Option<UnrevokedSession>>>,
    /// Concurrent listing requests share their catalogue version check, as they share the
    /// page itself: without this every cache hit costs its own round trip.
    version_runs: Coalescer<(), StoreResult<i64>>,
    /// Listing pages, cached while the catalogue version is unchanged.
    listings: Listings,
    /// Hot poster images, valid while the catalogue version is unchanged.
    poster_images: PosterImages,
    /// Movies read by id, likewise.
    movies_by_id: MovieCache,
}

impl PgStore {
    pub async fn connect(url: &str, limits: StoreLimits) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid PostgreSQL URL")?;
        let shown =
            format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("(default)"));
        let connections = std::thread::available_parallelism().map_or(4, |n| n.get() as u32 * 2).max(4);
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(limits.database_timeout)
            .connect_with(options.statement_cache_capacity(256))
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {shown}"))?;
        MIGRATOR.run(&pool).await.with_context(|| format!("cannot apply migrations to PostgreSQL at {shown}"))?;
        Ok(Self {
            listings: Listings::default(),
            poster_images: PosterImages::default(),
            movies_by_id: MovieCache::default(),
            movie_inserts: WriteBatches::start(pool.clone(), limits.write_queue),
            movie_updates: WriteBatches::start(pool.clone(), limits.write_queue),
            entry_puts: WriteBatches::start(pool.clone(), limits.write_queue),
            pool,
            movie_runs: Coalescer::default(),
            session_runs: Coalescer::default(),
            version_runs: Coalescer::default(),
        })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_use(&self) -> PoolUse {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUse {
            in_use: self.pool.size().saturating_sub(idle),
            idle,
            max: self.pool.options().get_max_connections(),
            writes_waiting: 0,
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            // The database is unreachable, or a connection to it broke (closed mid-handshake,
            // mid-query): the client is told to come back, not that the server failed.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Self::unavailable(error),
            other => Self::other(other),
        }
    }
}

/// Maps a driver error, turning a unique violation into `conflict`.
fn unique_as(conflict: Conflict) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| {
        if let sqlx::Error::Database(db) = &error
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return StoreError::Conflict(conflict);
        }
        StoreError::from(error)
    }
}

/// A user from the columns `sql::users::user_columns!` names, found by name.
fn user_from_row(row: &PgRow) -> StoreResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).map_err(|e| StoreError::other(anyhow::anyhow!("role {role:?} {e}")))?,
        created_at: row.try_get("created_at")?,
        email_verified: row.try_get("email_verified")?,
    })
}

#[cfg(test)]
mod tests;
