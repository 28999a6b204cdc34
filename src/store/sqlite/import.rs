//! `movie-bag import` on SQLite: one transaction of its own on the writer thread, taking the
//! movies batch by batch as the file's reader hands them over.

use async_trait::async_trait;
use rusqlite::{Connection, params, params_from_iter};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;
use tokio::sync::mpsc;

use super::SqliteStore;
use super::engine::Finish;
use super::micros;
use super::movies::movie_values;
use super::users::user_exists;
use crate::domain::MovieId;
use crate::store::sql::movies::{MOVIE_COLUMNS, MOVIE_EXISTS, movie_columns};
use crate::store::statement::Sql;
use crate::store::{ImportBatch, ImportOutcome, ImportSkip, ImportSkips, ImportStore, ImportedUser, StoreResult};

/// The writer's page cache while importing (SQLite's default is 2,000 KiB).
const IMPORT_CACHE_KIB: u32 = 64 * 1024;

/// Movies per INSERT statement. Each statement on a table with triggers opens a statement
/// journal that copies every page it touches first; one statement per movie spent most of the
/// import's time copying pages.
const MOVIES_PER_STATEMENT: usize = 1000;

/// Adds up to `rows` movies, each when its id and name are free and its owner exists; returns
/// the ids added.
pub(super) fn import_movies_sql(rows: usize) -> String {
    let tuple = format!("({})", ["?"; MOVIE_COLUMNS].join(", "));
    let values = vec![tuple; rows].join(", ");
    let selected: Vec<String> = (1..=MOVIE_COLUMNS).map(|i| format!("v.column{i}")).collect();
    // The owner's column, found by name so that the list's order can change.
    let owner = movie_columns!().split(", ").position(|name| name == "added_by").expect("movies have an owner") + 1;
    format!(
        "INSERT INTO movies ({}) SELECT {} FROM (VALUES {values}) AS v
         WHERE EXISTS (SELECT 1 FROM users WHERE id = v.column{owner})
         ON CONFLICT DO NOTHING RETURNING id",
        movie_columns!(),
        selected.join(", ")
    )
}

/// The statement for full chunks, built once.
static IMPORT_MOVIES: LazyLock<String> = LazyLock::new(|| import_movies_sql(MOVIES_PER_STATEMENT));

/// A user whose id and address are free, as a regular user whose address counts as verified
/// (the tutorial's accounts are moved, not signed up anew).
static IMPORT_USER: Sql = Sql::new(
    "INSERT INTO users (id, email, email_lower, password_hash, role, created_at, email_verified)
     VALUES ($1, $2, $3, $4, 'user', $5, TRUE) ON CONFLICT DO NOTHING",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&IMPORT_USER];

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import(
        &self,
        users: Vec<ImportedUser>,
        mut movies: mpsc::Receiver<ImportBatch>,
        skipped: ImportSkips,
        dry_run: bool,
    ) -> StoreResult<ImportOutcome> {
        self.engine
            .write_alone(move |db| {
                // A larger page cache for the load: the name index takes rows in no useful order,
                // and pages evicted mid-load are written to the WAL and read back.
                db.execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))?;
                let outcome = import_all(db, &users, &mut movies, &*skipped);
                db.execute_batch("PRAGMA cache_size = -2000")?;
                Ok(match outcome? {
                    Some(outcome) if !dry_run => Finish::Commit(outcome),
                    Some(outcome) => Finish::RollBack(outcome),
                    None => Finish::RollBack(ImportOutcome::default()),
                })
            })
            .await
    }
}

/// `None` when the reader aborted.
fn import_all(
    db: &Connection,
    users: &[ImportedUser],
    movies: &mut mpsc::Receiver<ImportBatch>,
    skipped: &(dyn Fn(ImportSkip) + Send + Sync),
) -> StoreResult<Option<ImportOutcome>> {
    let mut outcome = ImportOutcome::default();
    let mut add_user = db.prepare_cached(IMPORT_USER.sqlite())?;
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
        } else if user_exists(db, &user.id)? {
            outcome.users_present += 1;
        } else {
            skipped(ImportSkip::EmailTaken(user.id.clone()));
        }
    }
    while let Some(batch) = movies.blocking_recv() {
        let ImportBatch::Movies(batch) = batch else {
            return Ok(None);
        };
        for chunk in batch.chunks(MOVIES_PER_STATEMENT) {
            let sql: Cow<'_, str> = if chunk.len() == MOVIES_PER_STATEMENT {
                Cow::Borrowed(IMPORT_MOVIES.as_str())
            } else {
                Cow::Owned(import_movies_sql(chunk.len()))
            };
            let mut values = Vec::with_capacity(chunk.len() * MOVIE_COLUMNS);
            for movie in chunk {
                values.extend(movie_values(movie)?);
            }
            let mut statement = db.prepare_cached(&sql)?;
            let added: HashSet<String> =
                statement.query_map(params_from_iter(values.iter()), |row| row.get(0))?.collect::<Result<_, _>>()?;
            outcome.movies_added += added.len() as u64;
            for movie in chunk.iter().filter(|movie| !added.contains(movie.id.as_str())) {
                if movie_exists(db, &movie.id)? {
                    outcome.movies_present += 1;
                } else if !user_exists(db, &movie.added_by)? {
                    skipped(ImportSkip::MovieWithoutOwner(movie.id.clone()));
                } else {
                    skipped(ImportSkip::MovieNameTaken(movie.id.clone()));
                }
            }
        }
    }
    Ok(Some(outcome))
}

fn movie_exists(db: &Connection, movie_id: &MovieId) -> rusqlite::Result<bool> {
    db.prepare_cached(MOVIE_EXISTS.sqlite())?.query_row([movie_id], |row| row.get(0))
}
