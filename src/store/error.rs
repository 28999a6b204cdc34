//! What a store reports: a conflict it was built to detect, a database it cannot reach, a queue
//! at its bound, or something else. Each backend maps its driver's errors into this.

use std::sync::Arc;

/// A write refused because of what is already stored. Callers match on the kind; each maps it
/// to its own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another account has the address (compared folded).
    #[error("Another account has this email")]
    EmailTaken,
    /// Another movie has the name.
    #[error("Another movie has this name")]
    MovieNameTaken,
    /// The change would leave no admin.
    #[error("The last admin cannot lose the role")]
    LastAdmin,
    /// A synthetic movie with that number exists already (`movie-bag seed`).
    #[error("A synthetic movie with this number exists")]
    SeededMovieExists,
}

/// What a store reports. Cheap to clone, so that requests sharing one coalesced read (see
/// [`super::coalesce`]) each get the same error, kind and cause intact.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// The database cannot be reached or the pool is exhausted.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// An internal queue (named) is at its bound: the work was refused, nothing was done.
    #[error("{0} queue is full")]
    Overloaded(&'static str),
    #[error("{0:#}")]
    Other(Arc<anyhow::Error>),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub(crate) fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(Arc::from(cause.into()))
    }

    pub(crate) fn other(cause: impl Into<anyhow::Error>) -> Self {
        Self::Other(Arc::new(cause.into()))
    }
}
