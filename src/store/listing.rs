//! Pages of the catalogue listing, cached per process and shared between concurrent requests,
//! over either backend. The service asks for a page; how it is made fast stays here.
//!
//! - A rendered page is kept with the catalogue version it was read at ([`page_cache`]). Each
//!   request first reads the version (one tiny query): a page is served from the cache only while
//!   the version is unchanged. The version is read before the page, so a cached page is never
//!   older than its version says; every committed movie write raises the version, in the write's
//!   own transaction, so after an acknowledged write through any process no process serves a
//!   page from before it. Both backends keep the version (SQLite one counter, PostgreSQL 16
//!   counters summed, so concurrent writers do not queue on one row).
//! - A page that must be read is read once for every request asking for it meanwhile
//!   ([`coalesce`]): a request joins only a reading that starts after it arrived, so it never
//!   gets a page from before its own arrival.
//!
//! [`page_cache`]: super::page_cache
//! [`coalesce`]: super::coalesce

use std::sync::Arc;

use super::coalesce::Coalescer;
use super::page_cache::{MoviePage, PageCache};
use super::{DynStore, MovieCursor, MovieQuery, SharedResult, StoreError, StoreResult, run_shared};

pub struct Listings {
    store: DynStore,
    cache: PageCache,
    readings: Coalescer<MovieQuery, SharedResult<Arc<MoviePage>>>,
}

impl Listings {
    pub fn new(store: DynStore) -> Self {
        Self { store, cache: PageCache::default(), readings: Coalescer::default() }
    }

    /// The page `query` asks for, newest first, with where the next one starts.
    pub async fn page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        let version = self.store.catalogue_version().await?;
        if let Some(page) = self.cache.get(query, version) {
            return Ok(page);
        }
        let page = run_shared(&self.readings, query, || self.read(query)).await?;
        self.cache.put(query.clone(), version, Arc::clone(&page));
        Ok(page)
    }

    async fn read(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        // One extra movie tells whether a next page exists, without a COUNT.
        let page_size = query.limit as usize;
        let mut movies = self.store.list_movies(&MovieQuery { limit: query.limit + 1, ..query.clone() }).await?;
        let next = if movies.len() > page_size {
            movies.truncate(page_size);
            movies.last().map(|last| MovieCursor { created_at: last.created_at, id: last.id.clone() })
        } else {
            None
        };
        let body = serde_json::to_vec(&movies).map_err(|e| StoreError::Other(e.into()))?;
        Ok(Arc::new(MoviePage::new(body.into(), next)))
    }
}
