//! The catalogue on SQLite: lists are kept as JSON text, times as microseconds.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::ToSql as _;
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::engine::unique_as;
use super::{SqliteStore, corrupt, micros, time_of};
use crate::domain::{Movie, Poster, Rating};
use crate::domain::{MovieId, UserId};
use crate::store::listing_plan::{CountPlan, ListingPlan, ListingSql, ListingValue, contains_pattern, order_by};
use crate::store::sql::counts;
use crate::store::sql::movies::{self, MOVIE_COLUMNS, movie_columns, movie_row};
use crate::store::statement::{Sql, numbered_for_sqlite};
use crate::store::{
    CatalogueEntry, Conflict, EntryKind, GuardedWrite, MovieChange, MovieCursor, MovieFilters, MovieGuard, MoviePage,
    MovieQuery, MovieStore, StoreResult,
};

static INSERT_MOVIE: Sql = Sql::new(concat!(
    "INSERT INTO movies (",
    movie_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
));

/// A guarded replace or patch. Each changeable column takes a flag and a value: the value is
/// written (`NULL` too) when its flag is true, the stored one kept otherwise. Then the new
/// `updated_at` (later than the stored one, so each change is a new version), the id, the owner
/// the guard requires (or `NULL`) and the version it requires (or `NULL`): both conditions sit in
/// the statement, so nothing slips in between check and write.
static UPDATE_MOVIE: Sql = Sql::new(concat!(
    "UPDATE movies SET name = CASE WHEN $1 THEN $2 ELSE name END,
        casts = CASE WHEN $3 THEN $4 ELSE casts END,
        genres = CASE WHEN $5 THEN $6 ELSE genres END,
        year = CASE WHEN $7 THEN $8 ELSE year END,
        runtime = CASE WHEN $9 THEN $10 ELSE runtime END,
        directors = CASE WHEN $11 THEN $12 ELSE directors END,
        overview = CASE WHEN $13 THEN $14 ELSE overview END,
        updated_at = max($15, updated_at + 1)
     WHERE id = $16 AND ($17 IS NULL OR added_by = $17)
       AND ($18 IS NULL OR (updated_at = $18 AND rating_count = $19 AND rating_key = $20))
     RETURNING ",
    movie_row!()
));

static DELETE_MOVIE: Sql = Sql::new(
    "DELETE FROM movies WHERE id = $1 AND ($2 IS NULL OR added_by = $2)
       AND ($3 IS NULL OR (updated_at = $3 AND rating_count = $4 AND rating_key = $5))",
);

static CATALOGUE_VERSION: Sql = Sql::new("SELECT version FROM catalogue_version WHERE id = 1");

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&INSERT_MOVIE, &UPDATE_MOVIE, &DELETE_MOVIE, &CATALOGUE_VERSION];

/// A list as the JSON text SQLite keeps.
fn json_list(list: &[String]) -> rusqlite::Result<ToSqlOutput<'static>> {
    serde_json::to_string(list).map(ToSqlOutput::from).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

/// The poster as the JSON text SQLite keeps.
fn poster_json(poster: Option<&Poster>) -> rusqlite::Result<ToSqlOutput<'static>> {
    match poster {
        None => Ok(ToSqlOutput::from(rusqlite::types::Null)),
        Some(poster) => serde_json::to_string(poster)
            .map(ToSqlOutput::from)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into())),
    }
}

/// A movie's values in `movie_columns!` order.
pub(super) fn movie_values(movie: &Movie) -> rusqlite::Result<[ToSqlOutput<'_>; MOVIE_COLUMNS]> {
    Ok([
        ToSqlOutput::from(movie.id.as_str()),
        ToSqlOutput::from(movie.name.as_str()),
        movie.year.to_sql()?,
        movie.runtime.to_sql()?,
        json_list(&movie.casts)?,
        json_list(&movie.directors)?,
        json_list(&movie.genres)?,
        movie.overview.to_sql()?,
        poster_json(movie.poster.as_ref())?,
        ToSqlOutput::from(movie.added_by.as_str()),
        ToSqlOutput::from(micros(movie.created_at)),
        ToSqlOutput::from(micros(movie.updated_at)),
    ])
}

fn list_of(row: &Row<'_>, column: &str) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(row, column, e))
}

fn poster_of(row: &Row<'_>) -> rusqlite::Result<Option<Poster>> {
    let text: Option<String> = row.get("poster")?;
    text.map(|text| serde_json::from_str(&text).map_err(|e| corrupt(row, "poster", e))).transpose()
}

/// The movie in a row that holds the `movie_row!` columns (by name: extra columns are fine).
pub(super) fn movie_from_row(row: &Row<'_>) -> rusqlite::Result<Movie> {
    Ok(Movie {
        id: row.get("id")?,
        name: row.get("name")?,
        year: row.get("year")?,
        runtime: row.get("runtime")?,
        casts: list_of(row, "casts")?,
        directors: list_of(row, "directors")?,
        genres: list_of(row, "genres")?,
        overview: row.get("overview")?,
        poster: poster_of(row)?,
        rating: Rating::from_half_stars(row.get("rating_sum")?, row.get("rating_count")?),
        added_by: row.get("added_by")?,
        created_at: time_of(row, "created_at")?,
        updated_at: time_of(row, "updated_at")?,
    })
}

/// The movie as the writer sees it, inside its transaction.
fn current_movie(db: &Connection, movie_id: &MovieId) -> rusqlite::Result<Option<Movie>> {
    db.prepare_cached(movies::MOVIE_BY_ID.sqlite())?.query_row([movie_id], movie_from_row).optional()
}

#[async_trait]
impl MovieStore for SqliteStore {
    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()> {
        let movie = movie.clone();
        self.engine
            .write(move |db| {
                db.prepare_cached(INSERT_MOVIE.sqlite())?
                    .execute(params_from_iter(movie_values(&movie)?))
                    .map_err(unique_as(Conflict::MovieNameTaken))?;
                Ok(())
            })
            .await
    }

    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let movie_id = movie_id.to_owned();
        self.engine.read(move |db| current_movie(db, &movie_id)).await
    }

    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let (movie_id, change, guard) = (movie_id.to_owned(), change.clone(), guard.clone());
        self.engine
            .write(move |db| {
                let casts = change.casts.as_deref().map(json_list).transpose()?;
                let genres = change.genres.as_deref().map(json_list).transpose()?;
                let directors = change.directors.as_deref().map(json_list).transpose()?;
                let updated = db
                    .prepare_cached(UPDATE_MOVIE.sqlite())?
                    .query_row(
                        params![
                            change.name.is_some(),
                            change.name,
                            casts.is_some(),
                            casts,
                            genres.is_some(),
                            genres,
                            change.year.is_some(),
                            change.year.flatten(),
                            change.runtime.is_some(),
                            change.runtime.flatten(),
                            directors.is_some(),
                            directors,
                            change.overview.is_some(),
                            change.overview.as_ref().and_then(Option::as_deref),
                            micros(change.at),
                            movie_id,
                            guard.owner,
                            guard.unchanged_since.map(|v| micros(v.updated_at)),
                            guard.unchanged_since.map(|v| v.rating_count),
                            guard.unchanged_since.map(|v| v.rating_tenths)
                        ],
                        movie_from_row,
                    )
                    .optional()
                    .map_err(unique_as(Conflict::MovieNameTaken))?;
                match updated {
                    Some(movie) => Ok(GuardedWrite::Done(movie)),
                    None => Ok(GuardedWrite::Refused { current: current_movie(db, &movie_id)?.map(Box::new) }),
                }
            })
            .await
    }

    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>> {
        let (movie_id, guard) = (movie_id.to_owned(), guard.clone());
        self.engine
            .write(move |db| {
                let deleted = db.prepare_cached(DELETE_MOVIE.sqlite())?.execute(params![
                    movie_id,
                    guard.owner,
                    guard.unchanged_since.map(|v| micros(v.updated_at)),
                    guard.unchanged_since.map(|v| v.rating_count),
                    guard.unchanged_since.map(|v| v.rating_tenths)
                ])?;
                if deleted > 0 {
                    return Ok(GuardedWrite::Done(()));
                }
                Ok(GuardedWrite::Refused { current: current_movie(db, &movie_id)?.map(Box::new) })
            })
            .await
    }

    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        self.listings.page(self, query).await
    }

    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<(Movie, MovieCursor)>> {
        let query = query.clone();
        self.engine
            .scan(move |db| {
                let name_match = match &query.filters.name_contains {
                    None => NameMatch::Any,
                    Some(fragment) if fragment.chars().count() < 3 => NameMatch::Scan,
                    Some(_) => {
                        // A common fragment's first matches sit near the front of the walk,
                        // where a plain substring test finds them at once; a rare one's do not,
                        // and the trigram index finds them instead. Try the cheap window first.
                        let window = fetch_movies(db, &query, &listing_sql(&query, NameMatch::Window(TRIGRAM_WINDOW)))?;
                        if window.len() == query.limit as usize {
                            return Ok(window);
                        }
                        NameMatch::Trigram
                    }
                };
                fetch_movies(db, &query, &listing_sql(&query, name_match))
            })
            .await
    }

    async fn count_movies(&self, filters: &MovieFilters) -> StoreResult<u64> {
        let filters = filters.clone();
        self.engine
            .scan(move |db| {
                let counted: i64 = match CountPlan::for_filters(&filters) {
                    CountPlan::Total => {
                        db.prepare_cached(counts::MOVIES_IN_SCOPE.sqlite())?.query_row([""], |row| row.get(0))?
                    }
                    CountPlan::Owner(owner) => db
                        .prepare_cached(counts::MOVIES_IN_SCOPE.sqlite())?
                        .query_row([owner.as_str()], |row| row.get(0))?,
                    CountPlan::Entry(kind, entry) => db
                        .prepare_cached(counts::MOVIES_OF_ENTRY.sqlite())?
                        .query_row([kind.stored(), entry], |row| row.get(0))?,
                    CountPlan::Matches => {
                        let sql = count_sql(&filters);
                        db.prepare_cached(&sql.text)?
                            .query_row(params_from_iter(sql.params.iter()), |row| row.get(0))?
                    }
                };
                Ok(u64::try_from(counted).unwrap_or(0))
            })
            .await
    }

    async fn catalogue_entries(
        &self,
        kind: EntryKind,
        prefix: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<CatalogueEntry>> {
        let prefix = prefix.map(str::to_owned);
        self.engine
            .scan(move |db| {
                let entry = |row: &Row<'_>| {
                    Ok(CatalogueEntry { name: row.get(0)?, count: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0) })
                };
                match &prefix {
                    None => db
                        .prepare_cached(counts::MOST_USED_ENTRIES.sqlite())?
                        .query_map(params![kind.stored(), limit], entry)?
                        .collect(),
                    Some(prefix) => {
                        let (starts, word_starts) = counts::starting_patterns(prefix);
                        let window: Vec<CatalogueEntry> = db
                            .prepare_cached(counts::MOST_USED_STARTING_WITH.sqlite())?
                            .query_map(
                                params![kind.stored(), starts, word_starts, counts::MOST_USED_WINDOW, limit],
                                entry,
                            )?
                            .collect::<rusqlite::Result<_>>()?;
                        if window.len() == limit as usize {
                            return Ok(window);
                        }
                        db.prepare_cached(counts::ENTRIES_STARTING_WITH.sqlite())?
                            .query_map(params![kind.stored(), prefix, counts::PAST_EVERY_PREFIX, limit], entry)?
                            .collect()
                    }
                }
            })
            .await
    }

    async fn catalogue_version(&self) -> StoreResult<i64> {
        self.engine.read(|db| db.prepare_cached(CATALOGUE_VERSION.sqlite())?.query_row([], |row| row.get(0))).await
    }

    async fn movie_ids_of(&self, user_id: &UserId) -> StoreResult<Vec<MovieId>> {
        let user_id = user_id.to_owned();
        self.engine
            .scan(move |db| {
                db.prepare_cached(movies::MOVIE_IDS_OF.sqlite())?.query_map([user_id], |row| row.get(0))?.collect()
            })
            .await
    }
}

/// Rows of the newest-first walk examined with a plain substring test before falling back to
/// the trigram index (see `list_movies`).
const TRIGRAM_WINDOW: u32 = 5000;

/// How a listing applies the name filter `q`.
#[derive(Clone, Copy, Debug)]
pub(super) enum NameMatch {
    /// No name filter.
    Any,
    /// `LIKE` on every row of the walk (fragments shorter than a trigram).
    Scan,
    /// `LIKE` on the first N rows of the walk only.
    Window(u32),
    /// The FTS5 trigram index.
    Trigram,
}

/// The listing's SQL, as SQLite reads it, and its values.
pub(super) struct BuiltQuery {
    pub(super) text: String,
    params: Vec<Value>,
}

impl BuiltQuery {
    fn of(sql: ListingSql) -> Self {
        let params = sql
            .values
            .into_iter()
            .map(|value| match value {
                ListingValue::Text(text) => Value::Text(text),
                ListingValue::Time(time) => Value::Integer(micros(time)),
                ListingValue::Int(n) => Value::Integer(n),
            })
            .collect();
        Self { text: numbered_for_sqlite(&sql.text), params }
    }
}

/// The name filter's condition on `movies m`, for every way but the window.
fn match_name(sql: &mut ListingSql, fragment: &str, name_match: NameMatch) {
    match name_match {
        NameMatch::Any | NameMatch::Window(_) => {}
        NameMatch::Scan => {
            sql.push(" AND lower(m.name) LIKE ")
                .bind(ListingValue::Text(contains_pattern(fragment)))
                .push(" ESCAPE '\\'");
        }
        NameMatch::Trigram => {
            // A quoted FTS5 phrase matches the characters literally.
            let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
            sql.push(" AND m.rowid IN (SELECT rowid FROM movie_names WHERE movie_names MATCH ")
                .bind(ListingValue::Text(phrase))
                .push(")");
        }
    }
}

pub(super) fn listing_sql(query: &MovieQuery, name_match: NameMatch) -> BuiltQuery {
    let plan = ListingPlan::for_query(query);
    let fragment = query.filters.name_contains.as_deref().unwrap_or_default();
    let mut sql = ListingSql::default();
    if let NameMatch::Window(_) = name_match {
        sql.push("SELECT * FROM (");
    }
    let walk = ListingSql::walk(query, &plan);
    sql.push(walk.text);
    sql.values = walk.values;
    match_name(&mut sql, fragment, name_match);
    match name_match {
        NameMatch::Window(window) => {
            sql.order_and_limit(&plan, window);
            sql.push(") WHERE lower(name) LIKE ")
                .bind(ListingValue::Text(contains_pattern(fragment)))
                .push(" ESCAPE '\\'");
            let outer_keys: Vec<String> = (0..plan.keys.len()).map(|i| format!("sort_k{i}")).collect();
            sql.push(" ORDER BY ").push(order_by(outer_keys.iter().map(String::as_str), plan.descending));
            sql.push(" LIMIT ").bind(ListingValue::Int(i64::from(query.limit)));
        }
        _ => {
            sql.order_and_limit(&plan, query.limit);
        }
    }
    BuiltQuery::of(sql)
}

/// Counting the movies `filters` hold, where no kept count answers.
pub(super) fn count_sql(filters: &MovieFilters) -> BuiltQuery {
    let query = MovieQuery { filters: filters.clone(), ..MovieQuery::default() };
    let plan = ListingPlan::for_query(&query);
    let mut sql = ListingSql::count(filters, &plan);
    if let Some(fragment) = &filters.name_contains {
        let name_match = if fragment.chars().count() < 3 { NameMatch::Scan } else { NameMatch::Trigram };
        match_name(&mut sql, fragment, name_match);
    }
    BuiltQuery::of(sql)
}

fn fetch_movies(db: &Connection, query: &MovieQuery, sql: &BuiltQuery) -> rusqlite::Result<Vec<(Movie, MovieCursor)>> {
    let mut statement = db.prepare_cached(&sql.text)?;
    let rows = statement.query_map(params_from_iter(sql.params.iter()), |row| {
        let movie = movie_from_row(row)?;
        let place = ListingPlan::cursor_of(query.sort, &movie, row.get("sort_title")?);
        Ok((movie, place))
    })?;
    rows.collect()
}
