//! A per-process cache of rendered listing pages, valid only while the catalogue is unchanged.
//!
//! Each entry remembers the catalogue version (a counter in the database, bumped in the same
//! transaction as every movie write) it was rendered at, and is served only while the database
//! still reports that version. Checking the version is one tiny query instead of reading and
//! serialising a page of movies; a write by any process sharing the database invalidates every
//! process's entries on their next request. Bounded in bytes: past the budget it starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use crate::store::MovieCursor;

/// Total bytes of cached bodies before the cache is emptied.
const BUDGET_BYTES: usize = 16 * 1024 * 1024;
/// Bodies larger than this are not cached at all.
const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// A rendered page of `GET /api/movies`.
#[derive(Debug)]
pub struct ListedPage {
    /// The JSON array.
    pub body: Bytes,
    /// Set when another page follows: the last movie of this one.
    pub next: Option<MovieCursor>,
    /// A digest of `body`: the page's validator (`ETag`), the same in every process.
    pub digest: String,
}

impl ListedPage {
    pub fn new(body: Bytes, next: Option<MovieCursor>) -> Self {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(&body);
        let digest = hash[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        Self { body, next, digest }
    }
}

#[derive(Default)]
struct Entries {
    pages: HashMap<String, (i64, Arc<ListedPage>)>,
    bytes: usize,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<Entries>,
}

impl PageCache {
    /// The page cached under `key` at exactly `version`.
    pub fn get(&self, key: &str, version: i64) -> Option<Arc<ListedPage>> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.pages.get(key) {
            Some((cached_at, page)) if *cached_at == version => Some(Arc::clone(page)),
            _ => None,
        }
    }

    pub fn put(&self, key: String, version: i64, page: Arc<ListedPage>) {
        let size = page.body.len() + key.len();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.bytes + size > BUDGET_BYTES {
            entries.pages.clear();
            entries.bytes = 0;
        }
        if let Some((_, old)) = entries.pages.insert(key.clone(), (version, page)) {
            entries.bytes = entries.bytes.saturating_sub(old.body.len() + key.len());
        }
        entries.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Arc<ListedPage> {
        Arc::new(ListedPage::new(Bytes::from(body.to_owned()), None))
    }

    #[test]
    fn a_page_is_served_only_at_the_version_it_was_rendered_at() {
        let cache = PageCache::default();
        cache.put("limit=100".into(), 7, page("[]"));
        assert!(cache.get("limit=100", 7).is_some());
        assert!(cache.get("limit=100", 8).is_none(), "a newer catalogue misses");
        assert!(cache.get("limit=5", 7).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let cache = PageCache::default();
        let big = "x".repeat(MAX_ENTRY_BYTES - 100);
        for i in 0..40 {
            cache.put(format!("key {i}"), 1, page(&big));
        }
        assert!(cache.entries.lock().unwrap().bytes <= BUDGET_BYTES);
        cache.put("huge".into(), 1, page(&"y".repeat(MAX_ENTRY_BYTES + 1)));
        assert!(cache.get("huge", 1).is_none(), "oversized pages are not kept");
    }
}
