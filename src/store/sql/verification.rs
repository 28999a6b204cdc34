//! Email verification links (`email_tokens`) and what using one changes.

use crate::store::statement::Sql;

/// `$1` hash, `$2` user, `$3` purpose, `$4` address, `$5` address folded, `$6` now, `$7` expiry.
pub static INSERT_EMAIL_TOKEN: Sql = Sql::new(
    "INSERT INTO email_tokens (token_hash, user_id, purpose, address, address_lower, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)",
);

/// `$1` user, `$2` purpose: a new link supersedes the user's earlier ones of its purpose.
pub static DELETE_EMAIL_TOKENS_OF: Sql = Sql::new("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2");

/// `$1` hash, `$2` now: a live (unused, unexpired) link, without using it.
pub static LIVE_EMAIL_TOKEN: Sql = Sql::new(
    "SELECT user_id, purpose, address FROM email_tokens
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
);

/// `$1` now, `$2` hash: uses a live link, once (PostgreSQL: a second use at the same moment
/// waits for the first's row lock, then finds it used).
pub static CONSUME_EMAIL_TOKEN: Sql = Sql::new(
    "UPDATE email_tokens SET used_at = $1
     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
     RETURNING user_id, purpose, address, address_lower",
);

/// `$1` user, `$2` the folded address the link went to: only while it is still the account's.
pub static MARK_EMAIL_VERIFIED: Sql =
    Sql::new("UPDATE users SET email_verified = TRUE WHERE id = $1 AND email_lower = $2");

/// `$1` address, `$2` folded, `$3` user: the change of address a link confirmed. The unique
/// index on `email_lower` refuses it when another account took the address meanwhile.
pub static CHANGE_EMAIL: Sql =
    Sql::new("UPDATE users SET email = $1, email_lower = $2, email_verified = TRUE WHERE id = $3");

/// `$1` now, `$2` user: once the address changed, no link sent before stays usable.
pub static VOID_EMAIL_TOKENS_OF: Sql =
    Sql::new("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL");

/// `$1` now, `$2` user: a password change or reset stops a pending change of address (the
/// notice to the old address tells its owner so).
pub static VOID_EMAIL_CHANGES_OF: Sql =
    Sql::new("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'change' AND used_at IS NULL");

/// `$1` before, `$2` batch.
pub static PRUNE_EMAIL_TOKENS: Sql = Sql::new(
    "DELETE FROM email_tokens WHERE token_hash IN
        (SELECT token_hash FROM email_tokens WHERE expires_at < $1 LIMIT $2)",
);

#[cfg(test)]
pub static ALL: &[&Sql] = &[
    &INSERT_EMAIL_TOKEN,
    &DELETE_EMAIL_TOKENS_OF,
    &LIVE_EMAIL_TOKEN,
    &CONSUME_EMAIL_TOKEN,
    &MARK_EMAIL_VERIFIED,
    &CHANGE_EMAIL,
    &VOID_EMAIL_TOKENS_OF,
    &VOID_EMAIL_CHANGES_OF,
    &PRUNE_EMAIL_TOKENS,
];
