//! Posters on PostgreSQL: images as `bytea`, each change one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::PgStore;
use super::movies::movie_from_row;
use crate::domain::{Movie, MovieId};
use crate::store::sql::movies::movie_row;
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
    "UPDATE movies SET poster = $1::text, updated_at = GREATEST($2, updated_at + interval '1 microsecond')
     WHERE id = $3 AND ($4::text IS NULL OR added_by = $4)
       AND ($5::timestamptz IS NULL
            OR (updated_at = $5 AND rating_count = $7::bigint AND rating_key = $8::bigint))
       AND (NOT $6::boolean OR poster IS NOT NULL)
     RETURNING ",
    movie_row!()
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&WRITE_POSTER];

impl PgStore {
    /// The guarded write on `movies`, then (only when it held) the images, in one transaction:
    /// the row lock the update takes serializes two uploads to one movie, and a failure leaves
    /// the old poster whole.
    async fn write_poster(
        &self,
        movie_id: &MovieId,
        poster: Option<&PosterWrite>,
        at: DateTime<Utc>,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let mut tx = self.pool.begin().await?;
        let written = sqlx::query(WRITE_POSTER.postgres())
            .bind(poster.map(|p| p.poster_json.as_str()))
            .bind(at)
            .bind(movie_id)
            .bind(&guard.owner)
            .bind(guard.unchanged_since.map(|v| v.updated_at))
            .bind(poster.is_none())
            .bind(guard.unchanged_since.map(|v| v.rating_count))
            .bind(guard.unchanged_since.map(|v| v.rating_tenths))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = written else {
            drop(tx);
            return Ok(GuardedWrite::Refused { current: self.fetch_movie(movie_id).await?.map(Box::new) });
        };
        let movie = movie_from_row(&row)?;
        sqlx::query(posters::DELETE_POSTER_IMAGES.postgres()).bind(movie_id).execute(&mut *tx).await?;
        for image in poster.map(|p| p.images.as_slice()).unwrap_or_default() {
            sqlx::query(posters::INSERT_POSTER_IMAGE.postgres())
                .bind(&image.key)
                .bind(movie_id)
                .bind(i32::try_from(image.width).unwrap_or(i32::MAX))
                .bind(i32::try_from(image.height).unwrap_or(i32::MAX))
                .bind(image.content_type)
                .bind(image.bytes.as_ref())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(GuardedWrite::Done(movie))
    }
}

#[async_trait]
impl PosterStore for PgStore {
    async fn set_poster(
        &self,
        movie_id: &MovieId,
        poster: &PosterWrite,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        self.write_poster(movie_id, Some(poster), poster.at, guard).await
    }

    async fn remove_poster(
        &self,
        movie_id: &MovieId,
        at: DateTime<Utc>,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        self.write_poster(movie_id, None, at, guard).await
    }

    async fn poster_image(&self, key: &str) -> StoreResult<Option<StoredPosterImage>> {
        let version = self.catalogue_version().await?;
        self.poster_images.image(version, key, self.read_poster_image(key)).await
    }
}

impl PgStore {
    async fn read_poster_image(&self, key: &str) -> StoreResult<Option<StoredPosterImage>> {
        let row = sqlx::query(posters::POSTER_IMAGE.postgres()).bind(key).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredPosterImage {
            content_type: row.try_get(0)?,
            bytes: bytes::Bytes::from(row.try_get::<Vec<u8>, _>(1)?),
        }))
    }
}
