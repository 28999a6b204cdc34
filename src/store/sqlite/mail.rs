//! The email outbox on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{SqliteStore, micros, time_of};
use crate::store::sql::mail;
use crate::store::statement::Sql;
use crate::store::{FailedDelivery, MailCounts, MailStore, QueuedMail, StoreResult};

/// `$1` now: whether anything is due, answered by a read without the write lock.
static ANYTHING_DUE: Sql = Sql::new(
    "SELECT EXISTS (SELECT 1 FROM outbox
                    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                      AND (claimed_until IS NULL OR claimed_until <= $1))",
);

/// `$1` now, `$2` lease end, `$3` limit. The writer holds the write lock across the statement:
/// two processes on one file claim in turn, and the second finds the rows leased.
static CLAIM_MAIL: Sql = Sql::new(
    "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox
                  WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                    AND (claimed_until IS NULL OR claimed_until <= $1)
                  ORDER BY next_attempt_at LIMIT $3)
     RETURNING id, recipient, subject, body, created_at, attempts",
);

/// `$1` id, `$2` error, `$3` retry at (`NULL`: give up), `$4` now, `$5` the claim's lease.
static MAIL_NOT_SENT: Sql = Sql::new(
    "UPDATE outbox SET claimed_until = NULL, last_error = $2,
        next_attempt_at = coalesce($3, next_attempt_at),
        failed_at = CASE WHEN $3 IS NULL THEN $4 END,
        body = CASE WHEN $3 IS NULL THEN '' ELSE body END
     WHERE id = $1 AND claimed_until = $5",
);

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&ANYTHING_DUE, &CLAIM_MAIL, &MAIL_NOT_SENT];

#[async_trait]
impl MailStore for SqliteStore {
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>> {
        // Most polls find nothing due.
        let due_at = micros(now);
        let anything_due: bool = self
            .engine
            .read(move |db| db.prepare_cached(ANYTHING_DUE.sqlite())?.query_row([due_at], |row| row.get(0)))
            .await?;
        if !anything_due {
            return Ok(Vec::new());
        }
        self.engine
            .write(move |db| {
                let claimed = db
                    .prepare_cached(CLAIM_MAIL.sqlite())?
                    .query_map(params![micros(now), micros(lease_until), limit], |row| {
                        Ok(QueuedMail {
                            id: row.get("id")?,
                            recipient: row.get("recipient")?,
                            subject: row.get("subject")?,
                            body: row.get("body")?,
                            created_at: time_of(row, "created_at")?,
                            attempts: row.get("attempts")?,
                            lease: lease_until,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(claimed)
            })
            .await
    }

    async fn mail_sent(&self, mail_id: &str, lease: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
        let mail_id = mail_id.to_owned();
        self.engine
            .write(move |db| {
                let recorded = db.prepare_cached(mail::MAIL_SENT.sqlite())?.execute(params![
                    mail_id,
                    micros(now),
                    micros(lease)
                ])?;
                Ok(recorded > 0)
            })
            .await
    }

    async fn mail_not_sent(&self, failure: &FailedDelivery) -> StoreResult<bool> {
        let failure = failure.clone();
        self.engine
            .write(move |db| {
                let recorded = db.prepare_cached(MAIL_NOT_SENT.sqlite())?.execute(params![
                    failure.mail_id,
                    failure.error,
                    failure.retry_at.map(micros),
                    micros(failure.at),
                    micros(failure.lease)
                ])?;
                Ok(recorded > 0)
            })
            .await
    }

    async fn mail_counts(&self) -> StoreResult<MailCounts> {
        let (queued, sent, failed): (i64, i64, i64) = self
            .engine
            .scan(|db| {
                db.prepare_cached(mail::MAIL_COUNTS.sqlite())?
                    .query_row([], |row| Ok((row.get("queued")?, row.get("sent")?, row.get("failed")?)))
            })
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(MailCounts { queued: count(queued), sent: count(sent), failed: count(failed) })
    }
}
