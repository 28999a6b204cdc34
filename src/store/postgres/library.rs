//! Each person's library on PostgreSQL: days as `YYYY-MM-DD` text, times as `timestamptz`.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PgStore;
use super::movies::{IMPORT_MOVIES, MovieArrays, movie_from_row};
use crate::domain::{HalfStars, LibraryEntry, LibraryStatus, Movie, MovieId, UserId};
use crate::store::sql::library::{self, RowKeys};
use crate::store::statement::Sql;
use crate::store::{
    EntryCursor, EntryKey, EntryWrite, LibraryImport, LibraryImportOutcome, LibraryQuery, LibraryStore, StoreError,
    StoreResult,
};

/// An import's candidates: the movies stored under any of the probes, oldest first.
static IMPORT_CANDIDATES: Sql =
    Sql::new("SELECT id, name, year_key FROM movies WHERE title_key = ANY($1::text[]) ORDER BY created_at, id");

/// An import's entries, in one statement (the rating triggers then run once for the import).
static IMPORT_ENTRIES: Sql = Sql::new(concat!(
    "INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
     SELECT $1::text, t.movie_id, t.status, t.rating, t.watched_on, $6::timestamptz, $6::timestamptz
     FROM unnest($2::text[], $3::text[], $4::integer[], $5::text[]) AS t(movie_id, status, rating, watched_on)",
    crate::store::sql::library::import_upsert!()
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&IMPORT_CANDIDATES, &IMPORT_ENTRIES];

/// The import, in the caller's transaction (see [`LibraryStore::import_library`]).
async fn import_library(tx: &mut PgConnection, import: &LibraryImport) -> StoreResult<LibraryImportOutcome> {
    let probes = library::name_probes(&import.entries);
    let rows = sqlx::query(IMPORT_CANDIDATES.postgres()).bind(&probes).fetch_all(&mut *tx).await?;
    let candidates = rows
        .iter()
        .map(|row| {
            Ok(library::Candidate {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                year_key: row.try_get("year_key")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut found = library::matches(&import.entries, candidates);
    let matched = found.iter().filter(|movie| movie.is_some()).count() as u64;
    let mut outcome = LibraryImportOutcome { matched, created: 0 };
    let missing: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    if !missing.is_empty() {
        let created = MovieArrays::of(missing.iter().map(|&i| &import.entries[i].movie))?
            .bound_to(&IMPORT_MOVIES)
            .fetch_all(&mut *tx)
            .await?;
        let added: std::collections::HashSet<String> =
            created.iter().map(|row| row.try_get("id")).collect::<Result<_, _>>()?;
        for i in missing {
            let movie = &import.entries[i].movie;
            if added.contains(movie.id.as_str()) {
                outcome.created += 1;
                found[i] = Some(movie.id.clone());
            } else {
                // A concurrent create took its exact name and year since the candidates were read.
                let taken: Option<MovieId> = sqlx::query_scalar(library::MOVIE_NAMED.postgres())
                    .bind(&movie.name)
                    .bind(movie.year)
                    .fetch_optional(&mut *tx)
                    .await?;
                outcome.matched += u64::from(taken.is_some());
                found[i] = taken;
            }
        }
    }
    let mut written = std::collections::HashSet::new();
    let (mut ids, mut statuses, mut ratings, mut days) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (entry, movie_id) in import.entries.iter().zip(&found) {
        let Some(movie_id) = movie_id.as_ref().filter(|id| written.insert((*id).clone())) else { continue };
        ids.push(movie_id.to_string());
        statuses.push(entry.status.as_str());
        ratings.push(entry.rating.map(|r| i32::from(r.halves())));
        days.push(entry.watched_on.map(|day| day.format("%Y-%m-%d").to_string()));
    }
    sqlx::query(IMPORT_ENTRIES.postgres())
        .bind(&import.user_id)
        .bind(ids)
        .bind(statuses)
        .bind(ratings)
        .bind(days)
        .bind(import.at)
        .execute(&mut *tx)
        .await?;
    Ok(outcome)
}

fn corrupt(what: String) -> StoreError {
    StoreError::other(anyhow::anyhow!(what))
}

/// The entry in a row that holds `entry_row!`'s columns.
pub(super) fn entry_from_row(row: &PgRow) -> StoreResult<LibraryEntry> {
    let status: String = row.try_get("entry_status")?;
    let rating: Option<i32> = row.try_get("entry_rating")?;
    let watched_on: Option<String> = row.try_get("entry_watched_on")?;
    Ok(LibraryEntry {
        movie_id: row.try_get("entry_movie_id")?,
        status: LibraryStatus::parse(&status).map_err(|e| corrupt(format!("status {status:?} {e}")))?,
        rating: rating
            .map(|halves| HalfStars::from_stored(halves.into()).ok_or_else(|| corrupt(format!("rating {halves}"))))
            .transpose()?,
        watched_on: watched_on
            .map(|day| crate::domain::parse_watched_on(&day).map_err(|e| corrupt(format!("watched_on {day:?} {e}"))))
            .transpose()?,
        created_at: row.try_get("entry_created_at")?,
        updated_at: row.try_get("entry_updated_at")?,
        movie: movie_from_row(row)?,
    })
}

async fn entry(db: &mut PgConnection, user_id: &UserId, movie_id: &MovieId) -> StoreResult<Option<LibraryEntry>> {
    let row = sqlx::query(library::ENTRY.postgres()).bind(user_id).bind(movie_id).fetch_optional(&mut *db).await?;
    row.as_ref().map(entry_from_row).transpose()
}

#[async_trait]
impl LibraryStore for PgStore {
    async fn import_library(&self, import: &LibraryImport) -> StoreResult<LibraryImportOutcome> {
        let mut tx = self.pool.begin().await?;
        let outcome = import_library(&mut tx, import).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn put_entry(&self, write: &EntryWrite) -> StoreResult<Option<LibraryEntry>> {
        self.entry_puts.apply(super::library_writes::EntryPut(write.clone())).await
    }

    async fn entry(&self, user_id: &UserId, movie_id: &MovieId) -> StoreResult<Option<LibraryEntry>> {
        let mut db = self.pool.acquire().await?;
        entry(&mut db, user_id, movie_id).await
    }

    async fn delete_entry(&self, user_id: &UserId, movie_id: &MovieId) -> StoreResult<bool> {
        let done =
            sqlx::query(library::DELETE_ENTRY.postgres()).bind(user_id).bind(movie_id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_entries(&self, query: &LibraryQuery) -> StoreResult<Vec<(LibraryEntry, EntryCursor)>> {
        let sql = library::page_statement(query.sort, query.after.is_some());
        let mut statement = sqlx::query(sql.postgres())
            .bind(&query.user_id)
            .bind(query.status.map(LibraryStatus::as_str))
            .bind(i64::from(query.limit));
        if let Some(after) = &query.after {
            statement = statement.bind(after.created_at).bind(&after.movie_id);
            statement = match &after.key {
                EntryKey::Time => statement,
                EntryKey::Day(key) | EntryKey::Title(key) => statement.bind(key.clone()),
                EntryKey::Halves(key) => statement.bind(i32::try_from(*key).unwrap_or(0)),
            };
        }
        let rows = statement.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let entry = entry_from_row(row)?;
                let keys = RowKeys {
                    watched_key: row.try_get("entry_watched_key")?,
                    rating_key: row.try_get::<i32, _>("entry_rating_key")?.into(),
                    title_key: row.try_get("entry_title_key")?,
                };
                let cursor = library::cursor_of(query.sort, &entry, keys);
                Ok((entry, cursor))
            })
            .collect()
    }

    async fn movies_of(&self, user_id: &UserId) -> StoreResult<Vec<Movie>> {
        let rows = sqlx::query(library::MOVIES_OF.postgres()).bind(user_id).fetch_all(&self.pool).await?;
        rows.iter().map(movie_from_row).collect()
    }
}
