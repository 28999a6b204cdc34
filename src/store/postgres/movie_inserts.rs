//! Creates on PostgreSQL, inserted together.
//!
//! A create alone is a statement, a trigger run and a WAL flush of its own; under load those,
//! not the work, fill the machine (BENCHMARKS.md). So creates queue to one task, which inserts
//! everything queued in one statement and one commit, and answers each request after that
//! commit. A duplicate name is skipped by `ON CONFLICT (name) DO NOTHING` and answered as a
//! conflict; if the statement fails as a whole (say, one movie's owner was deleted meanwhile),
//! the batch is retried one movie at a time so each request gets its own answer. Every queued
//! create is inserted, even when its request has gone: the request was received whole, so its
//! write must not vanish. The queue is bounded; a create arriving at a full queue is refused
//! (503) before anything is written.

use std::collections::HashSet;

use sqlx::{PgPool, Row};
use tokio::sync::{mpsc, oneshot};

use super::movies::{INSERT_MOVIES, MovieArrays};
use crate::domain::Movie;
use crate::store::{Conflict, StoreError, StoreResult};

/// Most creates in one statement.
const MAX_BATCH: usize = 256;

struct PendingInsert {
    movie: Movie,
    reply: oneshot::Sender<StoreResult<()>>,
}

pub(super) struct MovieInserts {
    queue: mpsc::Sender<PendingInsert>,
}

impl MovieInserts {
    pub(super) fn start(pool: PgPool, bound: usize) -> Self {
        let (queue, pending) = mpsc::channel(bound.max(1));
        tokio::spawn(insert_queued(pool, pending));
        Self { queue }
    }

    /// Inserts `movie`; [`Conflict::MovieNameTaken`] when the name is taken.
    pub(super) async fn insert(&self, movie: Movie) -> StoreResult<()> {
        let closed = || StoreError::unavailable("the movie insert queue has stopped");
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(PendingInsert { movie, reply }).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StoreError::Overloaded("movie insert"),
            mpsc::error::TrySendError::Closed(_) => closed(),
        })?;
        answer.await.map_err(|_| closed())?
    }
}

async fn insert_queued(pool: PgPool, mut pending: mpsc::Receiver<PendingInsert>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = pending.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let movies: Vec<&Movie> = batch.iter().map(|insert| &insert.movie).collect();
        match insert_all(&pool, &movies).await {
            Ok(inserted) => {
                for insert in batch.drain(..) {
                    let answer = if inserted.contains(insert.movie.id.as_str()) {
                        Ok(())
                    } else {
                        Err(Conflict::MovieNameTaken.into())
                    };
                    let _ = insert.reply.send(answer);
                }
            }
            Err(_) => {
                for insert in batch.drain(..) {
                    let answer = insert_all(&pool, &[&insert.movie]).await.and_then(|inserted| {
                        if inserted.is_empty() { Err(Conflict::MovieNameTaken.into()) } else { Ok(()) }
                    });
                    let _ = insert.reply.send(answer);
                }
            }
        }
    }
}

/// Inserts the movies in one statement; returns the ids actually inserted (a movie whose name
/// is taken, by another movie or an earlier one of the same batch, is skipped).
async fn insert_all(pool: &PgPool, movies: &[&Movie]) -> StoreResult<HashSet<String>> {
    let rows = MovieArrays::of(movies.iter().copied())?.bound_to(&INSERT_MOVIES).fetch_all(pool).await?;
    Ok(rows.iter().map(|row| row.try_get("id")).collect::<Result<_, _>>()?)
}
