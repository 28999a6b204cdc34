//! Business rules, written once for both databases.
//!
//! Services take raw client input, validate it into domain types, apply the rules (ownership,
//! sessions, mail) and talk to the store. They answer with [`ApiError`](crate::error::ApiError)
//! directly: every rule here has exactly one HTTP meaning, and a second error type would only
//! restate it.

pub mod auth;
pub mod movies;
pub mod seed;
pub mod users;

use crate::domain::{Role, SessionId};
use crate::error::{ApiError, FieldErrors};
use crate::model::User;
use crate::store::SessionOwner;

/// Who is making an authenticated request: a live session of an existing user.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub session_id: SessionId,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

impl From<SessionOwner> for Actor {
    fn from(owner: SessionOwner) -> Self {
        Self { user: owner.user, session_id: owner.session_id }
    }
}

/// Collects field errors while validating several inputs, so a client sees all problems at once.
#[derive(Default)]
pub(crate) struct Validator {
    errors: FieldErrors,
}

impl Validator {
    /// Keeps the parsed value, or records why `field` was rejected.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(reason) => {
                self.errors.entry(field.to_owned()).or_default().push(reason);
                None
            }
        }
    }

    /// The validated values (zip several `check` results together), or every recorded reason.
    pub fn finish<T>(self, values: Option<T>) -> Result<T, ApiError> {
        match values {
            Some(values) if self.errors.is_empty() => Ok(values),
            _ if !self.errors.is_empty() => {
                Err(ApiError::Validation { message: "Request has invalid fields".to_owned(), errors: self.errors })
            }
            _ => Err(ApiError::internal(anyhow::anyhow!("validator lost a value without a reason"))),
        }
    }
}
