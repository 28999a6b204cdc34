//! The outbox sender: delivers queued emails, with retries, exactly once across replicas.
//!
//! A request that promises an email (a reset link, a notice that the password changed) writes
//! an `outbox` row in the same transaction as the token or change it is about, so the email
//! exists exactly when the change does, and survives SMTP outages, restarts and `kill -9`.
//! Each process runs one sender. It claims one due row at a time with a lease (`MAIL_LEASE`,
//! 60 s, longer than the SMTP timeout) so that no other sender takes it meanwhile (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`; SQLite: the single writer), tries it once, and records the outcome
//! only if the row is still its claim's (the lease's end names the claim). One at a time because
//! a lease over a batch can run out while its last emails wait behind a slow SMTP server, and
//! another replica would then send them a second time:
//! - delivered: marked sent, and the body (which may hold a reset token) is erased;
//! - refused or unreachable: retried after 2 s, then 4, 8, ... at most [`MAX_BACKOFF`] apart;
//! - still failing `MAIL_GIVE_UP_AFTER` (default 24 h) after it was queued: given up, with an
//!   error in the log and in `moviebag_emails{state="failed"}`.
//!
//! A process that dies while holding a lease leaves the row to be claimed again when the lease
//! ends; an email whose delivery succeeded just before the crash may then be sent twice, the
//! one case at-least-once delivery cannot rule out.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::{Mailer, OutgoingMail};
use crate::domain::now;
use crate::store::{DynStore, FailedDelivery, QueuedMail};

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The first retry comes this long after the first failure; each next one twice as long.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// Emails claimed at once: one, so that a lease covers only the email being delivered.
const CLAIM_BATCH: u32 = 1;
/// How often the queue is checked without a wake-up: for retries, and for emails queued by
/// another process.
const POLL: Duration = Duration::from_secs(1);

/// Wakes this process's sender when a request has queued an email, so it goes out at once
/// rather than at the next poll.
#[derive(Clone, Default)]
pub struct Outbox {
    queued: Arc<Notify>,
}

impl Outbox {
    pub fn wake(&self) {
        self.queued.notify_one();
    }

    /// Delivers queued emails until the task is dropped.
    pub async fn run_sender(self, store: DynStore, mailer: Mailer, give_up_after: Duration, lease: Duration) {
        loop {
            let delivered_all = match store.claim_mail(now(), lease_end(lease), CLAIM_BATCH).await {
                Ok(claimed) => {
                    let full = claimed.len() == CLAIM_BATCH as usize;
                    for mail in claimed {
                        deliver(&store, &mailer, &mail, give_up_after, lease).await;
                    }
                    !full
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read the outbox");
                    true
                }
            };
            if delivered_all {
                let _ = tokio::time::timeout(POLL, self.queued.notified()).await;
            }
        }
    }
}

async fn deliver(store: &DynStore, mailer: &Mailer, mail: &QueuedMail, give_up_after: Duration, lease: Duration) {
    let email = OutgoingMail { to: mail.recipient.clone(), subject: mail.subject.clone(), body: mail.body.clone() };
    // The SMTP timeout bounds each step of a delivery, not the whole: a server answering each
    // step slowly could outlast the lease, and another sender would take the email over while
    // this one still sends it. A delivery is cut off within three quarters of its lease.
    let outcome = match tokio::time::timeout(lease.mul_f64(0.75), mailer.send(&email)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(anyhow::anyhow!("the delivery took longer than three quarters of MAIL_LEASE")),
    };
    let now = now();
    let recorded = match outcome {
        Ok(()) => store.mail_sent(&mail.id, mail.lease, now).await,
        Err(error) => {
            let error = format!("{error:#}");
            let retry_at = at(now, backoff(mail.attempts));
            if retry_at > at(mail.created_at, give_up_after) {
                tracing::error!(mail_id = %mail.id, attempts = mail.attempts, %error,
                    "email given up: still undeliverable after MAIL_GIVE_UP_AFTER");
                store.mail_not_sent(&failure(mail, error, None, now)).await
            } else {
                tracing::warn!(mail_id = %mail.id, attempts = mail.attempts, %error, retry_at = %retry_at,
                    "email not delivered; will retry");
                store.mail_not_sent(&failure(mail, error, Some(retry_at), now)).await
            }
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!(mail_id = %mail.id, "an email's lease ran out before its outcome was recorded"),
        // The lease runs out and the email is tried again.
        Err(error) => tracing::warn!(mail_id = %mail.id, %error, "cannot record an email's delivery outcome"),
    }
}

/// What to record of a failed attempt at `mail`, under its claim.
fn failure(mail: &QueuedMail, error: String, retry_at: Option<DateTime<Utc>>, at: DateTime<Utc>) -> FailedDelivery {
    FailedDelivery { mail_id: mail.id.clone(), lease: mail.lease, error, retry_at, at }
}

/// The end of a lease taken now, to the microsecond both databases keep, so that comparing the
/// stored value with it finds the claim.
fn lease_end(lease: Duration) -> DateTime<Utc> {
    let end = at(now(), lease);
    DateTime::from_timestamp_micros(end.timestamp_micros()).unwrap_or(end)
}

/// The wait after the `attempts`-th failed attempt: 2 s, 4 s, 8 s, ... at most [`MAX_BACKOFF`].
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

fn at(from: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
    from + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_within_seconds_double_and_are_capped_at_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(9), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
