//! Upkeep of tables that would otherwise only grow: ended sessions with their refresh tokens,
//! spent reset tokens and email verification links, the limits' counters, and security events past
//! `SECURITY_EVENT_RETENTION`. Each run does a bounded amount of work (at
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

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub reset_tokens: u64,
    pub counters: u64,
    pub security_events: u64,
    pub email_tokens: u64,
}

impl Pruned {
    /// Whether some kind filled its batch: a backlog is left.
    fn full(&self) -> bool {
        [self.sessions, self.reset_tokens, self.counters, self.security_events, self.email_tokens]
            .iter()
            .any(|n| *n >= u64::from(BATCH))
    }
}

/// One run: what went. Security events older than `event_retention` go.
pub async fn run_once(store: &DynStore, event_retention: Duration) -> Pruned {
    let before = Utc::now() - SESSION_GRACE;
    let (sessions, resets) = store.prune_ended_sessions(before, BATCH).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "pruning ended sessions failed");
        (0, 0)
    });
    let counters = Limits::prune(store.as_ref(), BATCH).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "pruning the limits' counters failed");
        0
    });
    let retention = chrono::Duration::from_std(event_retention).unwrap_or(chrono::Duration::MAX);
    let events_before = Utc::now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let events = store.prune_security_events(events_before, BATCH).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "pruning old security events failed");
        0
    });
    // A day after they expired, as ended sessions go.
    let email_tokens = store.prune_email_tokens(before, BATCH).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "pruning expired email verification links failed");
        0
    });
    if sessions + resets + counters + events + email_tokens > 0 {
        tracing::info!(
            sessions,
            reset_tokens = resets,
            limit_counters = counters,
            security_events = events,
            email_tokens,
            "pruned ended rows"
        );
    }
    Pruned { sessions, reset_tokens: resets, counters, security_events: events, email_tokens }
}

/// Runs [`run_once`] now and then every [`EVERY`] (or [`CATCHING_UP`] after a full run), for as
/// long as the server runs.
pub async fn run(store: DynStore, event_retention: Duration) {
    loop {
        let pruned = run_once(&store, event_retention).await;
        tokio::time::sleep(if pruned.full() { CATCHING_UP } else { EVERY }).await;
    }
}
