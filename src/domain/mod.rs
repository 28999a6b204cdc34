//! Input types that validate once, at the edge: a value of one of these types is known good.
//!
//! Each `parse` returns the reason a value is rejected, in words fit for the `errors` map of the
//! contract's error body.

mod ids;
mod movie;
mod user;

pub use ids::{MovieId, SessionId, UserId};
pub use movie::{MovieName, TAGS_MAX, TagList};
pub use user::{Email, Password, Role, normalized as normalized_password};
