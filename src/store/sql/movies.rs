//! The catalogue.

use crate::store::statement::Sql;

/// Every column of `movies` a write sets, in the order both backends bind a movie's values.
/// The rating columns are the library's to change; the sort keys are generated.
macro_rules! movie_columns {
    () => {
        "id, name, year, runtime, casts, directors, genres, overview, poster, added_by, created_at, updated_at"
    };
}
pub(crate) use movie_columns;

/// How many columns `movie_columns!` names.
pub const MOVIE_COLUMNS: usize = 12;

/// Every column a [`Movie`](crate::domain::Movie) is read from.
macro_rules! movie_row {
    () => {
        concat!(crate::store::sql::movies::movie_columns!(), ", rating_count, rating_sum")
    };
}
pub(crate) use movie_row;

/// The same, qualified for queries that join other tables to `movies m`.
macro_rules! movie_row_of_m {
    () => {
        "m.id, m.name, m.year, m.runtime, m.casts, m.directors, m.genres, m.overview, m.poster, m.added_by, \
         m.created_at, m.updated_at, m.rating_count, m.rating_sum"
    };
}
pub(crate) use movie_row_of_m;

pub static MOVIE_BY_ID: Sql = Sql::new(concat!("SELECT ", movie_row!(), " FROM movies WHERE id = $1"));

pub static MOVIE_IDS_OF: Sql = Sql::new("SELECT id FROM movies WHERE added_by = $1 ORDER BY created_at DESC, id DESC");

pub static MOVIE_EXISTS: Sql = Sql::new("SELECT EXISTS (SELECT 1 FROM movies WHERE id = $1)");

/// `$1` the id prefix of synthetic movies, `$2` the prefix with `g` appended (just past every
/// hex digit).
pub static COUNT_SEEDED_MOVIES: Sql = Sql::new("SELECT count(*) FROM movies WHERE id >= $1 AND id < $2");

#[cfg(test)]
pub static ALL: &[&Sql] = &[&MOVIE_BY_ID, &MOVIE_IDS_OF, &MOVIE_EXISTS, &COUNT_SEEDED_MOVIES];

#[cfg(test)]
mod tests {
    use super::MOVIE_COLUMNS;

    #[test]
    fn the_column_count_and_the_qualified_list_agree_with_the_column_list() {
        let columns: Vec<&str> = movie_columns!().split(", ").collect();
        assert_eq!(columns.len(), MOVIE_COLUMNS);
        let read: Vec<&str> = movie_row!().split(", ").collect();
        assert_eq!(read[..MOVIE_COLUMNS], columns[..]);
        let qualified: Vec<String> = read.iter().map(|column| format!("m.{column}")).collect();
        assert_eq!(movie_row_of_m!(), qualified.join(", "));
    }
}
