//! `movie-bag import` on SQLite: everything in one savepoint of one write, on the writer thread,
//! taking the movies batch by batch as the file's reader hands them over.

use async_trait::async_trait;
use rusqlite::{Connection, params, params_from_iter};
use std::sync::LazyLock;
use tokio::sync::mpsc;

use super::SqliteStore;
use super::micros;
use crate::store::movie_columns::{self, SELECT_LIST};
use crate::store::{ImportBatch, ImportOutcome, ImportStore, ImportedUser, StoreResult};

/// Adds a movie when its id and name are free and its owner exists.
static IMPORT_MOVIE: LazyLock<String> = LazyLock::new(|| {
    let columns = &movie_columns::COLUMNS;
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let owner = columns.iter().position(|(name, _)| *name == "added_by").expect("movies have an owner column") + 1;
    format!(
        "INSERT INTO movies ({}) SELECT {} WHERE EXISTS (SELECT 1 FROM users WHERE id = ?{owner})
         ON CONFLICT DO NOTHING",
        *SELECT_LIST,
        placeholders.join(", ")
    )
});

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import(
        &self,
        users: Vec<ImportedUser>,
        mut movies: mpsc::Receiver<ImportBatch>,
        dry_run: bool,
    ) -> StoreResult<ImportOutcome> {
        self.engine
            .write(move |db| {
                // A savepoint of its own inside the writer's transaction: rolled back alone.
                db.execute_batch("SAVEPOINT import")?;
                let outcome = import_all(db, &users, &mut movies);
                let keep = matches!(outcome, Ok(Some(_))) && !dry_run;
                db.execute_batch(if keep { "RELEASE import" } else { "ROLLBACK TO import; RELEASE import" })?;
                Ok(outcome?.unwrap_or_default())
            })
            .await
    }
}

/// `None` when the reader aborted.
fn import_all(
    db: &Connection,
    users: &[ImportedUser],
    movies: &mut mpsc::Receiver<ImportBatch>,
) -> StoreResult<Option<ImportOutcome>> {
    let mut outcome = ImportOutcome::default();
    let mut add_user = db.prepare_cached(
        "INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
         VALUES (?, ?, ?, ?, 'user', ?) ON CONFLICT DO NOTHING",
    )?;
    for user in users {
        let added = add_user.execute(params![
            user.id,
            user.email.as_str(),
            user.email.normalized(),
            user.password_hash,
            micros(user.created_at)
        ])?;
        if added == 1 {
            outcome.users_added += 1;
        } else if exists(db, "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)", user.id.as_str())? {
            outcome.users_present += 1;
        } else {
            outcome.users_email_taken.push(user.id.clone());
        }
    }
    let mut add_movie = db.prepare_cached(&IMPORT_MOVIE)?;
    while let Some(batch) = movies.blocking_recv() {
        let ImportBatch::Movies(batch) = batch else {
            return Ok(None);
        };
        for movie in &batch {
            if add_movie.execute(params_from_iter(movie_columns::values_of(movie)))? == 1 {
                outcome.movies_added += 1;
            } else if exists(db, "SELECT EXISTS (SELECT 1 FROM movies WHERE id = ?)", movie.id.as_str())? {
                outcome.movies_present += 1;
            } else if !exists(db, "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)", movie.added_by.as_str())? {
                outcome.movies_without_owner.push(movie.id.clone());
            } else {
                outcome.movies_name_taken.push(movie.id.clone());
            }
        }
    }
    Ok(Some(outcome))
}

fn exists(db: &Connection, sql: &str, id: &str) -> rusqlite::Result<bool> {
    db.prepare_cached(sql)?.query_row([id], |row| row.get(0))
}
