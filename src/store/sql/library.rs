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
pub(crate) use entry_row;

/// `$1` user, `$2` movie.
pub static ENTRY: Sql = Sql::new(concat!(
    "SELECT ",
    entry_row!(),
    " FROM library_entries e JOIN movies m ON m.id = e.movie_id WHERE e.user_id = $1 AND e.movie_id = $2"
));

/// What a PUT does to an entry that exists: replaces it, keeping `created_at`; `updated_at`
/// never goes back.
macro_rules! put_upsert {
    () => {
        " ON CONFLICT (user_id, movie_id) DO UPDATE SET status = excluded.status, rating = excluded.rating,
            watched_on = excluded.watched_on,
            updated_at = CASE WHEN excluded.updated_at > library_entries.updated_at THEN excluded.updated_at
                              ELSE library_entries.updated_at END"
    };
}
pub(crate) use put_upsert;

/// Creates or replaces the entry: `$1` user, `$2` movie, `$3` status, `$4` half stars or NULL,
/// `$5` the day or NULL, `$6` now. A replaced entry keeps its `created_at`; its `updated_at`
/// never goes back.
pub static PUT_ENTRY: Sql = Sql::new(concat!(
    "INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)",
    put_upsert!()
));

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

/// What an import's write of an entry does to one already there: it stays watched when the
/// import says watchlist, and keeps the rating and the day the import leaves out. The `WHERE`
/// leaves an entry the import does not change unwritten, so a second import of the same export
/// changes nothing (not even `updated_at`).
macro_rules! import_upsert {
    () => {
        " ON CONFLICT (user_id, movie_id) DO UPDATE SET
            status = CASE WHEN library_entries.status = 'watched' THEN 'watched' ELSE excluded.status END,
            rating = coalesce(excluded.rating, library_entries.rating),
            watched_on = coalesce(excluded.watched_on, library_entries.watched_on),
            updated_at = CASE WHEN excluded.updated_at > library_entries.updated_at THEN excluded.updated_at
                              ELSE library_entries.updated_at END
          WHERE (library_entries.status = 'watchlist' AND excluded.status = 'watched')
             OR (excluded.rating IS NOT NULL AND library_entries.rating IS DISTINCT FROM excluded.rating)
             OR (excluded.watched_on IS NOT NULL AND library_entries.watched_on IS DISTINCT FROM excluded.watched_on)"
    };
}
pub(crate) use import_upsert;

/// An import's entry, one row: `$1` user, `$2` movie, `$3` status, `$4` half stars or NULL, `$5`
/// the day or NULL, `$6` the import's time. (PostgreSQL writes them all in one statement.)
pub static IMPORT_ENTRY: Sql = Sql::new(concat!(
    "INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)",
    import_upsert!()
));

/// The movie of this exact name and year (`$2` NULL for none): the one an import's create
/// found taken by a concurrent writer.
pub static MOVIE_NAMED: Sql =
    Sql::new("SELECT id FROM movies WHERE name = $1 AND year_key = coalesce(CAST($2 AS INTEGER), 0)");

#[cfg(test)]
pub static ALL: &[&Sql] = &[
    &IMPORT_ENTRY,
    &MOVIE_NAMED,
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

use std::collections::HashMap;

use crate::domain::MovieId;
use crate::store::{EntryCursor, EntryKey, ImportedEntry, LibrarySort};

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

/// The `title_key`s under which an import's movie may be stored. `title_key` is the database's
/// `lower(name)`: ASCII only on SQLite (and on a PostgreSQL database of the "C" ctype), Unicode
/// elsewhere. The entry's own key finds every stored spelling whose lowercase letters are
/// lowercase; the name with its ASCII letters lowered finds the name as written; with its other
/// letters raised, the name as written in capitals ("AMÉLIE" for "amélie"). Candidates are
/// then compared by [`crate::domain::name_key`], so a probe can only widen the search.
pub fn name_probes(entries: &[ImportedEntry]) -> Vec<String> {
    let mut probes: Vec<String> = entries
        .iter()
        .flat_map(|entry| {
            let raised: String = entry
                .movie
                .name
                .chars()
                .flat_map(|c| if c.is_ascii() { vec![c.to_ascii_lowercase()] } else { c.to_uppercase().collect() })
                .collect();
            [entry.key.clone(), entry.movie.name.to_ascii_lowercase(), raised]
        })
        .collect();
    probes.sort_unstable();
    probes.dedup();
    probes
}

/// A movie the probes found: its id, name and `year_key`, oldest first.
pub struct Candidate {
    pub id: MovieId,
    pub name: String,
    pub year_key: i32,
}

/// Each entry's movie among the candidates (read oldest first): the oldest whose name has the
/// entry's key and whose year is the entry's; `None` when there is none.
pub fn matches(entries: &[ImportedEntry], candidates: Vec<Candidate>) -> Vec<Option<MovieId>> {
    let mut found: HashMap<(String, i32), MovieId> = HashMap::new();
    for candidate in candidates {
        found.entry((crate::domain::name_key(&candidate.name), candidate.year_key)).or_insert(candidate.id);
    }
    entries.iter().map(|entry| found.get(&(entry.key.clone(), entry.movie.year.unwrap_or(0))).cloned()).collect()
}
