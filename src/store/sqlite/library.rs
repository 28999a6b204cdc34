//! Each person's library on SQLite: days as `YYYY-MM-DD` text, times as microseconds.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::engine::Finish;
use super::movies::{movie_from_row, movie_values};
use super::{SqliteStore, corrupt, micros, time_of};
use crate::domain::{HalfStars, LibraryEntry, LibraryStatus, Movie, MovieId, UserId};
use crate::store::sql::library::{self, RowKeys};
use crate::store::sql::movies;
use crate::store::statement::Sql;
use crate::store::{
    EntryCursor, EntryKey, EntryWrite, LibraryImport, LibraryImportOutcome, LibraryQuery, LibraryStore, StoreResult,
};

/// An import's candidates: the movies stored under any of the probes (`$1`, a JSON array), oldest
/// first. `json_each` keeps it one statement however many probes, and the planner walks the
/// `title_key` index once per probe.
static IMPORT_CANDIDATES: Sql = Sql::new(
    "SELECT id, name, year_key FROM movies WHERE title_key IN (SELECT value FROM json_each($1))
     ORDER BY created_at, id",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&IMPORT_CANDIDATES];

/// Movies created per INSERT (see `import.rs`: one statement per movie would copy pages into a
/// statement journal each time).
const MOVIES_PER_STATEMENT: usize = 500;

/// The entry in a row that holds `entry_row!`'s columns.
pub(super) fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<LibraryEntry> {
    let status: String = row.get("entry_status")?;
    let rating: Option<i64> = row.get("entry_rating")?;
    let watched_on: Option<String> = row.get("entry_watched_on")?;
    Ok(LibraryEntry {
        movie_id: row.get("entry_movie_id")?,
        status: LibraryStatus::parse(&status).map_err(|e| corrupt(row, "entry_status", e))?,
        rating: rating
            .map(|halves| HalfStars::from_stored(halves).ok_or_else(|| corrupt(row, "entry_rating", "not 1 to 10")))
            .transpose()?,
        watched_on: watched_on
            .map(|day| crate::domain::parse_watched_on(&day).map_err(|e| corrupt(row, "entry_watched_on", e)))
            .transpose()?,
        created_at: time_of(row, "entry_created_at")?,
        updated_at: time_of(row, "entry_updated_at")?,
        movie: movie_from_row(row)?,
    })
}

fn entry(db: &Connection, user_id: &UserId, movie_id: &MovieId) -> rusqlite::Result<Option<LibraryEntry>> {
    db.prepare_cached(library::ENTRY.sqlite())?.query_row(params![user_id, movie_id], entry_from_row).optional()
}

/// Writes one entry inside the writer's transaction; false when there is no such movie.
pub(super) fn put_entry(db: &Connection, write: &EntryWrite) -> rusqlite::Result<bool> {
    let exists: bool =
        db.prepare_cached(movies::MOVIE_EXISTS.sqlite())?.query_row([&write.movie_id], |row| row.get(0))?;
    if !exists {
        return Ok(false);
    }
    db.prepare_cached(library::PUT_ENTRY.sqlite())?.execute(params![
        write.user_id,
        write.movie_id,
        write.status.as_str(),
        write.rating.map(HalfStars::halves),
        write.watched_on.map(|day| day.format("%Y-%m-%d").to_string()),
        micros(write.at)
    ])?;
    Ok(true)
}

/// The import, inside the writer's transaction (see [`LibraryStore::import_library`]).
fn import_library(db: &Connection, import: &LibraryImport) -> StoreResult<LibraryImportOutcome> {
    let probes =
        serde_json::to_string(&library::name_probes(&import.entries)).map_err(crate::store::StoreError::other)?;
    let candidates = db
        .prepare_cached(IMPORT_CANDIDATES.sqlite())?
        .query_map([probes], |row| {
            Ok(library::Candidate { id: row.get("id")?, name: row.get("name")?, year_key: row.get("year_key")? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut found = library::matches(&import.entries, candidates);
    let matched = found.iter().filter(|movie| movie.is_some()).count() as u64;
    let mut outcome = LibraryImportOutcome { matched, created: 0 };
    let missing: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    for chunk in missing.chunks(MOVIES_PER_STATEMENT) {
        let mut values = Vec::with_capacity(chunk.len() * movies::MOVIE_COLUMNS);
        for &i in chunk {
            values.extend(movie_values(&import.entries[i].movie)?);
        }
        let added: std::collections::HashSet<String> = db
            .prepare_cached(&super::import::import_movies_sql(chunk.len()))?
            .query_map(rusqlite::params_from_iter(values.iter()), |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for &i in chunk {
            let movie = &import.entries[i].movie;
            if added.contains(movie.id.as_str()) {
                outcome.created += 1;
                found[i] = Some(movie.id.clone());
            } else {
                // Its exact name and year are taken by a movie the probes missed.
                let taken: Option<MovieId> = db
                    .prepare_cached(library::MOVIE_NAMED.sqlite())?
                    .query_row(params![movie.name, movie.year], |row| row.get(0))
                    .optional()?;
                outcome.matched += u64::from(taken.is_some());
                found[i] = taken;
            }
        }
    }
    let mut written = std::collections::HashSet::new();
    let mut upsert = db.prepare_cached(library::IMPORT_ENTRY.sqlite())?;
    for (entry, movie_id) in import.entries.iter().zip(&found) {
        let Some(movie_id) = movie_id.as_ref().filter(|id| written.insert((*id).clone())) else { continue };
        upsert.execute(params![
            import.user_id,
            movie_id,
            entry.status.as_str(),
            entry.rating.map(HalfStars::halves),
            entry.watched_on.map(|day| day.format("%Y-%m-%d").to_string()),
            micros(import.at)
        ])?;
    }
    Ok(outcome)
}

#[async_trait]
impl LibraryStore for SqliteStore {
    async fn import_library(&self, import: &LibraryImport) -> StoreResult<LibraryImportOutcome> {
        let import = import.clone();
        // A transaction of its own, without the savepoint of a shared batch: the savepoint would
        // journal (in memory: `temp_store`) every page the import touches across the catalogue's
        // indexes, which cost a 100,000-movie catalogue's import 6.7 s and 125 MB. An error
        // rolls the whole import back.
        self.engine.write_alone(move |db| Ok(Finish::Commit(import_library(db, &import)?))).await
    }

    async fn put_entry(&self, write: &EntryWrite) -> StoreResult<Option<LibraryEntry>> {
        let write = write.clone();
        self.engine
            .write(move |db| match put_entry(db, &write)? {
                true => Ok(entry(db, &write.user_id, &write.movie_id)?),
                false => Ok(None),
            })
            .await
    }

    async fn entry(&self, user_id: &UserId, movie_id: &MovieId) -> StoreResult<Option<LibraryEntry>> {
        let (user_id, movie_id) = (user_id.to_owned(), movie_id.to_owned());
        self.engine.read(move |db| entry(db, &user_id, &movie_id)).await
    }

    async fn delete_entry(&self, user_id: &UserId, movie_id: &MovieId) -> StoreResult<bool> {
        let (user_id, movie_id) = (user_id.to_owned(), movie_id.to_owned());
        self.engine
            .write(move |db| {
                Ok(db.prepare_cached(library::DELETE_ENTRY.sqlite())?.execute(params![user_id, movie_id])? > 0)
            })
            .await
    }

    async fn list_entries(&self, query: &LibraryQuery) -> StoreResult<Vec<(LibraryEntry, EntryCursor)>> {
        let query = query.clone();
        self.engine
            .scan(move |db| {
                let sql = library::page_statement(query.sort, query.after.is_some());
                let mut statement = db.prepare_cached(sql.sqlite())?;
                let status = query.status.map(LibraryStatus::as_str);
                let read = |row: &Row<'_>| {
                    let entry = entry_from_row(row)?;
                    let keys = RowKeys {
                        watched_key: row.get("entry_watched_key")?,
                        rating_key: row.get("entry_rating_key")?,
                        title_key: row.get("entry_title_key")?,
                    };
                    let cursor = library::cursor_of(query.sort, &entry, keys);
                    Ok((entry, cursor))
                };
                let rows = match &query.after {
                    None => statement.query_map(params![query.user_id, status, query.limit], read)?,
                    Some(after) => {
                        let (created_at, movie_id) = (micros(after.created_at), after.movie_id.as_str());
                        match &after.key {
                            EntryKey::Time => statement
                                .query_map(params![query.user_id, status, query.limit, created_at, movie_id], read)?,
                            EntryKey::Day(key) | EntryKey::Title(key) => statement.query_map(
                                params![query.user_id, status, query.limit, created_at, movie_id, key],
                                read,
                            )?,
                            EntryKey::Halves(key) => statement.query_map(
                                params![query.user_id, status, query.limit, created_at, movie_id, key],
                                read,
                            )?,
                        }
                    }
                };
                rows.collect()
            })
            .await
    }

    async fn movies_of(&self, user_id: &UserId) -> StoreResult<Vec<Movie>> {
        let user_id = user_id.to_owned();
        self.engine
            .scan(move |db| {
                db.prepare_cached(library::MOVIES_OF.sqlite())?.query_map([user_id], movie_from_row)?.collect()
            })
            .await
    }
}
