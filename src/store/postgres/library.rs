//! Each person's library on PostgreSQL: days as `YYYY-MM-DD` text, times as `timestamptz`.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PgStore;
use super::movies::movie_from_row;
use crate::domain::{HalfStars, LibraryEntry, LibraryStatus, Movie, MovieId, UserId};
use crate::store::sql::library::{self, RowKeys};
use crate::store::sql::movies;
use crate::store::{EntryCursor, EntryKey, EntryWrite, LibraryQuery, LibraryStore, StoreError, StoreResult};

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

/// Writes one entry in the caller's transaction; false when there is no such movie (also when
/// it was deleted meanwhile: the foreign key refuses the row).
pub(super) async fn put_entry(tx: &mut PgConnection, write: &EntryWrite) -> StoreResult<bool> {
    let exists: bool =
        sqlx::query_scalar(movies::MOVIE_EXISTS.postgres()).bind(&write.movie_id).fetch_one(&mut *tx).await?;
    if !exists {
        return Ok(false);
    }
    let written = sqlx::query(library::PUT_ENTRY.postgres())
        .bind(&write.user_id)
        .bind(&write.movie_id)
        .bind(write.status.as_str())
        .bind(write.rating.map(|r| i32::from(r.halves())))
        .bind(write.watched_on.map(|day| day.format("%Y-%m-%d").to_string()))
        .bind(write.at)
        .execute(&mut *tx)
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(db)) if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[async_trait]
impl LibraryStore for PgStore {
    async fn put_entry(&self, write: &EntryWrite) -> StoreResult<Option<LibraryEntry>> {
        let mut tx = self.pool.begin().await?;
        if !put_entry(&mut tx, write).await? {
            return Ok(None);
        }
        let written = entry(&mut tx, &write.user_id, &write.movie_id).await?;
        tx.commit().await?;
        Ok(written)
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
