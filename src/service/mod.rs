//! Business rules, written once for both databases.
//!
//! Services take raw client input, validate it into domain types, apply the rules (ownership,
//! sessions, mail) and talk to the store. Each has its own error type, saying what went wrong in
//! its own terms; `http/` maps those to statuses and the contract's messages.

pub mod access_tokens;
pub mod auth;
pub mod housekeeping;
pub mod import;
mod import_fields;
pub mod letterboxd;
pub mod library;
pub mod library_import;
pub mod limits;
pub mod mfa;
pub mod movies;
pub mod posters;
pub mod security_events;
pub mod seed;
pub mod sessions;
pub mod users;
pub mod verification;

use std::collections::BTreeMap;

use crate::domain::User;
use crate::domain::{AccessTokenId, Role, Scope, Scopes, SessionId};
use crate::store::SessionOwner;

/// Who is making an authenticated request: an existing user, and how they proved it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub credential: Credential,
}

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token (JWT) of a live session: the user in full.
    Session(SessionId),
    /// A personal access token: reads, and the writes its scopes name (see [`Actor::may`]).
    AccessToken { id: AccessTokenId, scopes: Scopes },
}

/// What a request asks to do, as far as a credential's reach goes (`http/extract.rs` tells it
/// from the route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Any read of what the user may read.
    Read,
    /// A write that the scope, when there is one, covers; `None`: a write no scope covers.
    Write(Option<Scope>),
    /// Managing the account itself: password, sessions, tokens, logout, deletion.
    Account,
    /// An admin endpoint.
    Admin,
}

impl Actor {
    /// Admin powers come with a session only: an admin's access token has none.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin && matches!(self.credential, Credential::Session(_))
    }

    /// The session the request came with; `None` for an access token.
    pub fn session_id(&self) -> Option<&SessionId> {
        match &self.credential {
            Credential::Session(id) => Some(id),
            Credential::AccessToken { .. } => None,
        }
    }

    /// The one rule of what a credential may ask for. A session may ask for anything (whether
    /// the user is an admin is checked where admin powers are used); an access token reads,
    /// writes what its scopes cover, and never manages the account nor administers.
    pub fn may(&self, intent: Intent) -> bool {
        match (&self.credential, intent) {
            (Credential::Session(_), _) => true,
            (Credential::AccessToken { .. }, Intent::Read) => true,
            (Credential::AccessToken { scopes, .. }, Intent::Write(Some(scope))) => scopes.contains(scope),
            (Credential::AccessToken { .. }, Intent::Write(None) | Intent::Account | Intent::Admin) => false,
        }
    }
}

impl From<SessionOwner> for Actor {
    fn from(owner: SessionOwner) -> Self {
        Self { user: owner.user, credential: Credential::Session(owner.session_id) }
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
