//! A signed-in user's own sessions: the list (where each signed in, when it was last used) and
//! ending one of them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Actor;
use super::auth::{AuthDeps, AuthError};
use super::security_events::{self, EventKind};
use crate::domain::{SessionId, now};
use crate::metrics::AuthEvent;
use crate::store::{ClientInfo, SessionRecord};

/// A live session, as `GET /api/auth/sessions` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    #[schema(value_type = String)]
    pub id: SessionId,
    pub created_at: DateTime<Utc>,
    /// Moved at sign-in and at every refresh.
    pub last_used_at: DateTime<Utc>,
    /// The address the session signed in from.
    #[schema(example = "203.0.113.7")]
    pub ip: Option<String>,
    /// The `User-Agent` of the sign-in, at most 256 characters.
    pub user_agent: Option<String>,
    /// The session the request itself came with.
    pub current: bool,
}

impl SessionView {
    fn of(record: SessionRecord, current: Option<&SessionId>) -> Self {
        Self {
            current: current == Some(&record.id),
            id: record.id,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            ip: record.client.ip,
            user_agent: record.client.user_agent,
        }
    }
}

/// The caller's live sessions, newest first.
pub async fn list(deps: &AuthDeps<'_>, actor: &Actor) -> Result<Vec<SessionView>, AuthError> {
    let records = deps.sessions.live_sessions(&actor.user.id, now()).await?;
    Ok(records.into_iter().map(|record| SessionView::of(record, actor.session_id())).collect())
}

/// Ends one of the caller's sessions (the current one too, as logout does). Another user's
/// session, an unknown id and an ended session are all [`AuthError::NoSuchSession`]: the answer
/// does not tell whether someone else's session has that id.
pub async fn end(deps: &AuthDeps<'_>, actor: &Actor, session_id: &str, client: &ClientInfo) -> Result<(), AuthError> {
    let session_id = SessionId::parse(session_id).ok_or(AuthError::NoSuchSession)?;
    let event = security_events::event(&actor.user.id, EventKind::SessionRevoked, client);
    if !deps.sessions.revoke_own_session(&actor.user.id, &session_id, now(), &event).await? {
        return Err(AuthError::NoSuchSession);
    }
    deps.metrics.record(AuthEvent::Revocation);
    tracing::info!(user_id = %actor.user.id, %session_id, "session ended by its owner");
    Ok(())
}
