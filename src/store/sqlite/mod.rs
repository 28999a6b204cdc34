//! SQLite implementation of [`Store`]: the embedded default.
//!
//! Queries run on rusqlite connections driven by [`engine`]: lookups on the request's own thread,
//! scans on the blocking pool, writes on one writer thread that commits queued writes together.
//! [`migrate`] applies the migrations with the same driver, under a file lock so processes
//! starting together on one fresh file take turns. WAL with `synchronous=NORMAL`:
//! a process crash loses nothing committed. One file per aggregate holds its methods.

mod access_tokens;
mod engine;
mod import;
mod library;
mod limits;
mod mail;
mod mfa;
mod migrate;
mod movies;
mod posters;
mod schema;
mod security_events;
mod seed;
mod sessions;
mod users;
mod verification;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};

use self::engine::Engine;
use super::listing::Listings;
use super::versioned_cache::PosterImages;
use super::{PoolUse, Store, StoreLimits, StoreResult};
use crate::config::DatabaseUrl;
use crate::domain::Role;
use crate::domain::User;
use crate::files::{LockKind, create_private_unless_present, lock_beside};

pub use schema::check_migrated_schema;

/// The newest schema version this binary migrates an SQLite database to.
pub const SQLITE_SCHEMA_VERSION: i64 = migrate::LATEST_VERSION;

/// The lock file every process using the database holds shared (`<db>.in-use`);
/// `movie-bag restore` takes it exclusively, so it cannot replace a database in use.
pub const IN_USE_LOCK: &str = "in-use";

pub struct SqliteStore {
    engine: Engine,
    /// Listing pages, cached while the catalogue version is unchanged.
    listings: Listings,
    /// Hot poster images, valid while the catalogue version is unchanged.
    poster_images: PosterImages,
    /// A shared lock on [`IN_USE_LOCK`] beside the database, for as long as this store lives.
    _in_use: std::fs::File,
}

impl SqliteStore {
    pub async fn connect(url: &DatabaseUrl, limits: StoreLimits) -> anyhow::Result<Self> {
        // Every connection must see the same database, which an in-memory one cannot offer.
        let path = url.sqlite_path().context("movie-bag needs an SQLite file: use DATABASE_URL=sqlite://path")?;
        engine::configure_library();
        let shown = path.display().to_string();
        // Opening a fresh file switches it to WAL, which needs an exclusive lock that does not
        // wait on busy_timeout: processes starting together on one fresh file would fail with
        // "database is locked" or race the migrations. A file lock beside the database
        // serialises opening and migrating.
        let startup_lock = lock_beside(&path, "migrate-lock", LockKind::Exclusive)
            .await
            .with_context(|| format!("cannot open the SQLite database {shown}"))?;
        // 0600 like the key file beside it; SQLite gives the `-wal` and `-shm` files its mode.
        create_private_unless_present(&path).with_context(|| format!("cannot create the SQLite database {shown}"))?;
        let migrated_path = path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut connection = Connection::open(&migrated_path)?;
            connection.busy_timeout(std::time::Duration::from_secs(10))?;
            // WAL persists in the file: set once here, every later connection finds it.
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "foreign_keys", true)?;
            migrate::run(&mut connection)
        })
        .await?
        .with_context(|| format!("cannot apply migrations to {shown}"))?;
        let engine =
            Engine::open(&path, &limits).with_context(|| format!("cannot open the SQLite database {shown}"))?;
        // Held while this process uses the database: `movie-bag restore` refuses while any is.
        let in_use = lock_beside(&path, IN_USE_LOCK, LockKind::Shared)
            .await
            .with_context(|| format!("cannot open the SQLite database {shown}"))?;
        drop(startup_lock);
        Ok(Self { engine, listings: Listings::default(), poster_images: PosterImages::default(), _in_use: in_use })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.engine.read(|db| db.prepare_cached("SELECT 1")?.query_row([], |_| Ok(()))).await
    }

    fn pool_use(&self) -> PoolUse {
        self.engine.pool_use()
    }

    async fn close(&self) {
        self.engine.close().await;
    }
}

/// Times are stored as microseconds since the epoch.
fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A stored value the code never writes, in the column named `column` of `row`.
fn corrupt(
    row: &Row<'_>,
    column: &str,
    problem: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> rusqlite::Error {
    let index = row.as_ref().column_index(column).unwrap_or(0);
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, problem.into())
}

/// A time column, stored as microseconds.
fn time_of(row: &Row<'_>, column: &str) -> rusqlite::Result<DateTime<Utc>> {
    let micros: i64 = row.get(column)?;
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(row, column, format!("time out of range: {micros}")))
}

/// A user from the columns `sql::users::user_columns!` names, found by name.
fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: row.get("id")?,
        email: row.get("email")?,
        role: Role::parse(&role).map_err(|e| corrupt(row, "role", format!("role {role:?} {e}")))?,
        created_at: time_of(row, "created_at")?,
        email_verified: row.get("email_verified")?,
    })
}

#[cfg(test)]
pub(crate) mod tests;
