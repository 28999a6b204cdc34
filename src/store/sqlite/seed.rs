//! Synthetic movies on SQLite (`movie-bag seed`), generated inside the database.

use async_trait::async_trait;
use rusqlite::params;

use super::engine::unique_as;
use super::{SqliteStore, micros};
use crate::domain::Email;
use crate::store::sql::{movies, users};
use crate::store::statement::Sql;
use crate::store::{
    Conflict, SEED_CASTS, SEED_DIRECTORS, SEED_GENRES, SEED_ID_PREFIX, SEED_WORDS, SeedBatch, SeedStore, StoreError,
    StoreResult,
};

/// `$1` first, `$2` last, `$3` id prefix, `$4` words (JSON), `$5` genres (JSON), `$6` owner,
/// `$7` casts, `$8` oldest, `$9` directors: see [`SeedBatch`].
static SEED_MOVIES: Sql = Sql::new(
    "WITH RECURSIVE seq(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2)
     INSERT INTO movies (id, name, year, runtime, casts, directors, genres, overview, added_by, created_at, updated_at)
     SELECT $3 || printf('%012x', i),
            json_extract($4, '$[' || (i % 64) || ']') || ' ' ||
                json_extract($4, '$[' || ((i / 64) % 64) || ']') || ' ' || i,
            CASE WHEN i % 20 = 0 THEN NULL ELSE 1920 + (i * 37) % 105 END,
            70 + (i * 13) % 120,
            json_array('Actor ' || (i % $7), 'Actor ' || ((i * 7 + 13) % $7)),
            json_array('Director ' || ((i * 3) % $9)),
            json_array(json_extract($5, '$[' || (i % 20) || ']'),
                       json_extract($5, '$[' || ((i / 20 + 7) % 20) || ']')),
            'A ' || lower(json_extract($4, '$[' || ((i / 7) % 64) || ']')) || ' tale of ' ||
                lower(json_extract($4, '$[' || ((i / 11) % 64) || ']')) || ' and ' ||
                lower(json_extract($4, '$[' || ((i / 13) % 64) || ']')) || '.',
            $6, $8 + i * 1000, $8 + i * 1000
     FROM seq",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&SEED_MOVIES];

fn json_words(words: &[&str]) -> StoreResult<String> {
    serde_json::to_string(words).map_err(StoreError::other)
}

#[async_trait]
impl SeedStore for SqliteStore {
    async fn count_users_other_than(&self, email: &Email) -> StoreResult<u64> {
        let email = email.normalized();
        let count: i64 = self
            .engine
            .scan(move |db| {
                db.prepare_cached(users::COUNT_USERS_OTHER_THAN.sqlite())?.query_row([email], |row| row.get(0))
            })
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn count_seeded_movies(&self) -> StoreResult<u64> {
        let count: i64 = self
            .engine
            .scan(|db| {
                db.prepare_cached(movies::COUNT_SEEDED_MOVIES.sqlite())?
                    .query_row(params![SEED_ID_PREFIX, format!("{SEED_ID_PREFIX}g")], |row| row.get(0))
            })
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn seed_movies(&self, batch: &SeedBatch) -> StoreResult<()> {
        let (words, genres) = (json_words(&SEED_WORDS)?, json_words(&SEED_GENRES)?);
        let first = i64::try_from(batch.first).map_err(StoreError::other)?;
        let last = i64::try_from(batch.last).map_err(StoreError::other)?;
        let (owner_id, oldest) = (batch.owner_id.clone(), micros(batch.oldest));
        self.engine
            .write(move |db| {
                db.prepare(SEED_MOVIES.sqlite())?
                    .execute(params![
                        first,
                        last,
                        SEED_ID_PREFIX,
                        words,
                        genres,
                        owner_id,
                        SEED_CASTS as i64,
                        oldest,
                        SEED_DIRECTORS as i64
                    ])
                    .map_err(unique_as(Conflict::SeededMovieExists))?;
                Ok(())
            })
            .await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        self.engine
            .write(|db| {
                db.execute_batch("ANALYZE")?;
                Ok(())
            })
            .await
    }
}
