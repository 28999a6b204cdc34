//! Whether the client of the current request is still waiting for its answer.
//!
//! Writes of a request that arrived whole run to the end even when the client leaves (see
//! `http::received`). Some work is only worth doing for a client that will read the answer: a
//! login's password hash costs tens of milliseconds of CPU and produces nothing but a session
//! the client would never learn of. Such work asks [`ClientPresence::current`] and is not started
//! once the client has gone. The presence travels as a task-local, so the services in between
//! need not carry it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

tokio::task_local! {
    static PRESENCE: ClientPresence;
}

/// Set to "gone" when the request's connection stops waiting for the answer.
#[derive(Debug, Clone, Default)]
pub struct ClientPresence {
    gone: Arc<AtomicBool>,
}

impl ClientPresence {
    /// The presence of the current request's client, when the request runs under [`Self::scope`].
    pub fn current() -> Option<Self> {
        PRESENCE.try_with(Clone::clone).ok()
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Runs `work` with this presence as the current one.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        PRESENCE.scope(self, work).await
    }

    /// A guard that marks the client gone when dropped, unless [`Departure::answered`] was called.
    pub fn departure_guard(&self) -> Departure {
        Departure { presence: Some(self.clone()) }
    }
}

/// Marks the client gone when the future waiting for the answer is dropped early.
pub struct Departure {
    presence: Option<ClientPresence>,
}

impl Departure {
    /// The answer was handed back: the client did not leave.
    pub fn answered(mut self) {
        self.presence = None;
    }
}

impl Drop for Departure {
    fn drop(&mut self) {
        if let Some(presence) = self.presence.take() {
            presence.gone.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_guard_marks_the_client_gone_and_an_answered_one_does_not() {
        let presence = ClientPresence::default();
        presence.departure_guard().answered();
        assert!(!presence.is_gone());
        drop(presence.departure_guard());
        assert!(presence.is_gone());
    }

    #[tokio::test]
    async fn the_current_presence_is_the_scoped_one() {
        assert!(ClientPresence::current().is_none());
        let presence = ClientPresence::default();
        let seen = presence.clone().scope(async { ClientPresence::current() }).await;
        drop(presence.departure_guard());
        assert!(seen.is_some_and(|seen| seen.is_gone()));
    }
}
