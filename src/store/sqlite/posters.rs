//! Posters on SQLite: images as BLOBs, each change one job of the writer (its own savepoint).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::movies::movie_from_row;
use super::{SqliteStore, micros};
use crate::domain::{Movie, MovieId};
use crate::store::sql::movies::{self as movie_sql, movie_row};
use crate::store::sql::posters;
use crate::store::statement::Sql;
use crate::store::{
    GuardedWrite, MovieGuard, MovieStore as _, PosterStore, PosterWrite, StoreResult, StoredPosterImage,
};

/// Sets (`$1` the JSON) or clears (`$1` NULL) a movie's poster under the same guard as a
/// replace: `$2` the new `updated_at` (later than the stored one), `$3` the id, `$4` the owner
/// the guard requires (or NULL), `$5`, `$7`, `$8` the version it requires (`updated_at`, the rating's count and
/// tenths; or NULL). `$6` true asks that
/// the movie have a poster (a removal).
static WRITE_POSTER: Sql = Sql::new(concat!(
    "UPDATE movies SET poster = $1, updated_at = max($2, updated_at + 1)
     WHERE id = $3 AND ($4 IS NULL OR added_by = $4)
       AND ($5 IS NULL OR (updated_at = $5 AND rating_count = $7 AND rating_key = $8))
       AND (NOT $6 OR poster IS NOT NULL)
     RETURNING ",
    movie_row!()
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&WRITE_POSTER];

/// The guarded write on `movies`, then (only when it held) the images: all inside the caller's
/// savepoint, so a failure leaves the old poster whole.
fn write_poster(
    db: &Connection,
    movie_id: &MovieId,
    poster: Option<&PosterWrite>,
    at: DateTime<Utc>,
    guard: &MovieGuard,
) -> rusqlite::Result<GuardedWrite<Movie>> {
    let written = db
        .prepare_cached(WRITE_POSTER.sqlite())?
        .query_row(
            params![
                poster.map(|p| p.poster_json.as_str()),
                micros(at),
                movie_id,
                guard.owner,
                guard.unchanged_since.map(|v| micros(v.updated_at)),
                poster.is_none(),
                guard.unchanged_since.map(|v| v.rating_count),
                guard.unchanged_since.map(|v| v.rating_tenths)
            ],
            movie_from_row,
        )
        .optional()?;
    let Some(movie) = written else {
        let current =
            db.prepare_cached(movie_sql::MOVIE_BY_ID.sqlite())?.query_row([movie_id], movie_from_row).optional()?;
        return Ok(GuardedWrite::Refused { current: current.map(Box::new) });
    };
    db.prepare_cached(posters::DELETE_POSTER_IMAGES.sqlite())?.execute([movie_id])?;
    let mut insert = db.prepare_cached(posters::INSERT_POSTER_IMAGE.sqlite())?;
    for image in poster.map(|p| p.images.as_slice()).unwrap_or_default() {
        insert.execute(params![
            image.key,
            movie_id,
            image.width,
            image.height,
            image.content_type,
            image.bytes.as_ref()
        ])?;
    }
    Ok(GuardedWrite::Done(movie))
}

#[async_trait]
impl PosterStore for SqliteStore {
    async fn set_poster(
        &self,
        movie_id: &MovieId,
        poster: &PosterWrite,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let (movie_id, poster, guard) = (movie_id.to_owned(), poster.clone(), guard.clone());
        self.engine.write(move |db| Ok(write_poster(db, &movie_id, Some(&poster), poster.at, &guard)?)).await
    }

    async fn remove_poster(
        &self,
        movie_id: &MovieId,
        at: DateTime<Utc>,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let (movie_id, guard) = (movie_id.to_owned(), guard.clone());
        self.engine.write(move |db| Ok(write_poster(db, &movie_id, None, at, &guard)?)).await
    }

    async fn poster_image(&self, key: &str) -> StoreResult<Option<StoredPosterImage>> {
        let version = self.catalogue_version().await?;
        self.poster_images.image(version, key, self.read_poster_image(key)).await
    }
}

impl SqliteStore {
    async fn read_poster_image(&self, key: &str) -> StoreResult<Option<StoredPosterImage>> {
        let key = key.to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(posters::POSTER_IMAGE.sqlite())?
                    .query_row([&key], |row| {
                        Ok(StoredPosterImage {
                            content_type: row.get(0)?,
                            bytes: bytes::Bytes::from(row.get::<_, Vec<u8>>(1)?),
                        })
                    })
                    .optional()
            })
            .await
    }
}
