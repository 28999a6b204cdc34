//! Sessions, refresh tokens and reset tokens on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::security_events::insert_event;
use super::users::{queue_mail, replace_password};
use super::{SqliteStore, micros, time_of, user_from_row};
use crate::domain::TokenHash;
use crate::domain::User;
use crate::domain::{SessionId, UserId};
use crate::store::sql::{access_tokens, limits, sessions};
use crate::store::statement::Sql;
use crate::store::{
    ClientInfo, NewResetToken, NewSecurityEvent, NewSession, PasswordReset, RefreshTokenRecord, Rotation, SessionOwner,
    SessionRecord, SessionStore, StoreResult, UnrevokedSession,
};

/// Only while the password hash is still the one the login verified. One writer: a password
/// change commits wholly before or after this statement.
pub(super) static CREATE_SESSION: Sql = Sql::new(
    "INSERT INTO sessions (id, user_id, created_at, expires_at, ip, user_agent, last_used_at)
     SELECT $1, id, $3, $4, $6, $7, $3 FROM users WHERE id = $2 AND password_hash = $5",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&CREATE_SESSION];

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &NewSession) -> StoreResult<bool> {
        let session = session.clone();
        self.engine
            .write(move |db| {
                let created_at = micros(session.created_at);
                let created = db.prepare_cached(CREATE_SESSION.sqlite())?.execute(params![
                    session.id,
                    session.user_id,
                    created_at,
                    micros(session.expires_at),
                    session.verified_hash,
                    session.client.ip,
                    session.client.user_agent
                ])?;
                if created == 0 {
                    return Ok(false);
                }
                db.prepare_cached(sessions::INSERT_REFRESH_TOKEN.sqlite())?.execute(params![
                    session.refresh_token_hash.as_str(),
                    session.id,
                    created_at
                ])?;
                if let Some(succeeded) = &session.check_succeeded {
                    db.prepare_cached(limits::CHECK_SUCCEEDED.sqlite())?
                        .execute(params![succeeded.key, succeeded.known_clients])?;
                }
                Ok(true)
            })
            .await
    }

    async fn unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>> {
        let session_id = session_id.to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(sessions::UNREVOKED_SESSION.sqlite())?
                    .query_row([&session_id], |row| {
                        Ok(UnrevokedSession {
                            owner: SessionOwner { user: user_from_row(row)?, session_id: row.get("session_id")? },
                            expires_at: time_of(row, "expires_at")?,
                        })
                    })
                    .optional()
            })
            .await
    }

    async fn refresh_token(&self, presented: &TokenHash) -> StoreResult<Option<RefreshTokenRecord>> {
        let presented = presented.clone();
        self.engine
            .read(move |db| {
                db.prepare_cached(sessions::REFRESH_TOKEN.sqlite())?
                    .query_row([presented.as_str()], |row| {
                        Ok(RefreshTokenRecord {
                            session_id: row.get("session_id")?,
                            user_id: row.get("user_id")?,
                            rotated: row.get("rotated")?,
                            session_revoked: row.get("session_revoked")?,
                            session_expires_at: time_of(row, "expires_at")?,
                        })
                    })
                    .optional()
            })
            .await
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> StoreResult<bool> {
        let rotation = rotation.clone();
        self.engine
            .write(move |db| {
                let at = micros(rotation.at);
                let rotated = db
                    .prepare_cached(sessions::MARK_ROTATED.sqlite())?
                    .execute(params![at, rotation.presented.as_str()])?;
                if rotated == 0 {
                    return Ok(false);
                }
                db.prepare_cached(sessions::INSERT_REPLACEMENT.sqlite())?.execute(params![
                    rotation.replacement.as_str(),
                    at,
                    rotation.presented.as_str()
                ])?;
                db.prepare_cached(sessions::TOUCH_SESSION.sqlite())?
                    .execute(params![at, rotation.presented.as_str()])?;
                Ok(true)
            })
            .await
    }

    async fn revoke_session(&self, session_id: &SessionId, now: DateTime<Utc>) -> StoreResult<()> {
        let session_id = session_id.to_owned();
        self.engine
            .write(move |db| {
                db.prepare_cached(sessions::REVOKE_SESSION.sqlite())?.execute(params![micros(now), session_id])?;
                Ok(())
            })
            .await
    }

    async fn live_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
        let user_id = user_id.to_owned();
        self.engine
            .read(move |db| {
                let mut statement = db.prepare_cached(sessions::LIVE_SESSIONS_OF.sqlite())?;
                let rows = statement.query_map(params![user_id, micros(now)], |row| {
                    Ok(SessionRecord {
                        id: row.get("id")?,
                        created_at: time_of(row, "created_at")?,
                        last_used_at: time_of(row, "last_used_at")?,
                        client: ClientInfo { ip: row.get("ip")?, user_agent: row.get("user_agent")? },
                    })
                })?;
                rows.collect()
            })
            .await
    }

    async fn revoke_own_session(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        now: DateTime<Utc>,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool> {
        let (user_id, session_id, event) = (user_id.to_owned(), session_id.to_owned(), event.clone());
        self.engine
            .write(move |db| {
                let revoked = db.prepare_cached(sessions::REVOKE_OWN_SESSION.sqlite())?.execute(params![
                    micros(now),
                    session_id,
                    user_id
                ])?;
                if revoked == 1 {
                    insert_event(db, &event)?;
                }
                Ok(revoked == 1)
            })
            .await
    }

    async fn revoke_user_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.engine
            .write(move |db| {
                db.prepare_cached(sessions::REVOKE_SESSIONS_OF.sqlite())?.execute(params![micros(now), user_id])?;
                Ok(())
            })
            .await
    }

    async fn prune_ended_sessions(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<(u64, u64)> {
        let before = micros(before);
        self.engine
            .write(move |db| {
                let sessions_gone =
                    db.prepare_cached(sessions::PRUNE_SESSIONS.sqlite())?.execute(params![before, batch])?;
                let resets_gone =
                    db.prepare_cached(sessions::PRUNE_RESET_TOKENS.sqlite())?.execute(params![before, batch])?;
                Ok((sessions_gone as u64, resets_gone as u64))
            })
            .await
    }

    async fn replace_reset_token(&self, token: &NewResetToken) -> StoreResult<()> {
        let token = token.clone();
        self.engine
            .write(move |db| {
                let (user_id, now) = (&token.user_id, micros(token.created_at));
                db.prepare_cached(sessions::DELETE_RESET_TOKENS_OF.sqlite())?.execute([user_id])?;
                queue_mail(db, user_id, &token.mail, now)?;
                db.prepare_cached(sessions::INSERT_RESET_TOKEN.sqlite())?.execute(params![
                    token.token_hash.as_str(),
                    user_id,
                    now,
                    micros(token.expires_at)
                ])?;
                Ok(())
            })
            .await
    }

    async fn reset_token_owner(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let (token_hash, now) = (token_hash.as_str().to_owned(), micros(now));
        self.engine
            .read(move |db| {
                db.prepare_cached(sessions::RESET_TOKEN_OWNER.sqlite())?
                    .query_row(params![token_hash, now], user_from_row)
                    .optional()
            })
            .await
    }

    async fn consume_reset_token(&self, reset: &PasswordReset) -> StoreResult<Option<UserId>> {
        let reset = reset.clone();
        self.engine
            .write(move |db| {
                let now = micros(reset.at);
                let user_id: Option<UserId> = db
                    .prepare_cached(sessions::CONSUME_RESET_TOKEN.sqlite())?
                    .query_row(params![now, reset.token_hash.as_str()], |row| row.get(0))
                    .optional()?;
                let Some(user_id) = user_id else { return Ok(None) };
                replace_password(db, &user_id, &reset.password_hash, now)?;
                // A reset is the way back into a taken-over account: no token of it survives.
                db.prepare_cached(access_tokens::DELETE_TOKENS_OF.sqlite())?.execute([&user_id])?;
                queue_mail(db, &user_id, &reset.confirmation, now)?;
                Ok(Some(user_id))
            })
            .await
    }
}
