//! Personal access tokens on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::security_events::insert_event;
use super::{PgStore, user_from_row};
use crate::domain::{AccessTokenId, Scopes, TokenHash, UserId};
use crate::store::sql::access_tokens;
use crate::store::statement::Sql;
use crate::store::{AccessTokenRecord, AccessTokenStore, NewAccessToken, NewSecurityEvent, StoreResult, TokenOwner};

/// Serializes one user's token inserts, so two at once cannot both pass the cap's count.
static LOCK_USER: Sql = Sql::new("SELECT id FROM users WHERE id = $1 FOR UPDATE");

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&LOCK_USER];

#[async_trait]
impl AccessTokenStore for PgStore {
    async fn insert_access_token(&self, token: &NewAccessToken, event: &NewSecurityEvent) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(LOCK_USER.postgres()).bind(&token.user_id).fetch_optional(&mut *tx).await?;
        let held: i64 = sqlx::query_scalar(access_tokens::COUNT_TOKENS_OF.postgres())
            .bind(&token.user_id)
            .fetch_one(&mut *tx)
            .await?;
        if held >= i64::from(token.cap) {
            return Ok(false);
        }
        sqlx::query(access_tokens::INSERT_TOKEN.postgres())
            .bind(&token.id)
            .bind(&token.user_id)
            .bind(&token.name)
            .bind(token.token_hash.as_str())
            .bind(token.scopes.to_stored())
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(&mut *tx)
            .await?;
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn access_token(&self, token_hash: &TokenHash) -> StoreResult<Option<TokenOwner>> {
        let row = sqlx::query(access_tokens::TOKEN_BY_HASH.postgres())
            .bind(token_hash.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(TokenOwner {
                token_id: row.try_get("token_id")?,
                scopes: Scopes::from_stored(&row.try_get::<String, _>("scopes")?),
                expires_at: row.try_get("expires_at")?,
                last_used_at: row.try_get("last_used_at")?,
                user: user_from_row(&row)?,
            })
        })
        .transpose()
    }

    async fn touch_access_token(
        &self,
        token_id: &AccessTokenId,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(access_tokens::TOUCH_TOKEN.postgres())
            .bind(now)
            .bind(token_id)
            .bind(stale_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn access_tokens_of(&self, user_id: &UserId) -> StoreResult<Vec<AccessTokenRecord>> {
        let rows = sqlx::query(access_tokens::TOKENS_OF.postgres()).bind(user_id).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AccessTokenRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    scopes: Scopes::from_stored(&row.try_get::<String, _>("scopes")?),
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    async fn delete_access_token(
        &self,
        user_id: &UserId,
        token_id: &AccessTokenId,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query(access_tokens::DELETE_TOKEN_OF.postgres())
            .bind(token_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }
}
