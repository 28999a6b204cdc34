//! Upkeep of tables that would otherwise only grow: ended sessions with their refresh tokens,
//! spent reset tokens, and the limits' counters. Each run does a bounded amount of work (at
//! most [`BATCH`] rows of each), so it never holds the database for long; a backlog goes over
//! several runs.

use std::time::Duration;

use chrono::Utc;

use super::limits::Limits;
use crate::store::DynStore;

/// Rows of each kind deleted per run at most.
pub const BATCH: u32 = 5_000;
/// Time between runs.
const EVERY: Duration = Duration::from_secs(600);
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

/// Runs [`run_once`] now and every [`EVERY`], for as long as the server runs.
pub async fn run(store: DynStore) {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        run_once(&store).await;
    }
}
