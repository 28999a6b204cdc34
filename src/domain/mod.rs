//! What the service is about: the entities it hands out ([`User`], [`Movie`]) and the input
//! types that validate once, at the edge, so that a value of one of them is known good.
//!
//! Each `parse` returns the reason a value is rejected, in words fit for the `errors` map of the
//! contract's error body.

mod access_token;
mod ids;
mod library;
mod movie;
mod user;

pub use access_token::{Scope, Scopes};
pub use ids::{AccessTokenId, MovieId, SessionId, TokenHash, UserId};
pub use library::{HalfStars, LibraryEntry, LibraryStatus, parse_watched_on};
pub use movie::{
    Movie, MovieName, MovieVersion, Poster, PosterSource, RUNTIMES, Rating, TAGS_MAX, TagList, YEARS, name_key,
    optional_tag_list, parse_overview, parse_runtime, parse_year,
};
pub use user::{Email, Password, Role, User, normalized as normalized_password};

use chrono::{DateTime, Utc};

/// Now, at the precision both databases keep (microseconds), so a value read back compares
/// equal to the value written.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A new time-ordered id (UUID v7) for what has no id type of its own (emails, token ids):
/// index-friendly, and not guessable like a counter.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
