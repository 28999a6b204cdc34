//! Each person's library on SQLite: days as `YYYY-MM-DD` text, times as microseconds.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::movies::movie_from_row;
use super::{SqliteStore, corrupt, micros, time_of};
use crate::domain::{HalfStars, LibraryEntry, LibraryStatus, Movie, MovieId, UserId};
use crate::store::sql::library::{self, RowKeys};
use crate::store::sql::movies;
use crate::store::{EntryCursor, EntryKey, EntryWrite, LibraryQuery, LibraryStore, StoreResult};

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

#[async_trait]
impl LibraryStore for SqliteStore {
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
