//! Poster images kept in memory, each served only while the catalogue version it was read at
//! is still the database's.
//!
//! An image's bytes never change under its key (the key is a digest of them), but a key stops
//! being served when its poster is replaced or removed or its movie deleted, on any replica.
//! Each of those writes `movies`, which raises the catalogue version in the write's own
//! transaction (see [`listing`](super::listing)). So an image read at version v may be served
//! while the database still reports v: a request then costs the version check (one tiny query,
//! shared by concurrent requests on PostgreSQL) instead of reading the image. Any change of the
//! catalogue empties the cache, which is coarse but never stale. Bounded in bytes: past the
//! budget it starts over.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::StoreResult;
use super::records::StoredPosterImage;

/// Total bytes of cached images before the cache is emptied.
const BUDGET_BYTES: usize = 32 * 1024 * 1024;
/// Images larger than this are not cached (a 1280 px rendition is some 200 KB).
const MAX_IMAGE_BYTES: usize = 1024 * 1024;

#[derive(Default)]
pub(crate) struct PosterImages {
    cached: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    /// The catalogue version every image here was read at (or after).
    version: i64,
    images: HashMap<String, StoredPosterImage>,
    bytes: usize,
}

impl PosterImages {
    /// The image `key` names, from memory while `version` (the catalogue's, read first) is the
    /// one it was read at, else from `fetch` (which reads it from the database).
    pub async fn image(
        &self,
        version: i64,
        key: &str,
        fetch: impl Future<Output = StoreResult<Option<StoredPosterImage>>>,
    ) -> StoreResult<Option<StoredPosterImage>> {
        if let Some(image) = self.get(version, key) {
            return Ok(Some(image));
        }
        let found = fetch.await?;
        if let Some(image) = &found {
            self.put(version, key, image);
        }
        Ok(found)
    }

    fn get(&self, version: i64, key: &str) -> Option<StoredPosterImage> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.version != version {
            return None;
        }
        cached.images.get(key).cloned()
    }

    /// Keeps `image`, read after the catalogue was at `version`.
    fn put(&self, version: i64, key: &str, image: &StoredPosterImage) {
        let size = image.bytes.len() + key.len();
        if size > MAX_IMAGE_BYTES {
            return;
        }
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        match version.cmp(&cached.version) {
            // Read before a change this cache already saw: it may be gone since.
            std::cmp::Ordering::Less => return,
            std::cmp::Ordering::Greater => *cached = Cached { version, ..Cached::default() },
            std::cmp::Ordering::Equal => {}
        }
        if cached.bytes + size > BUDGET_BYTES {
            cached.images.clear();
            cached.bytes = 0;
        }
        if cached.images.insert(key.to_owned(), image.clone()).is_none() {
            cached.bytes += size;
        }
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
        static LARGE: [u8; MAX_IMAGE_BYTES + 1] = [0; MAX_IMAGE_BYTES + 1];
        read(&cache, 1, "big", Some(&LARGE)).await;
        assert_eq!(read(&cache, 1, "big", None).await, None);
    }
}
