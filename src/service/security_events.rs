//! Security events: what happened to an account (sign-ins, failed ones, sessions ended,
//! password changes, tokens, role changes), for its owner and the admins.
//!
//! An event is written in the same transaction as the change it describes where the change is
//! one store write of this work's (ending a session, creating or revoking a token: [`event`]);
//! for the writes that were there before (signup, login, logout, password and role changes, the
//! reset), the service records it right after the store answered, awaited in the request (never
//! a detached task), so an answered request has its event; a failure to record one of those is
//! logged and does not undo or fail the change it describes.
//!
//! Never a password, code or token in an event: a row holds its type, time, the client's
//! address and user agent, and nothing the client typed into a form.
//!
//! Bounded: a flood of failed logins folds into one `login_failed` row per account per hour (see
//! [`fold_key`]), so an account holds at most `24 x SECURITY_EVENT_RETENTION in days` such rows
//! however many addresses the attacker uses. Folding per address as well would keep each
//! attacker's address, but a botnet's thousands of addresses would then still add a row each.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::users::UserError;
use crate::domain::{UserId, new_id, now};
use crate::store::{
    ClientInfo, EventCursor, EventQuery, NewSecurityEvent, SecurityEventRecord, SecurityEventStore, StoreResult,
    UserStore,
};

/// Declares the event types: each variant with the name the API gives it. A new type is one line.
macro_rules! event_kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// The type of a security event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum EventKind { $($variant,)* }

        impl EventKind {
            /// Every type, in the order declared.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The type as the API and the database name it.
            pub fn name(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }
        }
    };
}

event_kinds! {
    Signup => "signup",
    Login => "login",
    LoginFailed => "login_failed",
    Logout => "logout",
    LogoutAll => "logout_all",
    SessionRevoked => "session_revoked",
    PasswordChanged => "password_changed",
    PasswordResetRequested => "password_reset_requested",
    PasswordReset => "password_reset",
    EmailVerified => "email_verified",
    EmailChangeRequested => "email_change_requested",
    EmailChanged => "email_changed",
    TokenCreated => "token_created",
    TokenRevoked => "token_revoked",
    RoleChanged => "role_changed",
    MfaEnabled => "mfa_enabled",
    MfaDisabled => "mfa_disabled",
    MfaFailed => "mfa_failed",
    RecoveryCodeUsed => "recovery_code_used",
}

/// The bucket an event's repeats share, if its type folds: failed logins and failed second
/// steps, one row per account per hour each (the hour's first address and agent, and how many
/// there were).
fn fold_key(kind: EventKind, at: DateTime<Utc>) -> Option<String> {
    const HOUR_SECONDS: i64 = 3600;
    match kind {
        EventKind::LoginFailed | EventKind::MfaFailed => {
            Some(format!("{}:{}", kind.name(), at.timestamp().div_euclid(HOUR_SECONDS)))
        }
        _ => None,
    }
}

/// The event of `kind` for the user, seen from `client`, now: for a store write that records it
/// in its own transaction.
pub fn event(user_id: &UserId, kind: EventKind, client: &ClientInfo) -> NewSecurityEvent {
    let at = now();
    NewSecurityEvent {
        id: new_id(),
        user_id: user_id.clone(),
        kind: kind.name(),
        at,
        client: client.clone(),
        fold_key: fold_key(kind, at),
    }
}

/// Records `kind` for the user, seen from `client`, for a change whose store write does not take
/// the event itself. Awaited by the caller after its change was answered by the store; a failure
/// is logged, not returned (the change stands).
pub async fn record(events: &dyn SecurityEventStore, user_id: &UserId, kind: EventKind, client: &ClientInfo) {
    let event = event(user_id, kind, client);
    if let Err(error) = events.record_event(&event).await {
        tracing::error!(%user_id, kind = kind.name(), %error, "security event not recorded");
    }
}

/// An event as `GET /api/users/me/security-events` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEvent {
    pub id: String,
    /// `signup`, `login`, `login_failed`, `logout`, `logout_all`, `session_revoked`,
    /// `password_changed`, `password_reset_requested`, `password_reset`, `email_verified`,
    /// `email_change_requested`, `email_changed`, `token_created`, `token_revoked`,
    /// `role_changed`, `mfa_enabled`, `mfa_disabled`, `mfa_failed` or `recovery_code_used`.
    #[serde(rename = "type")]
    #[schema(example = "login")]
    pub kind: String,
    /// When it happened (a folded `login_failed`: the first of its hour).
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How many events this one stands for: more than 1 for failed logins (or failed second
    /// steps) folded into their hour.
    #[schema(example = 1)]
    pub count: i64,
}

impl From<SecurityEventRecord> for SecurityEvent {
    fn from(record: SecurityEventRecord) -> Self {
        Self {
            id: record.id,
            kind: record.kind,
            at: record.at,
            ip: record.client.ip,
            user_agent: record.client.user_agent,
            count: record.occurrences,
        }
    }
}

/// A page of events, newest first, and where the next starts when the page is full.
pub async fn page(
    events: &dyn SecurityEventStore,
    query: &EventQuery,
) -> StoreResult<(Vec<SecurityEvent>, Option<EventCursor>)> {
    let records = events.security_events(query).await?;
    let next = (records.len() == query.limit as usize)
        .then(|| records.last().map(|last| EventCursor { at: last.at, id: last.id.clone() }))
        .flatten();
    Ok((records.into_iter().map(SecurityEvent::from).collect(), next))
}

/// An admin's read of another account's events: [`UserError::NotFound`] when there is no such
/// account (rather than an empty list that would not tell).
pub async fn page_of_user(
    users: &dyn UserStore,
    events: &dyn SecurityEventStore,
    query: &EventQuery,
) -> Result<(Vec<SecurityEvent>, Option<EventCursor>), UserError> {
    if users.user_by_id(&query.user_id).await?.is_none() {
        return Err(UserError::NotFound);
    }
    Ok(page(events, query).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_of_one_hour_share_a_bucket_and_other_events_never_fold() {
        let at = DateTime::from_timestamp(7_200 + 59, 0).unwrap();
        let later = DateTime::from_timestamp(7_200 + 3_599, 0).unwrap();
        let next_hour = DateTime::from_timestamp(7_200 + 3_600, 0).unwrap();
        assert_eq!(fold_key(EventKind::LoginFailed, at), fold_key(EventKind::LoginFailed, later));
        assert_ne!(fold_key(EventKind::LoginFailed, at), fold_key(EventKind::LoginFailed, next_hour));
        assert_ne!(fold_key(EventKind::MfaFailed, at), fold_key(EventKind::LoginFailed, at));
        for kind in EventKind::ALL.iter().filter(|kind| !matches!(kind, EventKind::LoginFailed | EventKind::MfaFailed))
        {
            assert_eq!(fold_key(*kind, at), None, "{kind:?}");
        }
    }

    #[test]
    fn every_type_has_its_own_snake_case_name() {
        let names: std::collections::HashSet<_> = EventKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!(names.len(), EventKind::ALL.len());
        assert!(names.iter().all(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
