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

/// Tells whether the client has closed its side of the request's connection. hyper reads no
/// further while a request is in flight, so the connection is asked directly: a non-blocking
/// peek that finds the end of the stream (or a reset) means the client is gone. A client that
/// closes after sending its request is not waiting for the answer (one that only half-closes
/// while still reading is rare, and such a login gets a 503 it may retry). The peek goes to a
/// duplicate of the socket's descriptor, so it can never reach another connection's socket.
#[derive(Debug, Clone, Default)]
pub struct PeerClosed(Option<Arc<std::net::TcpStream>>);

impl PeerClosed {
    #[cfg(unix)]
    pub fn watching(stream: &tokio::net::TcpStream) -> Self {
        use std::os::fd::AsFd as _;
        let duplicate = stream.as_fd().try_clone_to_owned().ok().map(std::net::TcpStream::from);
        Self(duplicate.map(Arc::new))
    }

    /// Elsewhere the client is never taken for gone before its connection is.
    #[cfg(not(unix))]
    pub fn watching(_stream: &tokio::net::TcpStream) -> Self {
        Self(None)
    }

    fn has_closed(&self) -> bool {
        let Some(socket) = &self.0 else { return false };
        // The socket is non-blocking (tokio set it so): no data yet is WouldBlock.
        match socket.peek(&mut [0u8; 1]) {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
        }
    }
}

/// Set to "gone" when the request's connection stops waiting for the answer.
#[derive(Debug, Clone, Default)]
pub struct ClientPresence {
    gone: Arc<AtomicBool>,
    peer_closed: PeerClosed,
}

impl ClientPresence {
    /// The presence of a request on a connection that records its client closing.
    pub fn on_connection(peer_closed: PeerClosed) -> Self {
        Self { gone: Arc::default(), peer_closed }
    }

    /// The presence of the current request's client, when the request runs under [`Self::scope`].
    pub fn current() -> Option<Self> {
        PRESENCE.try_with(Clone::clone).ok()
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire) || self.peer_closed.has_closed()
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
