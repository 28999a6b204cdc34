//! Upkeep of tables that would otherwise only grow: ended sessions with their refresh tokens,
//! spent reset tokens, and the limits' counters. Each run does a bounded amount of work (at
//! most [`BATCH`] rows of each, each kind walked on its own index), so it never holds the
//! database for long; while runs come back full, the next follows after [`CATCHING_UP`]
//! instead of [`EVERY`], so a backlog (a flood of new addresses) shrinks as fast as it grew.

use std::time::Duration;

use chrono::Utc;

use super::limits::Limits;
use crate::store::DynStore;

/// Rows of each kind deleted per run at most.
pub const BATCH: u32 = 5_000;
/// Time between runs.
const EVERY: Duration = Duration::from_secs(600);
/// Time between runs while a backlog lasts.
const CATCHING_UP: Duration = Duration::from_secs(1);
/// Ended sessions are kept this long, so a replayed refresh token of a just-revoked session
/// is still recognised as the session's.
const SESSION_GRACE: chrono::Duration = chrono::Duration::days(1);

/// One run: what went, as (sessions, reset tokens, limit counters).
pub async fn run_once(store: &DynStore) -> (u64, u64, u64) {
    let before = Utc::now() - SESSION_GRACE;
    let (sessions, resets) = store.prune_ended_sessions(before, BATCH).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "pruning ended sessions failed");
        (0, 0)
    });
    let counters = Limits::prune(store.as_ref(), BATCH).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "pruning the limits' counters failed");
        0
    });
    if sessions + resets + counters > 0 {
        tracing::info!(sessions, reset_tokens = resets, limit_counters = counters, "pruned ended rows");
    }
    (sessions, resets, counters)
}

/// Runs [`run_once`] now and then every [`EVERY`] (or [`CATCHING_UP`] after a full run), for as
/// long as the server runs.
pub async fn run(store: DynStore) {
    loop {
        let (sessions, resets, counters) = run_once(&store).await;
        let full = sessions >= u64::from(BATCH) || resets >= u64::from(BATCH) || counters >= u64::from(BATCH);
        tokio::time::sleep(if full { CATCHING_UP } else { EVERY }).await;
    }
}
