//! Synthetic movies on PostgreSQL (`movie-bag seed`), generated inside the database.

use async_trait::async_trait;

use super::{PgStore, unique_as};
use crate::domain::Email;
use crate::store::sql::{movies, users};
use crate::store::statement::Sql;
use crate::store::{
    Conflict, SEED_CASTS, SEED_DIRECTORS, SEED_GENRES, SEED_ID_PREFIX, SEED_WORDS, SeedBatch, SeedStore, StoreError,
    StoreResult,
};

/// `$1` first, `$2` last, `$3` id prefix, `$4` words, `$5` genres, `$6` owner, `$7` casts,
/// `$8` oldest: see [`SeedBatch`].
static SEED_MOVIES: Sql = Sql::new(
    "INSERT INTO movies (id, name, year, runtime, casts, directors, genres, overview, added_by, created_at, updated_at)
     SELECT $3::text || lpad(to_hex(i), 12, '0'),
            ($4::text[])[1 + i % 64] || ' ' || ($4::text[])[1 + (i / 64) % 64] || ' ' || i,
            CASE WHEN i % 20 = 0 THEN NULL ELSE 1920 + (i * 37) % 105 END,
            70 + (i * 13) % 120,
            ARRAY['Actor ' || (i % $7), 'Actor ' || ((i * 7 + 13) % $7)],
            ARRAY['Director ' || ((i * 3) % $9)],
            ARRAY[($5::text[])[1 + i % 20], ($5::text[])[1 + (i / 20 + 7) % 20]],
            'A ' || lower(($4::text[])[1 + (i / 7) % 64]) || ' tale of ' || lower(($4::text[])[1 + (i / 11) % 64])
                || ' and ' || lower(($4::text[])[1 + (i / 13) % 64]) || '.',
            $6, $8::timestamptz + i * interval '1 millisecond', $8::timestamptz + i * interval '1 millisecond'
     FROM generate_series($1::bigint, $2::bigint) AS i",
);

/// After a bulk insert: statistics for the planner, and the visibility map that lets counts
/// over an index range (`count=true` with a year range) read the index alone instead of
/// visiting a million heap rows. Autovacuum does the same for a catalogue that grows by requests.
static REFRESH_STATISTICS: Sql = Sql::new(
    "VACUUM (ANALYZE) movies, movie_genres, movie_casts, movie_directors, catalogue_entries, catalogue_entry_words",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&SEED_MOVIES, &REFRESH_STATISTICS];

#[async_trait]
impl SeedStore for PgStore {
    async fn count_users_other_than(&self, email: &Email) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(users::COUNT_USERS_OTHER_THAN.postgres())
            .bind(email.normalized())
            .fetch_one(&self.pool)
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn count_seeded_movies(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(movies::COUNT_SEEDED_MOVIES.postgres())
            .bind(SEED_ID_PREFIX)
            .bind(format!("{SEED_ID_PREFIX}g"))
            .fetch_one(&self.pool)
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn seed_movies(&self, batch: &SeedBatch) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SEED_MOVIES.postgres())
            .bind(i64::try_from(batch.first).map_err(StoreError::other)?)
            .bind(i64::try_from(batch.last).map_err(StoreError::other)?)
            .bind(SEED_ID_PREFIX)
            .bind(SEED_WORDS.as_slice())
            .bind(SEED_GENRES.as_slice())
            .bind(&batch.owner_id)
            .bind(SEED_CASTS as i64)
            .bind(batch.oldest)
            .bind(SEED_DIRECTORS as i64)
            .execute(&mut *tx)
            .await
            .map_err(unique_as(Conflict::SeededMovieExists))?;
        tx.commit().await?;
        Ok(())
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        sqlx::query(REFRESH_STATISTICS.postgres()).execute(&self.pool).await?;
        Ok(())
    }
}
