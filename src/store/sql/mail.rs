//! The outbox of emails.

use crate::store::statement::Sql;

/// `$1` id, `$2` subject, `$3` body, `$4` now, `$5` user: queued to the user's address as stored
/// at this moment, inside the transaction of the write that calls for it.
pub static QUEUE_MAIL: Sql = Sql::new(
    "INSERT INTO outbox (id, recipient, subject, body, created_at, next_attempt_at)
     SELECT $1, email, $2, $3, $4, $4 FROM users WHERE id = $5",
);

/// `$1` id, `$2` recipient, `$3` subject, `$4` body, `$5` now: queued to an address that is not
/// (yet) an account's, such as the new address of an email change.
pub static QUEUE_MAIL_TO: Sql = Sql::new(
    "INSERT INTO outbox (id, recipient, subject, body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)",
);

/// `$1` id, `$2` now, `$3` the claim's lease: delivered, and the body (a reset token) erased;
/// only while the row is still this claim's.
pub static MAIL_SENT: Sql =
    Sql::new("UPDATE outbox SET sent_at = $2, body = '', claimed_until = NULL WHERE id = $1 AND claimed_until = $3");

pub static MAIL_COUNTS: Sql = Sql::new(
    "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS queued,
            count(sent_at) AS sent, count(failed_at) AS failed
     FROM outbox",
);

#[cfg(test)]
#[cfg(test)]
pub static ALL: &[&Sql] = &[&QUEUE_MAIL, &QUEUE_MAIL_TO, &MAIL_SENT, &MAIL_COUNTS];
