//! Library entries on PostgreSQL (a rating, a watchlist entry), written together (see
//! [`super::write_batches`]): one upsert, one read of what was written and one commit for every
//! entry queued, instead of four round trips and a WAL flush each.
//!
//! An entry whose movie does not exist fails the batch's statement (its foreign key); the
//! batch is then written one entry at a time, and that one is answered "no such movie".

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{PgPool, Row};

use super::library::entry_from_row;
use super::write_batches::BatchedWrite;
use crate::domain::{HalfStars, LibraryEntry, MovieId, UserId};
use crate::store::sql::library::{entry_row, put_upsert};
use crate::store::statement::Sql;
use crate::store::{EntryWrite, StoreResult};

/// Every entry of the batch: `$1` users, `$2` movies, `$3` statuses, `$4` half stars, `$5` days,
/// `$6` times, one array element per entry.
static PUT_ENTRIES: Sql = Sql::new(concat!(
    "INSERT INTO library_entries (user_id, movie_id, status, rating, watched_on, created_at, updated_at)
     SELECT t.user_id, t.movie_id, t.status, t.rating, t.watched_on, t.at, t.at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::timestamptz[])
          AS t(user_id, movie_id, status, rating, watched_on, at)",
    put_upsert!()
));

/// The entries just written, with their movies as the writes left them (ratings included):
/// `$1` users, `$2` movies.
static WRITTEN_ENTRIES: Sql = Sql::new(concat!(
    "SELECT e.user_id AS entry_user_id, ",
    entry_row!(),
    " FROM unnest($1::text[], $2::text[]) AS k(user_id, movie_id)
      JOIN library_entries e ON e.user_id = k.user_id AND e.movie_id = k.movie_id
      JOIN movies m ON m.id = e.movie_id"
));

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&PUT_ENTRIES, &WRITTEN_ENTRIES];

/// A PUT of an entry waiting for its batch; answered with the entry, or `None` when the
/// catalogue has no such movie.
pub(super) struct EntryPut(pub(super) EntryWrite);

#[async_trait]
impl BatchedWrite for EntryPut {
    type Answer = Option<LibraryEntry>;
    type Key = (UserId, MovieId);

    const QUEUE: &'static str = "library write";

    fn key(&self) -> Option<(UserId, MovieId)> {
        Some((self.0.user_id.clone(), self.0.movie_id.clone()))
    }

    async fn apply_all(pool: &PgPool, puts: &[&Self]) -> StoreResult<Vec<StoreResult<Option<LibraryEntry>>>> {
        let users: Vec<&str> = puts.iter().map(|put| put.0.user_id.as_str()).collect();
        let movies: Vec<&str> = puts.iter().map(|put| put.0.movie_id.as_str()).collect();
        let mut tx = pool.begin().await?;
        let written = sqlx::query(PUT_ENTRIES.postgres())
            .bind(&users)
            .bind(&movies)
            .bind(puts.iter().map(|put| put.0.status.as_str()).collect::<Vec<_>>())
            .bind(puts.iter().map(|put| put.0.rating.map(|r| i32::from(HalfStars::halves(r)))).collect::<Vec<_>>())
            .bind(
                puts.iter()
                    .map(|put| put.0.watched_on.map(|day| day.format("%Y-%m-%d").to_string()))
                    .collect::<Vec<_>>(),
            )
            .bind(puts.iter().map(|put| put.0.at).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await;
        match written {
            Ok(_) => {}
            // Alone, the write's movie is missing; in a batch, one of them is: each alone says which.
            Err(sqlx::Error::Database(db))
                if puts.len() == 1 && db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
            {
                return Ok(vec![Ok(None)]);
            }
            Err(error) => return Err(error.into()),
        }
        let rows = sqlx::query(WRITTEN_ENTRIES.postgres()).bind(&users).bind(&movies).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut entries = HashMap::with_capacity(rows.len());
        for row in &rows {
            let user_id: String = row.try_get("entry_user_id")?;
            let entry = entry_from_row(row)?;
            entries.insert((user_id, entry.movie_id.to_string()), entry);
        }
        Ok(puts
            .iter()
            .map(|put| Ok(entries.remove(&(put.0.user_id.to_string(), put.0.movie_id.to_string()))))
            .collect())
    }
}
