//! The catalogue on PostgreSQL: lists are `text[]`, times `timestamptz`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row};

use super::{PgStore, unique_as};
use crate::domain::Movie;
use crate::domain::{MovieId, UserId};
use crate::store::listing_plan::{ListingPlan, ListingSql, ListingValue, contains_pattern};
use crate::store::sql::movies::{self, movie_columns};
use crate::store::statement::Sql;
use crate::store::{
    Conflict, GuardedWrite, MovieChange, MovieGuard, MoviePage, MovieQuery, MovieStore, StoreError, StoreResult,
};

/// A guarded replace or patch: each changeable column takes a flag and a value, written (`NULL`
/// too) when the flag is true; then the new `updated_at` (later than the stored one, so each
/// change is a new version), the id, the owner the guard requires (or `NULL`) and the version it
/// requires (or `NULL`). Both conditions sit in the statement, so nothing slips in between check
/// and write.
static UPDATE_MOVIE: Sql = Sql::new(concat!(
    "UPDATE movies SET name = CASE WHEN $1 THEN $2 ELSE name END,
        casts = CASE WHEN $3 THEN $4::text[] ELSE casts END,
        genres = CASE WHEN $5 THEN $6::text[] ELSE genres END,
        updated_at = GREATEST($7, updated_at + interval '1 microsecond')
     WHERE id = $8 AND ($9::text IS NULL OR added_by = $9)
       AND ($10::timestamptz IS NULL OR updated_at = $10)
     RETURNING ",
    movie_columns!()
));

static DELETE_MOVIE: Sql = Sql::new(
    "DELETE FROM movies WHERE id = $1 AND ($2::text IS NULL OR added_by = $2)
       AND ($3::timestamptz IS NULL OR updated_at = $3)",
);

/// Sixteen stripes summed, so that concurrent writers do not queue on one row.
static CATALOGUE_VERSION: Sql = Sql::new("SELECT sum(version)::bigint FROM catalogue_version_stripes");

/// Many movies from one array per column (lists travel as JSON text: `unnest` would flatten a
/// two-dimensional array), inserted in the arrays' order; `RETURNING` the ids inserted.
macro_rules! insert_from_arrays {
    ($condition:literal, $on_conflict:literal) => {
        concat!(
            "INSERT INTO movies (",
            movie_columns!(),
            ")
             SELECT t.id, t.name, ARRAY(SELECT jsonb_array_elements_text(t.casts::jsonb)),
                    ARRAY(SELECT jsonb_array_elements_text(t.genres::jsonb)), t.added_by, t.created_at, t.updated_at
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                         $7::timestamptz[]) WITH ORDINALITY AS t(",
            movie_columns!(),
            ", position) ",
            $condition,
            " ORDER BY t.position ",
            $on_conflict,
            " RETURNING id"
        )
    };
}

/// Creates: a movie whose name is taken (by another movie or an earlier one of the batch) is
/// skipped; any other refusal fails the statement.
pub(super) static INSERT_MOVIES: Sql = Sql::new(insert_from_arrays!("", "ON CONFLICT (name) DO NOTHING"));

/// An import's movies: also skipped when the id exists (an earlier import) or the owner does not.
pub(super) static IMPORT_MOVIES: Sql = Sql::new(insert_from_arrays!(
    "WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = t.added_by)",
    "ON CONFLICT DO NOTHING"
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] =
    &[&UPDATE_MOVIE, &DELETE_MOVIE, &CATALOGUE_VERSION, &INSERT_MOVIES, &IMPORT_MOVIES];

/// The movie in a row that holds the `movie_columns!` (by name: extra columns are fine).
pub(super) fn movie_from_row(row: &PgRow) -> StoreResult<Movie> {
    Ok(Movie {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        casts: row.try_get("casts")?,
        genres: row.try_get("genres")?,
        added_by: row.try_get("added_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Movies as one array per column, for [`INSERT_MOVIES`] and [`IMPORT_MOVIES`].
#[derive(Default)]
pub(super) struct MovieArrays {
    ids: Vec<String>,
    names: Vec<String>,
    casts: Vec<String>,
    genres: Vec<String>,
    owners: Vec<String>,
    created: Vec<DateTime<Utc>>,
    updated: Vec<DateTime<Utc>>,
}

impl MovieArrays {
    pub(super) fn of<'m>(movies: impl IntoIterator<Item = &'m Movie>) -> StoreResult<Self> {
        let mut arrays = Self::default();
        for movie in movies {
            arrays.ids.push(movie.id.to_string());
            arrays.names.push(movie.name.clone());
            arrays.casts.push(serde_json::to_string(&movie.casts).map_err(StoreError::other)?);
            arrays.genres.push(serde_json::to_string(&movie.genres).map_err(StoreError::other)?);
            arrays.owners.push(movie.added_by.to_string());
            arrays.created.push(movie.created_at);
            arrays.updated.push(movie.updated_at);
        }
        Ok(arrays)
    }

    /// `statement` with every array bound, in `movie_columns!` order.
    pub(super) fn bound_to(self, statement: &'static Sql) -> Query<'static, Postgres, PgArguments> {
        sqlx::query(statement.postgres())
            .bind(self.ids)
            .bind(self.names)
            .bind(self.casts)
            .bind(self.genres)
            .bind(self.owners)
            .bind(self.created)
            .bind(self.updated)
    }
}

impl PgStore {
    pub(super) async fn fetch_movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let row = sqlx::query(movies::MOVIE_BY_ID.postgres()).bind(movie_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(movie_from_row).transpose()
    }
}

#[async_trait]
impl MovieStore for PgStore {
    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()> {
        self.movie_inserts.insert(movie.clone()).await
    }

    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let key = movie_id.to_owned();
        self.movie_runs.run(&key, || self.fetch_movie(movie_id)).await
    }

    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let updated = sqlx::query(UPDATE_MOVIE.postgres())
            .bind(change.name.is_some())
            .bind(change.name.as_deref())
            .bind(change.casts.is_some())
            .bind(change.casts.as_deref())
            .bind(change.genres.is_some())
            .bind(change.genres.as_deref())
            .bind(change.at)
            .bind(movie_id)
            .bind(&guard.owner)
            .bind(guard.unchanged_since)
            .fetch_optional(&self.pool)
            .await
            .map_err(unique_as(Conflict::MovieNameTaken))?;
        match updated.as_ref().map(movie_from_row).transpose()? {
            Some(movie) => Ok(GuardedWrite::Done(movie)),
            None => Ok(GuardedWrite::Refused { current: self.fetch_movie(movie_id).await? }),
        }
    }

    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>> {
        let done = sqlx::query(DELETE_MOVIE.postgres())
            .bind(movie_id)
            .bind(&guard.owner)
            .bind(guard.unchanged_since)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() > 0 {
            return Ok(GuardedWrite::Done(()));
        }
        Ok(GuardedWrite::Refused { current: self.fetch_movie(movie_id).await? })
    }

    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        self.listings.page(self, query).await
    }

    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<Movie>> {
        let rows = bound(listing_sql(query)).fetch_all(&self.pool).await?;
        rows.iter().map(movie_from_row).collect()
    }

    async fn catalogue_version(&self) -> StoreResult<i64> {
        self.version_runs
            .run(&(), || async { Ok(sqlx::query_scalar(CATALOGUE_VERSION.postgres()).fetch_one(&self.pool).await?) })
            .await
    }

    async fn movie_ids_of(&self, user_id: &UserId) -> StoreResult<Vec<MovieId>> {
        Ok(sqlx::query_scalar(movies::MOVIE_IDS_OF.postgres()).bind(user_id).fetch_all(&self.pool).await?)
    }
}

/// The listing's SQL and its values.
pub(super) fn listing_sql(query: &MovieQuery) -> ListingSql {
    let plan = ListingPlan::for_query(query);
    let mut sql = ListingSql::walk(query, &plan, "");
    if let Some(fragment) = &query.name_contains {
        // Answered by the pg_trgm index on lower(name).
        sql.push(" AND lower(m.name) LIKE ").bind(ListingValue::Text(contains_pattern(fragment))).push(" ESCAPE '\\'");
    }
    sql.order_and_limit(&plan, query.limit);
    sql
}

/// `sql` ready to run, each value bound as its PostgreSQL type.
fn bound(sql: ListingSql) -> Query<'static, Postgres, PgArguments> {
    sql.values.into_iter().fold(sqlx::query(AssertSqlSafe(sql.text)), |query, value| match value {
        ListingValue::Text(text) => query.bind(text),
        ListingValue::Time(time) => query.bind(time),
        ListingValue::Int(n) => query.bind(n),
    })
}
