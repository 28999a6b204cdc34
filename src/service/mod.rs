//! Business rules, written once for both databases.
//!
//! Services take raw client input, validate it into domain types, apply the rules (ownership,
//! sessions, mail) and talk to the store. Each has its own error type, saying what went wrong in
//! its own terms; `http/` maps those to statuses and the contract's messages.

pub mod auth;
pub mod housekeeping;
pub mod import;
mod import_fields;
pub mod letterboxd;
pub mod library;
pub mod library_import;
pub mod limits;
pub mod movies;
pub mod posters;
pub mod seed;
pub mod users;

use std::collections::BTreeMap;

use crate::domain::User;
use crate::domain::{Role, SessionId};
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

/// Field name -> reasons it was rejected.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

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
    pub fn finish<T>(self, values: Option<T>) -> Result<T, Invalid> {
        match values {
            Some(values) if self.errors.is_empty() => Ok(values),
            _ if !self.errors.is_empty() => Err(Invalid(self.errors)),
            // Every `None` comes with a reason; should one not, the request is still refused.
            _ => Err(Invalid::field("request", "could not be validated")),
        }
    }
}

/// Input that broke the rules: each rejected field, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub FieldErrors);

impl Invalid {
    pub fn field(name: &str, reason: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(name.to_owned(), vec![reason.into()]);
        Self(errors)
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid fields: {}", self.0.keys().cloned().collect::<Vec<_>>().join(", "))
    }
}
