//! Pages of the catalogue listing, cached per process and shared between concurrent requests,
//! over either backend. Each backend owns a [`Listings`] and answers
//! [`MovieStore::movie_page`](super::MovieStore::movie_page) through it, over its own
//! [`list_movies`](super::MovieStore::list_movies) and
//! [`catalogue_version`](super::MovieStore::catalogue_version): the service asks for a page, and
//! how it is made fast stays in the store layer.
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
use super::{MovieQuery, MovieStore, StoreError, StoreResult};
use crate::domain::Movie;

#[derive(Default)]
pub(crate) struct Listings {
    cache: PageCache,
    readings: Coalescer<MovieQuery, StoreResult<Arc<MoviePage>>>,
}

impl Listings {
    /// The page `query` asks for from `movies`, newest first, with where the next one starts.
    pub async fn page(&self, movies: &dyn MovieStore, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        let version = movies.catalogue_version().await?;
        if let Some(page) = self.cache.get(query, version) {
            return Ok(page);
        }
        let page = self.readings.run(query, || read(movies, query)).await?;
        self.cache.put(query.clone(), version, Arc::clone(&page));
        Ok(page)
    }
}

/// Reads one page.
async fn read(movies: &dyn MovieStore, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
    // One extra movie tells whether a next page exists, without a COUNT.
    let page_size = query.limit as usize;
    let mut found = movies.list_movies(&MovieQuery { limit: query.limit + 1, ..query.clone() }).await?;
    let next = if found.len() > page_size {
        found.truncate(page_size);
        found.last().map(|(_, place)| place.clone())
    } else {
        None
    };
    let found: Vec<Movie> = found.into_iter().map(|(movie, _)| movie).collect();
    let body = serde_json::to_vec(&found).map_err(StoreError::other)?;
    Ok(Arc::new(MoviePage::new(body.into(), next)))
}
