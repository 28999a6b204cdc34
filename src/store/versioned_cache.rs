//! Values kept in memory, each served only while the catalogue version it was read at is still
//! the database's: hot poster images, and movies read by id on PostgreSQL.
//!
//! Every write that changes what these hold (a poster replaced or removed, a movie edited,
//! rated or deleted, its owner's account deleted) writes `movies`, which raises the catalogue
//! version in the write's own transaction (see [`listing`](super::listing)). So a value read at
//! version v may be served while the database still reports v: a request then costs the version
//! check (one tiny query, shared by concurrent requests on PostgreSQL) instead of reading the
//! value. Any change of the catalogue empties the cache, which is coarse but never stale: a
//! request sees every write acknowledged before its version check, on any replica. Bounded in
//! bytes: past the budget it starts over.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use super::StoreResult;
use super::records::StoredPosterImage;
use crate::domain::{Movie, MovieId};

/// What a cached value costs, in bytes, for the budget.
pub(crate) trait Weight {
    fn weight(&self) -> usize;
}

/// A poster image by key; an unknown key is never kept (see [`PosterImages::image`]).
impl Weight for Option<StoredPosterImage> {
    fn weight(&self) -> usize {
        self.as_ref().map_or(0, |image| image.bytes.len())
    }
}

/// A movie by id, or the knowledge that there is none (a 404 asked for again costs no query).
impl Weight for Option<Movie> {
    fn weight(&self) -> usize {
        // The struct and its strings; the lists' strings counted by their lengths.
        const FIXED: usize = 256;
        self.as_ref().map_or(FIXED, |movie| {
            let lists =
                movie.casts.iter().chain(&movie.directors).chain(&movie.genres).map(|s| s.len() + 24).sum::<usize>();
            FIXED + movie.name.len() + movie.overview.as_ref().map_or(0, String::len) + lists
        })
    }
}

/// Hot poster images by key: 32 MiB, none larger than 1 MiB (a 1280 px rendition is some 200 KB).
pub(crate) type PosterImages = VersionedCache<String, Option<StoredPosterImage>>;
/// Movies by id (PostgreSQL, where a read is a round trip to another process): 16 MiB.
pub(crate) type MovieCache = VersionedCache<MovieId, Option<Movie>>;

pub(crate) struct VersionedCache<K, V> {
    budget_bytes: usize,
    max_value_bytes: usize,
    cached: Mutex<Cached<K, V>>,
}

struct Cached<K, V> {
    /// The catalogue version every value here was read at (or after).
    version: i64,
    values: HashMap<K, V>,
    bytes: usize,
}

impl<K, V> Default for Cached<K, V> {
    fn default() -> Self {
        Self { version: 0, values: HashMap::new(), bytes: 0 }
    }
}

impl Default for PosterImages {
    fn default() -> Self {
        Self::with_budget(32 * 1024 * 1024, 1024 * 1024)
    }
}

impl Default for MovieCache {
    fn default() -> Self {
        Self::with_budget(16 * 1024 * 1024, 256 * 1024)
    }
}

impl<K: Hash + Eq + Clone, V: Clone + Weight> VersionedCache<K, V> {
    fn with_budget(budget_bytes: usize, max_value_bytes: usize) -> Self {
        Self { budget_bytes, max_value_bytes, cached: Mutex::new(Cached::default()) }
    }

    /// The value `key` names, from memory while `version` (the catalogue's, read first) is the
    /// one it was read at, else from `fetch` (which reads it from the database). `keep` says
    /// whether a fetched value is worth keeping.
    pub async fn get_or_fetch(
        &self,
        version: i64,
        key: &K,
        fetch: impl Future<Output = StoreResult<V>>,
        keep: impl FnOnce(&V) -> bool,
    ) -> StoreResult<V> {
        if let Some(value) = self.get(version, key) {
            return Ok(value);
        }
        let found = fetch.await?;
        if keep(&found) {
            self.put(version, key, &found);
        }
        Ok(found)
    }

    fn get(&self, version: i64, key: &K) -> Option<V> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.version != version {
            return None;
        }
        cached.values.get(key).cloned()
    }

    /// Keeps `value`, read after the catalogue was at `version`.
    fn put(&self, version: i64, key: &K, value: &V) {
        let size = value.weight() + 64;
        if size > self.max_value_bytes {
            return;
        }
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        match version.cmp(&cached.version) {
            // Read before a change this cache already saw: it may be gone since.
            std::cmp::Ordering::Less => return,
            std::cmp::Ordering::Greater => *cached = Cached { version, ..Cached::default() },
            std::cmp::Ordering::Equal => {}
        }
        if cached.bytes + size > self.budget_bytes {
            cached.values.clear();
            cached.bytes = 0;
        }
        if cached.values.insert(key.clone(), value.clone()).is_none() {
            cached.bytes += size;
        }
    }
}

impl PosterImages {
    /// The image `key` names (see [`VersionedCache::get_or_fetch`]). Only images are kept: a key
    /// no image has is asked of the database each time.
    pub async fn image(
        &self,
        version: i64,
        key: &str,
        fetch: impl Future<Output = StoreResult<Option<StoredPosterImage>>>,
    ) -> StoreResult<Option<StoredPosterImage>> {
        self.get_or_fetch(version, &key.to_owned(), fetch, Option::is_some).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(bytes: &'static [u8]) -> StoredPosterImage {
        StoredPosterImage { content_type: "image/jpeg".into(), bytes: bytes::Bytes::from_static(bytes) }
    }

    async fn read(cache: &PosterImages, version: i64, key: &str, stored: Option<&'static [u8]>) -> Option<Vec<u8>> {
        let found = cache.image(version, key, async { Ok(stored.map(image)) }).await.unwrap();
        found.map(|image| image.bytes.to_vec())
    }

    #[tokio::test]
    async fn an_image_is_served_from_memory_while_the_catalogue_is_unchanged() {
        let cache = PosterImages::default();
        assert_eq!(read(&cache, 7, "k", Some(b"one")).await.as_deref(), Some(&b"one"[..]));
        // The database would now answer nothing; memory still holds it at the same version.
        assert_eq!(read(&cache, 7, "k", None).await.as_deref(), Some(&b"one"[..]));
    }

    #[tokio::test]
    async fn a_change_of_the_catalogue_means_asking_the_database_again() {
        let cache = PosterImages::default();
        read(&cache, 7, "k", Some(b"one")).await;
        assert_eq!(read(&cache, 8, "k", None).await, None, "removed at version 8: gone");
        // A reading that began before the change does not put the old image back.
        read(&cache, 7, "k", Some(b"one")).await;
        assert_eq!(read(&cache, 8, "k", None).await, None);
    }

    #[tokio::test]
    async fn images_past_the_size_bound_are_read_each_time() {
        let cache = PosterImages::default();
        static LARGE: [u8; 1024 * 1024 + 1] = [0; 1024 * 1024 + 1];
        read(&cache, 1, "big", Some(&LARGE)).await;
        assert_eq!(read(&cache, 1, "big", None).await, None);
    }
}
