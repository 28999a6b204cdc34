//! Email verification links on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::security_events::insert_event;
use super::users::queue_mail;
use super::{PgStore, unique_as};
use crate::domain::{TokenHash, UserId};
use crate::store::sql::{mail, users, verification};
use crate::store::{
    Conflict, EmailPurpose, EmailTokenRecord, EmailTokenStore, EmailTokenUse, NewEmailToken, StoreError, StoreResult,
};

/// Stores `token` and queues its emails and event, in the caller's transaction: for
/// [`EmailTokenStore::replace_email_token`] and a signup's insert.
pub(super) async fn store_email_token(tx: &mut PgConnection, token: &NewEmailToken) -> StoreResult<()> {
    let (user_id, now) = (&token.user_id, token.created_at);
    sqlx::query(verification::DELETE_EMAIL_TOKENS_OF.postgres())
        .bind(user_id)
        .bind(token.purpose.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(verification::INSERT_EMAIL_TOKEN.postgres())
        .bind(token.token_hash.as_str())
        .bind(user_id)
        .bind(token.purpose.as_str())
        .bind(token.address.as_str())
        .bind(token.address.normalized())
        .bind(now)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?;
    sqlx::query(mail::QUEUE_MAIL_TO.postgres())
        .bind(&token.mail.id)
        .bind(token.address.as_str())
        .bind(&token.mail.subject)
        .bind(&token.mail.body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if let Some(notice) = &token.notice {
        queue_mail(tx, user_id, notice, now).await?;
    }
    if let Some(event) = &token.event {
        insert_event(tx, event).await?;
    }
    Ok(())
}

fn purpose_of(row: &PgRow) -> StoreResult<EmailPurpose> {
    let stored: String = row.try_get("purpose")?;
    EmailPurpose::parse(&stored).ok_or_else(|| StoreError::other(anyhow::anyhow!("email token purpose {stored:?}")))
}

#[async_trait]
impl EmailTokenStore for PgStore {
    async fn replace_email_token(&self, token: &NewEmailToken) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        store_email_token(&mut tx, token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn email_token(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<EmailTokenRecord>> {
        let row = sqlx::query(verification::LIVE_EMAIL_TOKEN.postgres())
            .bind(token_hash.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok(EmailTokenRecord { user_id: row.try_get("user_id")?, purpose: purpose_of(&row)? })).transpose()
    }

    async fn consume_email_token(&self, token: &EmailTokenUse) -> StoreResult<Option<UserId>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(verification::CONSUME_EMAIL_TOKEN.postgres())
            .bind(token.at)
            .bind(token.token_hash.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: UserId = row.try_get("user_id")?;
        let address: String = row.try_get("address")?;
        let address_lower: String = row.try_get("address_lower")?;
        match purpose_of(&row)? {
            EmailPurpose::Verify => {
                let marked = sqlx::query(verification::MARK_EMAIL_VERIFIED.postgres())
                    .bind(&user_id)
                    .bind(&address_lower)
                    .execute(&mut *tx)
                    .await?;
                if marked.rows_affected() == 0 {
                    // The account's address changed since the link went out: the link is used
                    // up, and proves nothing about the address the account has now.
                    tx.commit().await?;
                    return Ok(None);
                }
            }
            EmailPurpose::Change => {
                sqlx::query(verification::CHANGE_EMAIL.postgres())
                    .bind(&address)
                    .bind(&address_lower)
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(unique_as(Conflict::EmailTaken))?;
                sqlx::query(verification::VOID_EMAIL_TOKENS_OF.postgres())
                    .bind(token.at)
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(users::VOID_RESET_TOKENS.postgres())
                    .bind(token.at)
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        insert_event(&mut tx, &token.event).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }

    async fn prune_email_tokens(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        let gone = sqlx::query(verification::PRUNE_EMAIL_TOKENS.postgres())
            .bind(before)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected())
    }
}
