//! The email outbox on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PgStore;
use crate::store::sql::mail;
use crate::store::statement::Sql;
use crate::store::{FailedDelivery, MailCounts, MailStore, QueuedMail, StoreResult};

/// `$1` now, `$2` lease end, `$3` limit. SKIP LOCKED: two replicas claiming at once take
/// different rows instead of waiting for (and then re-claiming) each other's.
static CLAIM_MAIL: Sql = Sql::new(
    "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox
                  WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                    AND (claimed_until IS NULL OR claimed_until <= $1)
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, recipient, subject, body, created_at, attempts",
);

/// `$1` id, `$2` error, `$3` retry at (`NULL`: give up), `$4` now, `$5` the claim's lease.
static MAIL_NOT_SENT: Sql = Sql::new(
    "UPDATE outbox SET claimed_until = NULL, last_error = $2,
            next_attempt_at = COALESCE($3, next_attempt_at),
            failed_at = CASE WHEN $3::timestamptz IS NULL THEN $4::timestamptz END,
            body = CASE WHEN $3::timestamptz IS NULL THEN '' ELSE body END
     WHERE id = $1 AND claimed_until = $5",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&CLAIM_MAIL, &MAIL_NOT_SENT];

#[async_trait]
impl MailStore for PgStore {
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>> {
        let rows = sqlx::query(CLAIM_MAIL.postgres())
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let attempts: i32 = row.try_get("attempts")?;
                Ok(QueuedMail {
                    id: row.try_get("id")?,
                    recipient: row.try_get("recipient")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                    created_at: row.try_get("created_at")?,
                    attempts: u32::try_from(attempts).unwrap_or_default(),
                    lease: lease_until,
                })
            })
            .collect()
    }

    async fn mail_sent(&self, mail_id: &str, lease: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
        let recorded =
            sqlx::query(mail::MAIL_SENT.postgres()).bind(mail_id).bind(now).bind(lease).execute(&self.pool).await?;
        Ok(recorded.rows_affected() > 0)
    }

    async fn mail_not_sent(&self, failure: &FailedDelivery) -> StoreResult<bool> {
        let recorded = sqlx::query(MAIL_NOT_SENT.postgres())
            .bind(&failure.mail_id)
            .bind(&failure.error)
            .bind(failure.retry_at)
            .bind(failure.at)
            .bind(failure.lease)
            .execute(&self.pool)
            .await?;
        Ok(recorded.rows_affected() > 0)
    }

    async fn mail_counts(&self) -> StoreResult<MailCounts> {
        let row = sqlx::query(mail::MAIL_COUNTS.postgres()).fetch_one(&self.pool).await?;
        let count = |name: &str| -> StoreResult<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
        Ok(MailCounts { queued: count("queued")?, sent: count("sent")?, failed: count("failed")? })
    }
}
