//! Personal access tokens on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::security_events::insert_event;
use super::{SqliteStore, micros, time_of, user_from_row};
use crate::domain::{AccessTokenId, Scopes, TokenHash, UserId};
use crate::store::sql::access_tokens;
use crate::store::{AccessTokenRecord, AccessTokenStore, NewAccessToken, NewSecurityEvent, StoreResult, TokenOwner};

/// A time column that may be NULL.
fn optional_time(row: &Row<'_>, column: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let micros: Option<i64> = row.get(column)?;
    micros.map(|_| time_of(row, column)).transpose()
}

fn scopes(row: &Row<'_>) -> rusqlite::Result<Scopes> {
    Ok(Scopes::from_stored(&row.get::<_, String>("scopes")?))
}

#[async_trait]
impl AccessTokenStore for SqliteStore {
    async fn insert_access_token(&self, token: &NewAccessToken, event: &NewSecurityEvent) -> StoreResult<bool> {
        let (token, event) = (token.clone(), event.clone());
        // One writer: the count and the insert cannot interleave with another insert.
        self.engine
            .write(move |db| {
                let held: i64 = db
                    .prepare_cached(access_tokens::COUNT_TOKENS_OF.sqlite())?
                    .query_row([&token.user_id], |row| row.get(0))?;
                if held >= i64::from(token.cap) {
                    return Ok(false);
                }
                db.prepare_cached(access_tokens::INSERT_TOKEN.sqlite())?.execute(params![
                    token.id,
                    token.user_id,
                    token.name,
                    token.token_hash.as_str(),
                    token.scopes.to_stored(),
                    micros(token.created_at),
                    token.expires_at.map(micros)
                ])?;
                insert_event(db, &event)?;
                Ok(true)
            })
            .await
    }

    async fn access_token(&self, token_hash: &TokenHash) -> StoreResult<Option<TokenOwner>> {
        let token_hash = token_hash.as_str().to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(access_tokens::TOKEN_BY_HASH.sqlite())?
                    .query_row([&token_hash], |row| {
                        Ok(TokenOwner {
                            token_id: row.get("token_id")?,
                            scopes: scopes(row)?,
                            expires_at: optional_time(row, "expires_at")?,
                            last_used_at: optional_time(row, "last_used_at")?,
                            user: user_from_row(row)?,
                        })
                    })
                    .optional()
            })
            .await
    }

    async fn touch_access_token(
        &self,
        token_id: &AccessTokenId,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token_id = token_id.to_owned();
        self.engine
            .write(move |db| {
                db.prepare_cached(access_tokens::TOUCH_TOKEN.sqlite())?.execute(params![
                    micros(now),
                    token_id,
                    micros(stale_before)
                ])?;
                Ok(())
            })
            .await
    }

    async fn access_tokens_of(&self, user_id: &UserId) -> StoreResult<Vec<AccessTokenRecord>> {
        let user_id = user_id.to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(access_tokens::TOKENS_OF.sqlite())?
                    .query_map([&user_id], |row| {
                        Ok(AccessTokenRecord {
                            id: row.get("id")?,
                            name: row.get("name")?,
                            scopes: scopes(row)?,
                            created_at: time_of(row, "created_at")?,
                            expires_at: optional_time(row, "expires_at")?,
                            last_used_at: optional_time(row, "last_used_at")?,
                        })
                    })?
                    .collect()
            })
            .await
    }

    async fn delete_access_token(
        &self,
        user_id: &UserId,
        token_id: &AccessTokenId,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool> {
        let (user_id, token_id, event) = (user_id.to_owned(), token_id.to_owned(), event.clone());
        self.engine
            .write(move |db| {
                let gone =
                    db.prepare_cached(access_tokens::DELETE_TOKEN_OF.sqlite())?.execute(params![token_id, user_id])?;
                if gone == 1 {
                    insert_event(db, &event)?;
                }
                Ok(gone == 1)
            })
            .await
    }
}
