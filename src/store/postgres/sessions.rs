//! Sessions, refresh tokens and reset tokens on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::security_events::insert_event;
use super::users::{queue_mail, replace_password};
use super::{PgStore, user_from_row};
use crate::domain::TokenHash;
use crate::domain::User;
use crate::domain::{SessionId, UserId};
use crate::store::sql::{access_tokens, limits, sessions};
use crate::store::statement::Sql;
use crate::store::{
    ClientInfo, NewResetToken, NewSecurityEvent, NewSession, PasswordReset, RefreshTokenRecord, Rotation, SessionOwner,
    SessionRecord, SessionStore, StoreResult, UnrevokedSession,
};

/// Only while the password hash is still the one the login verified. `FOR SHARE`: a password
/// change holding the user's row makes this wait and then re-check the hash on the changed row
/// (no session); a change arriving after it waits for this commit, and its revocation then sees
/// this session.
static CREATE_SESSION: Sql = Sql::new(
    "INSERT INTO sessions (id, user_id, created_at, expires_at, ip, user_agent, last_used_at)
     SELECT $1, id, $3, $4, $6, $7, $3 FROM users WHERE id = $2 AND password_hash = $5 FOR SHARE",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&CREATE_SESSION];

impl PgStore {
    /// The session's owner and expiry, unless it was revoked.
    async fn fetch_unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>> {
        let row =
            sqlx::query(sessions::UNREVOKED_SESSION.postgres()).bind(session_id).fetch_optional(&self.pool).await?;
        row.map(|row| {
            let owner = SessionOwner { session_id: row.try_get("session_id")?, user: user_from_row(&row)? };
            Ok(UnrevokedSession { owner, expires_at: row.try_get("expires_at")? })
        })
        .transpose()
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: &NewSession) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(CREATE_SESSION.postgres())
            .bind(&session.id)
            .bind(&session.user_id)
            .bind(session.created_at)
            .bind(session.expires_at)
            .bind(&session.verified_hash)
            .bind(&session.client.ip)
            .bind(&session.client.user_agent)
            .execute(&mut *tx)
            .await?;
        if created.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(sessions::INSERT_REFRESH_TOKEN.postgres())
            .bind(session.refresh_token_hash.as_str())
            .bind(&session.id)
            .bind(session.created_at)
            .execute(&mut *tx)
            .await?;
        if let Some(succeeded) = &session.check_succeeded {
            sqlx::query(limits::CHECK_SUCCEEDED.postgres())
                .bind(&succeeded.key)
                .bind(&succeeded.known_clients)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>> {
        let key = session_id.to_owned();
        self.session_runs.run(&key, || self.fetch_unrevoked_session(session_id)).await
    }

    async fn refresh_token(&self, presented: &TokenHash) -> StoreResult<Option<RefreshTokenRecord>> {
        let row =
            sqlx::query(sessions::REFRESH_TOKEN.postgres()).bind(presented.as_str()).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(RefreshTokenRecord {
                session_id: row.try_get("session_id")?,
                user_id: row.try_get("user_id")?,
                rotated: row.try_get("rotated")?,
                session_revoked: row.try_get("session_revoked")?,
                session_expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let rotated = sqlx::query(sessions::MARK_ROTATED.postgres())
            .bind(rotation.at)
            .bind(rotation.presented.as_str())
            .execute(&mut *tx)
            .await?;
        if rotated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(sessions::INSERT_REPLACEMENT.postgres())
            .bind(rotation.replacement.as_str())
            .bind(rotation.at)
            .bind(rotation.presented.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(sessions::TOUCH_SESSION.postgres())
            .bind(rotation.at)
            .bind(rotation.presented.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_session(&self, session_id: &SessionId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(sessions::REVOKE_SESSION.postgres()).bind(now).bind(session_id).execute(&self.pool).await?;
        Ok(())
    }

    async fn live_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
        let rows =
            sqlx::query(sessions::LIVE_SESSIONS_OF.postgres()).bind(user_id).bind(now).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(SessionRecord {
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    client: ClientInfo { ip: row.try_get("ip")?, user_agent: row.try_get("user_agent")? },
                })
            })
            .collect()
    }

    async fn revoke_own_session(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        now: DateTime<Utc>,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(sessions::REVOKE_OWN_SESSION.postgres())
            .bind(now)
            .bind(session_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if revoked.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_user_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(sessions::REVOKE_SESSIONS_OF.postgres()).bind(now).bind(user_id).execute(&self.pool).await?;
        Ok(())
    }

    async fn prune_ended_sessions(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<(u64, u64)> {
        let sessions_gone = sqlx::query(sessions::PRUNE_SESSIONS.postgres())
            .bind(before)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        let resets_gone = sqlx::query(sessions::PRUNE_RESET_TOKENS.postgres())
            .bind(before)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok((sessions_gone.rows_affected(), resets_gone.rows_affected()))
    }

    async fn replace_reset_token(&self, token: &NewResetToken) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sessions::DELETE_RESET_TOKENS_OF.postgres()).bind(&token.user_id).execute(&mut *tx).await?;
        queue_mail(&mut tx, &token.user_id, &token.mail, token.created_at).await?;
        sqlx::query(sessions::INSERT_RESET_TOKEN.postgres())
            .bind(token.token_hash.as_str())
            .bind(&token.user_id)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reset_token_owner(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let row = sqlx::query(sessions::RESET_TOKEN_OWNER.postgres())
            .bind(token_hash.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn consume_reset_token(&self, reset: &PasswordReset) -> StoreResult<Option<UserId>> {
        let mut tx = self.pool.begin().await?;
        let user_id: Option<UserId> = sqlx::query_scalar(sessions::CONSUME_RESET_TOKEN.postgres())
            .bind(reset.at)
            .bind(reset.token_hash.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user_id) = user_id else { return Ok(None) };
        replace_password(&mut tx, &user_id, &reset.password_hash, reset.at).await?;
        // A reset is the way back into a taken-over account: no token of it survives.
        sqlx::query(access_tokens::DELETE_TOKENS_OF.postgres()).bind(&user_id).execute(&mut *tx).await?;
        queue_mail(&mut tx, &user_id, &reset.confirmation, reset.at).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}
