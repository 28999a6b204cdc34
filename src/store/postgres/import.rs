//! `movie-bag import` on PostgreSQL: one transaction; users in one statement, movies one
//! statement per batch (the same `unnest` insert as batched creates), as the reader hands them
//! over.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::{PgConnection, Row};
use tokio::sync::mpsc;

use super::PgStore;
use super::movies::{IMPORT_MOVIES, MovieArrays};
use crate::domain::Movie;
use crate::domain::UserId;
use crate::store::statement::Sql;
use crate::store::{ImportBatch, ImportOutcome, ImportSkip, ImportSkips, ImportStore, ImportedUser, StoreResult};

/// Every user whose id and address are free, as a regular user whose address counts as verified
/// (the tutorial's accounts are moved, not signed up anew).
static IMPORT_USERS: Sql = Sql::new(
    "INSERT INTO users (id, email, email_lower, password_hash, role, created_at, email_verified)
     SELECT t.id, t.email, t.email_lower, t.password_hash, 'user', t.created_at, TRUE
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
          AS t(id, email, email_lower, password_hash, created_at)
     ON CONFLICT DO NOTHING
     RETURNING id",
);

static USERS_AMONG: Sql = Sql::new("SELECT id FROM users WHERE id = ANY($1)");

static MOVIES_AMONG: Sql = Sql::new("SELECT id FROM movies WHERE id = ANY($1)");

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&IMPORT_USERS, &USERS_AMONG, &MOVIES_AMONG];

#[async_trait]
impl ImportStore for PgStore {
    async fn import(
        &self,
        users: Vec<ImportedUser>,
        mut movies: mpsc::Receiver<ImportBatch>,
        skipped: ImportSkips,
        dry_run: bool,
    ) -> StoreResult<ImportOutcome> {
        let mut tx = self.pool.begin().await?;
        let mut outcome = ImportOutcome::default();
        add_users(&mut tx, &users, &mut outcome, &*skipped).await?;
        while let Some(batch) = movies.recv().await {
            let ImportBatch::Movies(batch) = batch else {
                tx.rollback().await?;
                return Ok(ImportOutcome::default());
            };
            add_movies(&mut tx, &batch, &mut outcome, &*skipped).await?;
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(outcome)
    }
}

async fn add_users(
    db: &mut PgConnection,
    users: &[ImportedUser],
    outcome: &mut ImportOutcome,
    skipped: &(dyn Fn(ImportSkip) + Send + Sync),
) -> StoreResult<()> {
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let added: Vec<String> = sqlx::query_scalar(IMPORT_USERS.postgres())
        .bind(&ids)
        .bind(users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.email.normalized()).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.password_hash.as_str()).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.created_at).collect::<Vec<_>>())
        .fetch_all(&mut *db)
        .await?;
    outcome.users_added = added.len() as u64;
    let added: HashSet<String> = added.into_iter().collect();
    let missed: Vec<&str> = ids.iter().copied().filter(|id| !added.contains(*id)).collect();
    let present = existing(db, &USERS_AMONG, &missed).await?;
    for id in missed {
        if present.contains(id) {
            outcome.users_present += 1;
        } else {
            skipped(ImportSkip::EmailTaken(UserId::from_stored(id.to_owned())));
        }
    }
    Ok(())
}

async fn add_movies(
    db: &mut PgConnection,
    movies: &[Movie],
    outcome: &mut ImportOutcome,
    skipped: &(dyn Fn(ImportSkip) + Send + Sync),
) -> StoreResult<()> {
    let rows = MovieArrays::of(movies.iter())?.bound_to(&IMPORT_MOVIES).fetch_all(&mut *db).await?;
    let added: HashSet<String> = rows.iter().map(|row| row.try_get("id")).collect::<Result<_, _>>()?;
    outcome.movies_added += added.len() as u64;
    let missed: Vec<&Movie> = movies.iter().filter(|m| !added.contains(m.id.as_str())).collect();
    if missed.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = missed.iter().map(|m| m.id.as_str()).collect();
    let present = existing(db, &MOVIES_AMONG, &ids).await?;
    let owners: Vec<&str> = missed.iter().map(|m| m.added_by.as_str()).collect();
    let owners_present = existing(db, &USERS_AMONG, &owners).await?;
    for movie in missed {
        if present.contains(movie.id.as_str()) {
            outcome.movies_present += 1;
        } else if !owners_present.contains(movie.added_by.as_str()) {
            skipped(ImportSkip::MovieWithoutOwner(movie.id.clone()));
        } else {
            skipped(ImportSkip::MovieNameTaken(movie.id.clone()));
        }
    }
    Ok(())
}

/// Which of `ids` the query (`... WHERE id = ANY($1)`) finds.
async fn existing(db: &mut PgConnection, sql: &'static Sql, ids: &[&str]) -> StoreResult<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<String> = sqlx::query_scalar(sql.postgres()).bind(ids).fetch_all(db).await?;
    Ok(found.into_iter().collect())
}
