//! SQL both backends run as written, one module per aggregate, with `$N` parameters (see
//! [`Sql`](super::statement::Sql)). A statement whose text differs between the dialects sits
//! beside the method that runs it, in the backend's own file for the aggregate.

pub mod access_tokens;
pub mod counts;
pub mod library;
pub mod limits;
pub mod mail;
pub mod mfa;
pub mod movies;
pub mod posters;
pub mod security_events;
pub mod sessions;
pub mod users;
pub mod verification;

#[cfg(test)]
use super::statement::Sql;

/// Every shared statement, for the test that prepares each one on both backends.
#[cfg(test)]
pub fn all() -> impl Iterator<Item = &'static Sql> {
    [
        access_tokens::ALL,
        counts::ALL,
        library::ALL,
        limits::ALL,
        mail::ALL,
        mfa::ALL,
        movies::ALL,
        posters::ALL,
        security_events::ALL,
        sessions::ALL,
        users::ALL,
        verification::ALL,
    ]
    .into_iter()
    .flatten()
    .copied()
}
