//! Replaces and patches on PostgreSQL, applied together (see [`super::write_batches`]).
//!
//! Edits that change a list move the kept counts of its entries (`catalogue_entries`): edits of
//! movies that share a genre update the same count row, and one at a time each waited for the
//! previous one's commit to release that row (BENCHMARKS.md, the list beside edits). In one
//! statement the rows are updated one after another in one transaction, with one commit.
//!
//! Each edit keeps its own guard (owner, `If-Match` version) inside the statement; an edit it
//! refuses is simply not updated and is answered `None`, and the caller reads the movie as it is
//! to say why. A name that is taken fails the statement; the batch is then applied one edit at a
//! time, and that one is answered as a conflict.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::PgPool;

use super::movies::{json_text, movie_from_row};
use super::unique_as;
use super::write_batches::BatchedWrite;
use crate::domain::{Movie, MovieId};
use crate::store::sql::movies::movie_row_of_m;
use crate::store::statement::Sql;
use crate::store::{Conflict, MovieChange, MovieGuard, StoreResult};

/// Every edit of the batch, one array element each: the id; for each changeable column a flag
/// and a value (lists as JSON text), written when the flag is true (`NULL` too); the new
/// `updated_at` (later than the stored one, so each change is a new version); the owner the guard
/// requires (or `NULL`) and the version it requires (or `NULL`).
static UPDATE_MOVIES: Sql = Sql::new(concat!(
    "UPDATE movies m SET name = CASE WHEN t.set_name THEN t.name ELSE m.name END,
        casts = CASE WHEN t.set_casts THEN ARRAY(SELECT jsonb_array_elements_text(t.casts::jsonb)) ELSE m.casts END,
        genres = CASE WHEN t.set_genres THEN ARRAY(SELECT jsonb_array_elements_text(t.genres::jsonb))
                      ELSE m.genres END,
        year = CASE WHEN t.set_year THEN t.year ELSE m.year END,
        runtime = CASE WHEN t.set_runtime THEN t.runtime ELSE m.runtime END,
        directors = CASE WHEN t.set_directors THEN ARRAY(SELECT jsonb_array_elements_text(t.directors::jsonb))
                         ELSE m.directors END,
        overview = CASE WHEN t.set_overview THEN t.overview ELSE m.overview END,
        updated_at = GREATEST(t.at, m.updated_at + interval '1 microsecond')
     FROM unnest($1::text[], $2::boolean[], $3::text[], $4::boolean[], $5::text[], $6::boolean[], $7::text[],
                 $8::boolean[], $9::integer[], $10::boolean[], $11::integer[], $12::boolean[], $13::text[],
                 $14::boolean[], $15::text[], $16::timestamptz[], $17::text[], $18::timestamptz[],
                 $19::bigint[], $20::bigint[])
          AS t(id, set_name, name, set_casts, casts, set_genres, genres, set_year, year, set_runtime, runtime,
               set_directors, directors, set_overview, overview, at, owner, since, since_count, since_key)
     WHERE m.id = t.id AND (t.owner IS NULL OR m.added_by = t.owner)
       AND (t.since IS NULL OR (m.updated_at = t.since AND m.rating_count = t.since_count
                                AND m.rating_key = t.since_key))
     RETURNING ",
    movie_row_of_m!()
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&UPDATE_MOVIES];

/// A guarded replace or patch waiting for its batch: answered with the movie as written, or
/// `None` when the guard refused it (or the movie is gone).
pub(super) struct MovieUpdate {
    pub(super) movie_id: MovieId,
    pub(super) change: MovieChange,
    pub(super) guard: MovieGuard,
}

#[async_trait]
impl BatchedWrite for MovieUpdate {
    type Answer = Option<Movie>;
    /// A second edit of one movie goes to the next batch, and its guard sees the first one.
    type Key = MovieId;

    const QUEUE: &'static str = "movie update";

    fn key(&self) -> Option<MovieId> {
        Some(self.movie_id.clone())
    }

    async fn apply_all(pool: &PgPool, updates: &[&Self]) -> StoreResult<Vec<StoreResult<Option<Movie>>>> {
        let rows =
            EditArrays::of(updates)?.bound().fetch_all(pool).await.map_err(unique_as(Conflict::MovieNameTaken))?;
        let mut written: HashMap<String, Movie> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let movie = movie_from_row(row)?;
            written.insert(movie.id.to_string(), movie);
        }
        Ok(updates.iter().map(|update| Ok(written.remove(update.movie_id.as_str()))).collect())
    }
}

/// The batch's edits as one array per statement parameter.
#[derive(Default)]
struct EditArrays {
    ids: Vec<String>,
    set_names: Vec<bool>,
    names: Vec<Option<String>>,
    set_casts: Vec<bool>,
    casts: Vec<Option<String>>,
    set_genres: Vec<bool>,
    genres: Vec<Option<String>>,
    set_years: Vec<bool>,
    years: Vec<Option<i32>>,
    set_runtimes: Vec<bool>,
    runtimes: Vec<Option<i32>>,
    set_directors: Vec<bool>,
    directors: Vec<Option<String>>,
    set_overviews: Vec<bool>,
    overviews: Vec<Option<String>>,
    at: Vec<chrono::DateTime<chrono::Utc>>,
    owners: Vec<Option<String>>,
    since: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    since_counts: Vec<Option<i64>>,
    since_keys: Vec<Option<i64>>,
}

impl EditArrays {
    fn of(updates: &[&MovieUpdate]) -> StoreResult<Self> {
        let mut arrays = Self::default();
        for MovieUpdate { movie_id, change, guard } in updates.iter().copied() {
            let list = |list: &Option<Vec<String>>| list.as_ref().map(json_text).transpose();
            arrays.ids.push(movie_id.to_string());
            arrays.set_names.push(change.name.is_some());
            arrays.names.push(change.name.clone());
            arrays.set_casts.push(change.casts.is_some());
            arrays.casts.push(list(&change.casts)?);
            arrays.set_genres.push(change.genres.is_some());
            arrays.genres.push(list(&change.genres)?);
            arrays.set_years.push(change.year.is_some());
            arrays.years.push(change.year.flatten());
            arrays.set_runtimes.push(change.runtime.is_some());
            arrays.runtimes.push(change.runtime.flatten());
            arrays.set_directors.push(change.directors.is_some());
            arrays.directors.push(list(&change.directors)?);
            arrays.set_overviews.push(change.overview.is_some());
            arrays.overviews.push(change.overview.clone().flatten());
            arrays.at.push(change.at);
            arrays.owners.push(guard.owner.as_ref().map(ToString::to_string));
            arrays.since.push(guard.unchanged_since.map(|version| version.updated_at));
            arrays.since_counts.push(guard.unchanged_since.map(|version| version.rating_count));
            arrays.since_keys.push(guard.unchanged_since.map(|version| version.rating_tenths));
        }
        Ok(arrays)
    }

    fn bound(self) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
        sqlx::query(UPDATE_MOVIES.postgres())
            .bind(self.ids)
            .bind(self.set_names)
            .bind(self.names)
            .bind(self.set_casts)
            .bind(self.casts)
            .bind(self.set_genres)
            .bind(self.genres)
            .bind(self.set_years)
            .bind(self.years)
            .bind(self.set_runtimes)
            .bind(self.runtimes)
            .bind(self.set_directors)
            .bind(self.directors)
            .bind(self.set_overviews)
            .bind(self.overviews)
            .bind(self.at)
            .bind(self.owners)
            .bind(self.since)
            .bind(self.since_counts)
            .bind(self.since_keys)
    }
}
