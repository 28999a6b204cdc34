//! What the service hands out: users and movies as clients see them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{MovieId, Role, UserId};

/// A user account, without its password hash (which never leaves the store layer's
/// [`crate::store::Credentials`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = String, example = "0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e")]
    pub id: UserId,
    #[schema(example = "ann@example.com")]
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A movie of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Movie {
    #[schema(value_type = String, example = "0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e")]
    pub id: MovieId,
    #[schema(example = "Heat")]
    pub name: String,
    #[schema(example = json!(["Al Pacino", "Robert De Niro"]))]
    pub casts: Vec<String>,
    #[schema(example = json!(["Crime", "Drama"]))]
    pub genres: Vec<String>,
    /// Id of the user who added it.
    #[schema(value_type = String)]
    pub added_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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
