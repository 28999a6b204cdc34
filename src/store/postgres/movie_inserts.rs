//! Creates on PostgreSQL, inserted together (see [`super::write_batches`]).
//!
//! A duplicate name is skipped by `ON CONFLICT (name, year_key) DO NOTHING` and answered as a
//! conflict, whether another movie or an earlier one of the same batch holds it.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::{PgPool, Row};

use super::movies::{INSERT_MOVIES, MovieArrays};
use super::write_batches::BatchedWrite;
use crate::domain::Movie;
use crate::store::{Conflict, StoreResult};

/// A create waiting for its batch.
pub(super) struct MovieInsert(pub(super) Movie);

#[async_trait]
impl BatchedWrite for MovieInsert {
    type Answer = ();
    /// Two creates never write the same row: the second of one name is a conflict, answered by
    /// the statement itself.
    type Key = ();

    const QUEUE: &'static str = "movie insert";

    fn key(&self) -> Option<()> {
        None
    }

    async fn apply_all(pool: &PgPool, inserts: &[&Self]) -> StoreResult<Vec<StoreResult<()>>> {
        let rows =
            MovieArrays::of(inserts.iter().map(|insert| &insert.0))?.bound_to(&INSERT_MOVIES).fetch_all(pool).await?;
        let inserted: HashSet<String> = rows.iter().map(|row| row.try_get("id")).collect::<Result<_, _>>()?;
        Ok(inserts
            .iter()
            .map(
                |insert| {
                    if inserted.contains(insert.0.id.as_str()) { Ok(()) } else { Err(Conflict::MovieNameTaken.into()) }
                },
            )
            .collect())
    }
}
