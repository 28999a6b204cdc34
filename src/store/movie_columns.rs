//! The movie's columns, once for both databases: their names and kinds, how a movie (or a
//! change to one) becomes column values, and how a row becomes a movie. Both backends build
//! their movie SQL from these lists, so a field added to [`Movie`] is added here and in a
//! migration, and nowhere else in the store layer (see ARCHITECTURE.md, "add a `year`").
//!
//! The two adapters at the end say how each kind travels to and from each database (SQLite
//! keeps lists as JSON text and times as microseconds; PostgreSQL has `text[]` and
//! `timestamptz`). They sit here, not in the backends, so that a new kind is one file's change.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSql, ToSqlOutput};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row};

use super::{MovieChange, StoreError};
use crate::domain::{MovieId, UserId};
use crate::model::Movie;

/// How a column's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// A list of strings.
    List,
    Time,
}

/// One value bound to a movie column; `None` is SQL `NULL` (in a change: "keep the stored value").
#[derive(Debug, Clone, Copy)]
pub(crate) enum ColumnValue<'a> {
    Text(Option<&'a str>),
    List(Option<&'a [String]>),
    Time(Option<DateTime<Utc>>),
}

impl ColumnValue<'_> {
    fn kind(&self) -> Kind {
        match self {
            Self::Text(_) => Kind::Text,
            Self::List(_) => Kind::List,
            Self::Time(_) => Kind::Time,
        }
    }
}

/// Every column of `movies`, in the order [`values_of`] gives their values.
pub(crate) const COLUMNS: [(&str, Kind); 7] = [
    ("id", Kind::Text),
    ("name", Kind::Text),
    ("casts", Kind::List),
    ("genres", Kind::List),
    ("added_by", Kind::Text),
    ("created_at", Kind::Time),
    ("updated_at", Kind::Time),
];

/// A movie's values, in [`COLUMNS`] order (the array's length makes a missed one a build error).
pub(crate) fn values_of(movie: &Movie) -> [ColumnValue<'_>; COLUMNS.len()] {
    [
        ColumnValue::Text(Some(movie.id.as_str())),
        ColumnValue::Text(Some(&movie.name)),
        ColumnValue::List(Some(&movie.casts)),
        ColumnValue::List(Some(&movie.genres)),
        ColumnValue::Text(Some(movie.added_by.as_str())),
        ColumnValue::Time(Some(movie.created_at)),
        ColumnValue::Time(Some(movie.updated_at)),
    ]
}

/// The columns a replace or patch sets, in the order [`changed_values`] gives their values.
/// (`updated_at` is the write's own business: each backend makes it strictly increase.)
pub(crate) const CHANGEABLE: [&str; 3] = ["name", "casts", "genres"];

/// A change's values, in [`CHANGEABLE`] order; `None` keeps the stored value.
pub(crate) fn changed_values(change: &MovieChange) -> [ColumnValue<'_>; CHANGEABLE.len()] {
    [
        ColumnValue::Text(change.name.as_deref()),
        ColumnValue::List(change.casts.as_deref()),
        ColumnValue::List(change.genres.as_deref()),
    ]
}

/// A row's columns, read by name in each database's own way.
pub(crate) trait ColumnSource {
    type Error;
    fn text(&self, column: &str) -> Result<String, Self::Error>;
    fn list(&self, column: &str) -> Result<Vec<String>, Self::Error>;
    fn time(&self, column: &str) -> Result<DateTime<Utc>, Self::Error>;
}

/// The movie in a row that holds the [`COLUMNS`] (by name: extra columns are fine).
pub(crate) fn movie_from<R: ColumnSource>(row: &R) -> Result<Movie, R::Error> {
    Ok(Movie {
        id: MovieId::from_stored(row.text("id")?),
        name: row.text("name")?,
        casts: row.list("casts")?,
        genres: row.list("genres")?,
        added_by: UserId::from_stored(row.text("added_by")?),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// `id, name, ...`: every column, for `SELECT` and `RETURNING`.
pub(crate) static SELECT_LIST: LazyLock<String> = LazyLock::new(|| column_list(""));
/// The same, qualified for queries that join other tables to `movies m`.
pub(crate) static SELECT_LIST_OF_M: LazyLock<String> = LazyLock::new(|| column_list("m."));

fn column_list(qualifier: &str) -> String {
    COLUMNS.iter().map(|(name, _)| format!("{qualifier}{name}")).collect::<Vec<_>>().join(", ")
}

/// `name = coalesce(P1, name), ...` for the [`CHANGEABLE`] columns, where `placeholder(i)` is
/// the dialect's i-th parameter (from 1).
pub(crate) fn set_changed(placeholder: impl Fn(usize) -> String) -> String {
    CHANGEABLE
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{name} = coalesce({}, {name})", placeholder(i + 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- SQLite: lists as JSON text, times as microseconds since the epoch. ----

impl ToSql for ColumnValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match *self {
            Self::Text(None) | Self::List(None) | Self::Time(None) => Ok(ToSqlOutput::from(rusqlite::types::Null)),
            Self::Text(Some(text)) => Ok(ToSqlOutput::from(text)),
            Self::List(Some(list)) => serde_json::to_string(list)
                .map(ToSqlOutput::from)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into())),
            Self::Time(Some(time)) => Ok(ToSqlOutput::from(time.timestamp_micros())),
        }
    }
}

impl ColumnSource for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn text(&self, column: &str) -> rusqlite::Result<String> {
        self.get(column)
    }

    fn list(&self, column: &str) -> rusqlite::Result<Vec<String>> {
        let text: String = self.get(column)?;
        serde_json::from_str(&text).map_err(|e| corrupt_sqlite(self, column, e))
    }

    fn time(&self, column: &str) -> rusqlite::Result<DateTime<Utc>> {
        let micros: i64 = self.get(column)?;
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| corrupt_sqlite(self, column, format!("time out of range: {micros}")))
    }
}

/// A stored value the code never writes.
fn corrupt_sqlite(
    row: &rusqlite::Row<'_>,
    column: &str,
    problem: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> rusqlite::Error {
    let index = row.as_ref().column_index(column).unwrap_or(0);
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, problem.into())
}

// ---- PostgreSQL: text, text[] and timestamptz. ----

/// Binds a value as its PostgreSQL type.
pub(crate) fn bind_pg<'q>(
    query: Query<'q, Postgres, PgArguments>,
    value: ColumnValue<'q>,
) -> Query<'q, Postgres, PgArguments> {
    match value {
        ColumnValue::Text(text) => query.bind(text),
        ColumnValue::List(list) => query.bind(list),
        ColumnValue::Time(time) => query.bind(time),
    }
}

impl ColumnSource for PgRow {
    type Error = StoreError;

    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn list(&self, column: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// Many movies as one array per column, for `INSERT ... SELECT FROM unnest(...)`: one statement
/// for a whole batch of creates.
pub(crate) struct PgColumnArrays {
    arrays: Vec<PgArray>,
}

enum PgArray {
    Text(Vec<Option<String>>),
    /// Lists travel as JSON text: unnest would flatten a two-dimensional array.
    ListAsJson(Vec<Option<String>>),
    Time(Vec<Option<DateTime<Utc>>>),
}

/// `INSERT INTO movies (...) SELECT ... FROM unnest($1::text[], ...)` for [`PgColumnArrays`],
/// inserting in the arrays' order, skipping a movie whose name (or id) is taken, returning the
/// ids inserted.
pub(crate) static PG_INSERT_ARRAYS: LazyLock<String> = LazyLock::new(|| pg_insert_arrays(""));

/// The same, also skipping a movie whose owner does not exist (an import's movies).
pub(crate) static PG_IMPORT_ARRAYS: LazyLock<String> =
    LazyLock::new(|| pg_insert_arrays("WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = t.added_by)"));

fn pg_insert_arrays(condition: &str) -> String {
    let names = column_list("");
    let selected = COLUMNS
        .iter()
        .map(|(name, kind)| match kind {
            Kind::List => format!("ARRAY(SELECT jsonb_array_elements_text(t.{name}::jsonb))"),
            Kind::Text | Kind::Time => format!("t.{name}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let arrays = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| match kind {
            Kind::Text | Kind::List => format!("${}::text[]", i + 1),
            Kind::Time => format!("${}::timestamptz[]", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO movies ({names}) SELECT {selected}
         FROM unnest({arrays}) WITH ORDINALITY AS t({names}, position)
         {condition}
         ORDER BY t.position
         ON CONFLICT DO NOTHING
         RETURNING id"
    )
}

impl PgColumnArrays {
    pub(crate) fn of<'m>(movies: impl ExactSizeIterator<Item = &'m Movie>) -> Result<Self, StoreError> {
        let rows = movies.len();
        let mut arrays: Vec<PgArray> = COLUMNS
            .iter()
            .map(|(_, kind)| match kind {
                Kind::Text => PgArray::Text(Vec::with_capacity(rows)),
                Kind::List => PgArray::ListAsJson(Vec::with_capacity(rows)),
                Kind::Time => PgArray::Time(Vec::with_capacity(rows)),
            })
            .collect();
        for movie in movies {
            for (array, value) in arrays.iter_mut().zip(values_of(movie)) {
                match (array, value) {
                    (PgArray::Text(array), ColumnValue::Text(text)) => array.push(text.map(str::to_owned)),
                    (PgArray::ListAsJson(array), ColumnValue::List(list)) => {
                        array.push(list.map(serde_json::to_string).transpose().map_err(StoreError::other)?);
                    }
                    (PgArray::Time(array), ColumnValue::Time(time)) => array.push(time),
                    (_, value) => {
                        return Err(StoreError::other(anyhow::anyhow!(
                            "a {:?} value where COLUMNS declares another kind",
                            value.kind()
                        )));
                    }
                }
            }
        }
        Ok(Self { arrays })
    }

    /// Binds every array, in [`COLUMNS`] order, to [`PG_INSERT_ARRAYS`].
    pub(crate) fn bind_to<'q>(self, mut query: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> {
        for array in self.arrays {
            query = match array {
                PgArray::Text(values) | PgArray::ListAsJson(values) => query.bind(values),
                PgArray::Time(values) => query.bind(values),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_movie() -> Movie {
        Movie {
            id: MovieId::generate(),
            name: "Heat".into(),
            casts: vec!["Al Pacino".into()],
            genres: vec!["Crime".into()],
            added_by: UserId::generate(),
            created_at: crate::model::now(),
            updated_at: crate::model::now(),
        }
    }

    #[test]
    fn every_value_has_the_kind_its_column_declares() {
        let movie = a_movie();
        let kinds: Vec<Kind> = values_of(&movie).iter().map(ColumnValue::kind).collect();
        assert_eq!(kinds, COLUMNS.iter().map(|(_, kind)| *kind).collect::<Vec<_>>());
    }

    #[test]
    fn every_changeable_column_is_a_column_of_the_same_kind() {
        let change = MovieChange { name: None, casts: None, genres: None, at: crate::model::now() };
        for (name, value) in CHANGEABLE.iter().zip(changed_values(&change)) {
            let declared = COLUMNS.iter().find(|(column, _)| column == name).map(|(_, kind)| *kind);
            assert_eq!(declared, Some(value.kind()), "{name}");
        }
    }

    #[test]
    fn the_column_lists_name_every_column_once() {
        assert_eq!(*SELECT_LIST, "id, name, casts, genres, added_by, created_at, updated_at");
        assert!(SELECT_LIST_OF_M.starts_with("m.id, m.name"));
        assert_eq!(
            set_changed(|i| format!("?{i}")),
            "name = coalesce(?1, name), casts = coalesce(?2, casts), genres = coalesce(?3, genres)"
        );
    }
}
