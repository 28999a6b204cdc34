//! Each person's library. Rows join `library_entries e` to `movies m`; the entry's own columns
//! are aliased so that they never shadow the movie's (rows are read by name).

use crate::store::statement::Sql;

/// Every column an entry is read from, its movie's included.
macro_rules! entry_row {
    () => {
        concat!(
            "e.movie_id AS entry_movie_id, e.status AS entry_status, e.rating AS entry_rating, \
             e.watched_on AS entry_watched_on, e.created_at AS entry_created_at, \
             e.updated_at AS entry_updated_at, e.watched_key AS entry_watched_key, \
             e.rating_key AS entry_rating_key, m.title_key AS entry_title_key, ",
            crate::store::sql::movies::movie_row_of_m!()
        )
    };
}

/// `$1` user, `$2` movie.
pub static ENTRY: Sql = Sql::new(concat!(
    "SELECT ",
    entry_row!(),
    " FROM library_entries e JOIN movies m ON m.id = e.movie_id WHERE e.user_id = $1 AND e.movie_id = $2"
));

/// Creates or replaces the entry: `$1` user, `$2` movie, `$3` status, `$4` half stars or NULL,
/// `$5` the day or NULL, `$6` now. A replaced entry keeps its `created_at`; its `updated_at`
/// never goes back.
pub static PUT_ENTRY: Sql = Sql::new(
    "INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (user_id, movie_id) DO UPDATE SET status = excluded.status, rating = excluded.rating,
        watched_on = excluded.watched_on,
        updated_at = CASE WHEN excluded.updated_at > library_entries.updated_at THEN excluded.updated_at
                          ELSE library_entries.updated_at END",
);

/// `$1` user, `$2` movie.
pub static DELETE_ENTRY: Sql = Sql::new("DELETE FROM library_entries WHERE user_id = $1 AND movie_id = $2");

/// The start of every page: `$1` user, `$2` status or NULL for both; `$3` the page size.
macro_rules! page_of {
    ($after:literal, $order:literal) => {
        concat!(
            "SELECT ",
            entry_row!(),
            " FROM library_entries e JOIN movies m ON m.id = e.movie_id
             WHERE e.user_id = $1 AND e.status = coalesce($2, e.status) ",
            $after,
            " ORDER BY ",
            $order,
            " LIMIT $3"
        )
    };
}

/// The first page and the pages after a cursor (`$4` its created_at, `$5` its movie, `$6` its
/// key), in each order. Each order but `title` walks its index of the user's entries; `title`
/// sorts the user's entries by their movie's key (one library, not the catalogue).
pub static PAGE_ADDED: Sql = Sql::new(page_of!("", "e.created_at DESC, e.movie_id DESC"));
pub static PAGE_ADDED_AFTER: Sql =
    Sql::new(page_of!("AND (e.created_at, e.movie_id) < ($4, $5)", "e.created_at DESC, e.movie_id DESC"));
pub static PAGE_WATCHED: Sql = Sql::new(page_of!("", "e.watched_key DESC, e.created_at DESC, e.movie_id DESC"));
pub static PAGE_WATCHED_AFTER: Sql = Sql::new(page_of!(
    "AND (e.watched_key, e.created_at, e.movie_id) < ($6, $4, $5)",
    "e.watched_key DESC, e.created_at DESC, e.movie_id DESC"
));
pub static PAGE_RATING: Sql = Sql::new(page_of!("", "e.rating_key DESC, e.created_at DESC, e.movie_id DESC"));
pub static PAGE_RATING_AFTER: Sql = Sql::new(page_of!(
    "AND (e.rating_key, e.created_at, e.movie_id) < ($6, $4, $5)",
    "e.rating_key DESC, e.created_at DESC, e.movie_id DESC"
));
pub static PAGE_TITLE: Sql = Sql::new(page_of!("", "m.title_key, e.created_at, e.movie_id"));
pub static PAGE_TITLE_AFTER: Sql = Sql::new(page_of!(
    "AND (m.title_key, e.created_at, e.movie_id) > ($6, $4, $5)",
    "m.title_key, e.created_at, e.movie_id"
));

/// Every movie a user added, oldest first (the export).
pub static MOVIES_OF: Sql = Sql::new(concat!(
    "SELECT ",
    crate::store::sql::movies::movie_row!(),
    " FROM movies WHERE added_by = $1 ORDER BY created_at, id"
));

#[cfg(test)]
pub static ALL: &[&Sql] = &[
    &ENTRY,
    &PUT_ENTRY,
    &DELETE_ENTRY,
    &PAGE_ADDED,
    &PAGE_ADDED_AFTER,
    &PAGE_WATCHED,
    &PAGE_WATCHED_AFTER,
    &PAGE_RATING,
    &PAGE_RATING_AFTER,
    &PAGE_TITLE,
    &PAGE_TITLE_AFTER,
    &MOVIES_OF,
];

use crate::store::{EntryCursor, EntryKey, LibrarySort};

/// The statement of a page in `sort`'s order: the first page, or one after a cursor.
pub fn page_statement(sort: LibrarySort, after: bool) -> &'static Sql {
    match (sort, after) {
        (LibrarySort::Added, false) => &PAGE_ADDED,
        (LibrarySort::Added, true) => &PAGE_ADDED_AFTER,
        (LibrarySort::WatchedOn, false) => &PAGE_WATCHED,
        (LibrarySort::WatchedOn, true) => &PAGE_WATCHED_AFTER,
        (LibrarySort::Rating, false) => &PAGE_RATING,
        (LibrarySort::Rating, true) => &PAGE_RATING_AFTER,
        (LibrarySort::Title, false) => &PAGE_TITLE,
        (LibrarySort::Title, true) => &PAGE_TITLE_AFTER,
    }
}

/// The sort keys a row holds (`entry_watched_key`, `entry_rating_key`, `entry_title_key`).
pub struct RowKeys {
    pub watched_key: String,
    pub rating_key: i64,
    pub title_key: String,
}

/// An entry's place in `sort`'s order, from its row.
pub fn cursor_of(sort: LibrarySort, entry: &crate::domain::LibraryEntry, keys: RowKeys) -> EntryCursor {
    let key = match sort {
        LibrarySort::Added => EntryKey::Time,
        LibrarySort::WatchedOn => EntryKey::Day(keys.watched_key),
        LibrarySort::Rating => EntryKey::Halves(keys.rating_key),
        LibrarySort::Title => EntryKey::Title(keys.title_key),
    };
    EntryCursor { key, created_at: entry.created_at, movie_id: entry.movie_id.clone() }
}
