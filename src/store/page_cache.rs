//! A per-process cache of rendered listing pages, valid only while the catalogue is unchanged.
//!
//! Each entry remembers the catalogue version (a counter in the database, bumped in the same
//! transaction as every movie write) it was rendered at, and is served only while the database
//! still reports that version. Checking the version is one tiny query instead of reading and
//! serialising a page of movies; a write by any process sharing the database invalidates every
//! process's entries on their next request. Bounded in bytes: past the budget it starts over.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::records::{MovieCursor, MovieQuery};

/// What an entry costs beside its body (its key, its bookkeeping), for the budget.
const ENTRY_OVERHEAD_BYTES: usize = 512;
/// Total bytes of cached bodies before the cache is emptied.
const BUDGET_BYTES: usize = 16 * 1024 * 1024;
/// Bodies larger than this are not cached at all.
const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// A rendered page of `GET /api/movies`: the JSON array of its movies, ready to send.
pub struct MoviePage {
    /// The JSON array.
    pub body: Bytes,
    /// Set when another page follows: the last movie of this one.
    pub next: Option<MovieCursor>,
    /// What the layer that sends the page derives from `body` (its validator, its compressed
    /// forms), made on first demand and kept with the page for as long as the page is cached:
    /// compressing a 100-movie page costs more than serving it from the cache. The store keeps
    /// it without knowing what it is.
    derived: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl MoviePage {
    pub fn new(body: Bytes, next: Option<MovieCursor>) -> Self {
        Self { body, next, derived: OnceLock::new() }
    }

    /// What `derive` makes of the body, made once per page. `None` if a different type was
    /// derived first (one layer derives from pages, so it is not).
    pub fn derived<T: Any + Send + Sync>(&self, derive: impl FnOnce(&Bytes) -> T) -> Option<&T> {
        self.derived.get_or_init(|| Box::new(derive(&self.body))).downcast_ref()
    }
}

impl std::fmt::Debug for MoviePage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoviePage").field("bytes", &self.body.len()).field("next", &self.next).finish()
    }
}

#[derive(Default)]
struct Entries {
    pages: HashMap<MovieQuery, (i64, Arc<MoviePage>)>,
    bytes: usize,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<Entries>,
}

impl PageCache {
    /// The page cached under `key` at exactly `version`.
    pub fn get(&self, key: &MovieQuery, version: i64) -> Option<Arc<MoviePage>> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.pages.get(key) {
            Some((cached_at, page)) if *cached_at == version => Some(Arc::clone(page)),
            _ => None,
        }
    }

    pub fn put(&self, key: MovieQuery, version: i64, page: Arc<MoviePage>) {
        let size = page.body.len() + ENTRY_OVERHEAD_BYTES;
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.bytes + size > BUDGET_BYTES {
            entries.pages.clear();
            entries.bytes = 0;
        }
        if let Some((_, old)) = entries.pages.insert(key, (version, page)) {
            entries.bytes = entries.bytes.saturating_sub(old.body.len() + ENTRY_OVERHEAD_BYTES);
        }
        entries.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Arc<MoviePage> {
        Arc::new(MoviePage::new(Bytes::from(body.to_owned()), None))
    }

    fn query(limit: u32) -> MovieQuery {
        MovieQuery { limit, ..MovieQuery::default() }
    }

    #[test]
    fn a_page_is_served_only_at_the_version_it_was_rendered_at() {
        let cache = PageCache::default();
        cache.put(query(100), 7, page("[]"));
        assert!(cache.get(&query(100), 7).is_some());
        assert!(cache.get(&query(100), 8).is_none(), "a newer catalogue misses");
        assert!(cache.get(&query(5), 7).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let cache = PageCache::default();
        let big = "x".repeat(MAX_ENTRY_BYTES - 1000);
        for i in 0..40 {
            cache.put(query(i), 1, page(&big));
        }
        assert!(cache.entries.lock().unwrap().bytes <= BUDGET_BYTES);
        cache.put(query(1000), 1, page(&"y".repeat(MAX_ENTRY_BYTES + 1)));
        assert!(cache.get(&query(1000), 1).is_none(), "oversized pages are not kept");
    }
}
