//! Persistence: one trait per aggregate ([`traits`]), an SQLite and a PostgreSQL implementation.
//!
//! A store only runs SQL: the rules live in `service/`, the HTTP in `http/`. Every method that
//! must be atomic runs its own transaction, so callers never hold one across an `.await` of
//! theirs. SQL the two backends share is written once in [`sql`]; each backend's folder holds,
//! one file per aggregate, its methods and the statements only its dialect needs.

pub mod coalesce;
mod error;
mod id_columns;
pub mod limits;
mod listing;
mod listing_plan;
pub mod page_cache;
mod postgres;
mod records;
mod seed_words;
mod sql;
mod sqlite;
mod statement;
mod traits;
mod versioned_cache;

use std::sync::Arc;

use crate::config::DatabaseUrl;

pub use crate::metrics::{MailCounts, PoolUse};
pub use error::{Conflict, StoreError, StoreResult};
pub use page_cache::MoviePage;
pub use postgres::PgStore;
pub use records::*;
pub use seed_words::{SEED_GENRES, SEED_WORDS};
pub use sqlite::{IN_USE_LOCK, SQLITE_SCHEMA_VERSION, SqliteStore, check_migrated_schema};
pub use traits::*;

pub type DynStore = Arc<dyn Store>;

/// Bounds on a store's internal queues: past one, a write is refused with
/// [`StoreError::Overloaded`] instead of waiting in unbounded memory.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// Writes waiting for the SQLite writer thread, or creates waiting for the PostgreSQL batcher.
    pub write_queue: usize,
    /// How long a request waits for the database (a pooled connection, a lock) before it is
    /// refused with [`StoreError::Unavailable`].
    pub database_timeout: std::time::Duration,
    /// SQLite reads that may wait for a scan permit.
    pub scan_queue: usize,
    /// Read-only SQLite connections open at once.
    pub readers: u32,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self { write_queue: 1024, database_timeout: std::time::Duration::from_secs(2), scan_queue: 512, readers: 64 }
    }
}

/// Opens the database the URL names and applies pending migrations (default limits).
pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<DynStore> {
    connect_with(url, StoreLimits::default()).await
}

/// Opens the database the URL names, applies pending migrations, bounds queues by `limits`.
pub async fn connect_with(url: &DatabaseUrl, limits: StoreLimits) -> anyhow::Result<DynStore> {
    Ok(match url {
        DatabaseUrl::Sqlite(_) => Arc::new(SqliteStore::connect(url, limits).await?),
        DatabaseUrl::Postgres(raw) => Arc::new(PgStore::connect(raw, limits).await?),
    })
}
