//! The catalogue on PostgreSQL: lists are `text[]`, times `timestamptz`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row};

use super::PgStore;
use super::movie_updates::MovieUpdate;
use crate::domain::{Movie, Rating};
use crate::domain::{MovieId, UserId};
use crate::store::listing_plan::{CountPlan, ListingPlan, ListingSql, ListingValue, contains_pattern};
use crate::store::sql::counts;
use crate::store::sql::movies::{self, movie_columns};
use crate::store::statement::Sql;
use crate::store::{
    CatalogueEntry, EntryKind, GuardedWrite, MovieChange, MovieCursor, MovieFilters, MovieGuard, MoviePage, MovieQuery,
    MovieStore, StoreError, StoreResult,
};

static DELETE_MOVIE: Sql = Sql::new(
    "DELETE FROM movies WHERE id = $1 AND ($2::text IS NULL OR added_by = $2)
       AND ($3::timestamptz IS NULL OR (updated_at = $3 AND rating_count = $4::bigint AND rating_key = $5::bigint))",
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
             SELECT t.id, t.name, t.year, t.runtime, ARRAY(SELECT jsonb_array_elements_text(t.casts::jsonb)),
                    ARRAY(SELECT jsonb_array_elements_text(t.directors::jsonb)),
                    ARRAY(SELECT jsonb_array_elements_text(t.genres::jsonb)), t.overview, t.poster,
                    t.added_by, t.created_at, t.updated_at
             FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[])
                  WITH ORDINALITY AS t(",
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
pub(super) static INSERT_MOVIES: Sql = Sql::new(insert_from_arrays!("", "ON CONFLICT (name, year_key) DO NOTHING"));

/// An import's movies: also skipped when the id exists (an earlier import) or the owner does not.
pub(super) static IMPORT_MOVIES: Sql = Sql::new(insert_from_arrays!(
    "WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = t.added_by)",
    "ON CONFLICT DO NOTHING"
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&DELETE_MOVIE, &CATALOGUE_VERSION, &INSERT_MOVIES, &IMPORT_MOVIES];

/// The movie in a row that holds the `movie_row!` columns (by name: extra columns are fine).
pub(super) fn movie_from_row(row: &PgRow) -> StoreResult<Movie> {
    let poster: Option<String> = row.try_get("poster")?;
    let rating_sum: i32 = row.try_get("rating_sum")?;
    let rating_count: i32 = row.try_get("rating_count")?;
    Ok(Movie {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        year: row.try_get("year")?,
        runtime: row.try_get("runtime")?,
        casts: row.try_get("casts")?,
        directors: row.try_get("directors")?,
        genres: row.try_get("genres")?,
        overview: row.try_get("overview")?,
        poster: poster.map(|text| serde_json::from_str(&text)).transpose().map_err(StoreError::other)?,
        rating: Rating::from_half_stars(rating_sum.into(), rating_count.into()),
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
    years: Vec<Option<i32>>,
    runtimes: Vec<Option<i32>>,
    casts: Vec<String>,
    directors: Vec<String>,
    genres: Vec<String>,
    overviews: Vec<Option<String>>,
    posters: Vec<Option<String>>,
    owners: Vec<String>,
    created: Vec<DateTime<Utc>>,
    updated: Vec<DateTime<Utc>>,
}

pub(super) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::other)
}

impl MovieArrays {
    pub(super) fn of<'m>(movies: impl IntoIterator<Item = &'m Movie>) -> StoreResult<Self> {
        let mut arrays = Self::default();
        for movie in movies {
            arrays.ids.push(movie.id.to_string());
            arrays.names.push(movie.name.clone());
            arrays.years.push(movie.year);
            arrays.runtimes.push(movie.runtime);
            arrays.casts.push(json_text(&movie.casts)?);
            arrays.directors.push(json_text(&movie.directors)?);
            arrays.genres.push(json_text(&movie.genres)?);
            arrays.overviews.push(movie.overview.clone());
            arrays.posters.push(movie.poster.as_ref().map(json_text).transpose()?);
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
            .bind(self.years)
            .bind(self.runtimes)
            .bind(self.casts)
            .bind(self.directors)
            .bind(self.genres)
            .bind(self.overviews)
            .bind(self.posters)
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
        self.movie_inserts.apply(super::movie_inserts::MovieInsert(movie.clone())).await
    }

    /// From memory while the catalogue is unchanged (one version check, shared by concurrent
    /// requests), else read, with concurrent reads of the same movie sharing the query. Clients
    /// read many different movies: without the cache each was a round trip of its own.
    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let version = self.catalogue_version().await?;
        let key = movie_id.to_owned();
        let fetch = self.movie_runs.run(&key, || self.fetch_movie(movie_id));
        self.movies_by_id.get_or_fetch(version, &key, fetch, |_| true).await
    }

    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let update = MovieUpdate { movie_id: movie_id.clone(), change: change.clone(), guard: guard.clone() };
        match self.movie_updates.apply(update).await? {
            Some(movie) => Ok(GuardedWrite::Done(movie)),
            None => Ok(GuardedWrite::Refused { current: self.fetch_movie(movie_id).await?.map(Box::new) }),
        }
    }

    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>> {
        let done = sqlx::query(DELETE_MOVIE.postgres())
            .bind(movie_id)
            .bind(&guard.owner)
            .bind(guard.unchanged_since.map(|v| v.updated_at))
            .bind(guard.unchanged_since.map(|v| v.rating_count))
            .bind(guard.unchanged_since.map(|v| v.rating_tenths))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() > 0 {
            return Ok(GuardedWrite::Done(()));
        }
        Ok(GuardedWrite::Refused { current: self.fetch_movie(movie_id).await?.map(Box::new) })
    }

    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        self.listings.page(self, query).await
    }

    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<(Movie, MovieCursor)>> {
        let rows = bound(listing_sql(query)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let movie = movie_from_row(row)?;
                let place = ListingPlan::cursor_of(query.sort, &movie, row.try_get("sort_title")?);
                Ok((movie, place))
            })
            .collect()
    }

    async fn count_movies(&self, filters: &MovieFilters) -> StoreResult<u64> {
        let scope = |scope: &str| sqlx::query_scalar(counts::MOVIES_IN_SCOPE.postgres()).bind(scope.to_owned());
        let counted: i64 = match CountPlan::for_filters(filters) {
            CountPlan::Total => scope("").fetch_one(&self.pool).await?,
            CountPlan::Owner(owner) => scope(owner.as_str()).fetch_one(&self.pool).await?,
            CountPlan::Entry(kind, entry) => {
                sqlx::query_scalar(counts::MOVIES_OF_ENTRY.postgres())
                    .bind(kind.stored())
                    .bind(entry)
                    .fetch_one(&self.pool)
                    .await?
            }
            CountPlan::Matches => {
                let sql = count_sql(filters);
                let query =
                    sql.values.into_iter().fold(
                        sqlx::query_scalar(AssertSqlSafe(sql.text)),
                        |query, value| match value {
                            ListingValue::Text(text) => query.bind(text),
                            ListingValue::Time(time) => query.bind(time),
                            ListingValue::Int(n) => query.bind(n),
                        },
                    );
                query.fetch_one(&self.pool).await?
            }
        };
        Ok(u64::try_from(counted).unwrap_or(0))
    }

    async fn catalogue_entries(
        &self,
        kind: EntryKind,
        prefix: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<CatalogueEntry>> {
        let rows = match prefix {
            None => {
                sqlx::query(counts::MOST_USED_ENTRIES.postgres())
                    .bind(kind.stored())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(prefix) => {
                let (starts, word_starts) = counts::starting_patterns(prefix);
                let window = sqlx::query(counts::MOST_USED_STARTING_WITH.postgres())
                    .bind(kind.stored())
                    .bind(starts)
                    .bind(word_starts)
                    .bind(counts::MOST_USED_WINDOW)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                if window.len() == limit as usize {
                    return window.iter().map(entry_of).collect();
                }
                sqlx::query(counts::ENTRIES_STARTING_WITH.postgres())
                    .bind(kind.stored())
                    .bind(prefix)
                    .bind(counts::PAST_EVERY_PREFIX)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(entry_of).collect()
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

fn entry_of(row: &PgRow) -> StoreResult<CatalogueEntry> {
    let count: i64 = row.try_get("movies")?;
    Ok(CatalogueEntry { name: row.try_get("label")?, count: u64::try_from(count).unwrap_or(0) })
}

/// The listing's SQL and its values.
pub(super) fn listing_sql(query: &MovieQuery) -> ListingSql {
    let plan = ListingPlan::for_query(query);
    let mut sql = ListingSql::walk(query, &plan);
    if let Some(fragment) = &query.filters.name_contains {
        match_name(&mut sql, fragment);
    }
    sql.order_and_limit(&plan, query.limit);
    sql
}

/// Counting the movies `filters` hold, where no kept count answers.
pub(super) fn count_sql(filters: &MovieFilters) -> ListingSql {
    let query = MovieQuery { filters: filters.clone(), ..MovieQuery::default() };
    let mut sql = ListingSql::count(filters, &ListingPlan::for_query(&query));
    if let Some(fragment) = &filters.name_contains {
        match_name(&mut sql, fragment);
    }
    sql
}

/// The name filter, answered by the pg_trgm index on lower(name).
fn match_name(sql: &mut ListingSql, fragment: &str) {
    sql.push(" AND lower(m.name) LIKE ").bind(ListingValue::Text(contains_pattern(fragment))).push(" ESCAPE '\\'");
}

/// `sql` ready to run, each value bound as its PostgreSQL type.
fn bound(sql: ListingSql) -> Query<'static, Postgres, PgArguments> {
    sql.values.into_iter().fold(sqlx::query(AssertSqlSafe(sql.text)), |query, value| match value {
        ListingValue::Text(text) => query.bind(text),
        ListingValue::Time(time) => query.bind(time),
        ListingValue::Int(n) => query.bind(n),
    })
}
