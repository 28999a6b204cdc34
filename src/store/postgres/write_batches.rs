//! Writes queued to one task and applied together, one statement and one commit per batch.
//!
//! A write alone is a round trip, a trigger run and a WAL flush of its own; under load those,
//! not the work, fill the machine (BENCHMARKS.md). So writes of one kind (creates, library
//! entries) queue to one task, which applies everything queued at once and answers each
//! request after that commit. If the batch fails as a whole (say, one movie's owner was
//! deleted meanwhile), it is retried one write at a time so each request gets its own answer.
//! Every queued write is applied, even when its request has gone: the request was received
//! whole, so its write must not vanish. The queue is bounded; a write arriving at a full queue
//! is refused (503) before anything is written.

use std::collections::HashSet;
use std::hash::Hash;

use async_trait::async_trait;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::{StoreError, StoreResult};

/// Most writes in one batch.
const MAX_BATCH: usize = 256;

/// A kind of write that can be applied many at a time.
#[async_trait]
pub(super) trait BatchedWrite: Send + Sync + Sized + 'static {
    type Answer: Send + 'static;
    /// Writes with the same key touch the same row: one statement may not write a row twice,
    /// so a second write of a key waits for the next batch (and sees the first one's result).
    type Key: Eq + Hash + Send;

    /// What the queue is called when it is full (in the 503's log line).
    const QUEUE: &'static str;

    fn key(&self) -> Option<Self::Key>;

    /// Applies `writes` together: one answer per write, in order; an error fails them all
    /// (and they are then applied one at a time).
    async fn apply_all(pool: &PgPool, writes: &[&Self]) -> StoreResult<Vec<StoreResult<Self::Answer>>>;
}

struct Pending<W: BatchedWrite> {
    write: W,
    reply: oneshot::Sender<StoreResult<W::Answer>>,
}

pub(super) struct WriteBatches<W: BatchedWrite> {
    queue: mpsc::Sender<Pending<W>>,
}

impl<W: BatchedWrite> WriteBatches<W> {
    /// Starts the task that applies the batches; at most `bound` writes wait for it.
    pub(super) fn start(pool: PgPool, bound: usize) -> Self {
        let (queue, pending) = mpsc::channel(bound.max(1));
        tokio::spawn(apply_queued(pool, pending));
        Self { queue }
    }

    pub(super) async fn apply(&self, write: W) -> StoreResult<W::Answer> {
        let closed = || StoreError::unavailable(format!("the {} queue has stopped", W::QUEUE));
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(Pending { write, reply }).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StoreError::Overloaded(W::QUEUE),
            mpsc::error::TrySendError::Closed(_) => closed(),
        })?;
        answer.await.map_err(|_| closed())?
    }
}

async fn apply_queued<W: BatchedWrite>(pool: PgPool, mut pending: mpsc::Receiver<Pending<W>>) {
    let mut batch: Vec<Pending<W>> = Vec::with_capacity(MAX_BATCH);
    let mut held: Option<Pending<W>> = None;
    loop {
        let first = match held.take() {
            Some(write) => write,
            None => match pending.recv().await {
                Some(write) => write,
                None => return,
            },
        };
        let mut keys = HashSet::new();
        keys.extend(first.write.key());
        batch.push(first);
        while batch.len() < MAX_BATCH {
            let Ok(next) = pending.try_recv() else { break };
            if next.write.key().is_some_and(|key| !keys.insert(key)) {
                held = Some(next);
                break;
            }
            batch.push(next);
        }
        apply_batch(&pool, &mut batch).await;
    }
}

/// Applies and answers `batch`, leaving it empty.
async fn apply_batch<W: BatchedWrite>(pool: &PgPool, batch: &mut Vec<Pending<W>>) {
    let writes: Vec<&W> = batch.iter().map(|pending| &pending.write).collect();
    match W::apply_all(pool, &writes).await {
        Ok(answers) if answers.len() == batch.len() => {
            for (pending, answer) in batch.drain(..).zip(answers) {
                let _ = pending.reply.send(answer);
            }
        }
        _ => {
            for pending in batch.drain(..) {
                let answer = match W::apply_all(pool, &[&pending.write]).await {
                    Ok(mut answers) => answers
                        .pop()
                        .unwrap_or_else(|| Err(StoreError::other(anyhow::anyhow!("a batched write got no answer")))),
                    Err(error) => Err(error),
                };
                let _ = pending.reply.send(answer);
            }
        }
    }
}
