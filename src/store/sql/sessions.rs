//! Sessions, their refresh tokens, and password-reset tokens.

use crate::store::statement::Sql;

/// `$1` token hash, `$2` session, `$3` now.
pub static INSERT_REFRESH_TOKEN: Sql =
    Sql::new("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)");

/// The session's owner and expiry, unless it was revoked.
pub static UNREVOKED_SESSION: Sql = Sql::new(
    "SELECT s.id AS session_id, s.expires_at, u.id, u.email, u.role, u.created_at, u.email_verified
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.revoked_at IS NULL",
);

pub static REFRESH_TOKEN: Sql = Sql::new(
    "SELECT rt.session_id, s.user_id, rt.rotated_at IS NOT NULL AS rotated,
            s.revoked_at IS NOT NULL AS session_revoked, s.expires_at
     FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
     WHERE rt.token_hash = $1",
);

/// `$1` now, `$2` presented hash. Two presentations of one token at once: the second finds it
/// rotated and changes nothing (PostgreSQL: it waits for the first's row lock, then re-checks).
pub static MARK_ROTATED: Sql =
    Sql::new("UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL");

/// `$1` replacement hash, `$2` now, `$3` presented hash: the replacement joins its session.
pub static INSERT_REPLACEMENT: Sql = Sql::new(
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
     SELECT $1, session_id, $2 FROM refresh_tokens WHERE token_hash = $3",
);

/// `$1` now, `$2` presented hash: a refresh uses the session.
pub static TOUCH_SESSION: Sql = Sql::new(
    "UPDATE sessions SET last_used_at = $1
     WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $2)",
);

/// `$1` user, `$2` now: their live sessions, newest first (`sessions_by_user` finds them).
pub static LIVE_SESSIONS_OF: Sql = Sql::new(
    "SELECT id, created_at, coalesce(last_used_at, created_at) AS last_used_at, ip, user_agent FROM sessions
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
     ORDER BY created_at DESC, id DESC",
);

/// `$1` now, `$2` session, `$3` user: the session only if it is that user's and still live.
pub static REVOKE_OWN_SESSION: Sql = Sql::new(
    "UPDATE sessions SET revoked_at = $1
     WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1",
);

/// `$1` now, `$2` session.
pub static REVOKE_SESSION: Sql = Sql::new("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL");

/// `$1` now, `$2` user: every live session of theirs.
pub static REVOKE_SESSIONS_OF: Sql =
    Sql::new("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL");

/// `$1` before, `$2` batch. Refresh tokens go by the foreign key's cascade.
pub static PRUNE_SESSIONS: Sql = Sql::new(
    "DELETE FROM sessions WHERE id IN
        (SELECT id FROM sessions WHERE expires_at < $1
         UNION SELECT id FROM sessions WHERE revoked_at < $1 LIMIT $2)",
);

/// `$1` before, `$2` batch.
pub static PRUNE_RESET_TOKENS: Sql = Sql::new(
    "DELETE FROM reset_tokens WHERE token_hash IN
        (SELECT token_hash FROM reset_tokens WHERE expires_at < $1 LIMIT $2)",
);

/// `$1` user: a new reset token supersedes every earlier one.
pub static DELETE_RESET_TOKENS_OF: Sql = Sql::new("DELETE FROM reset_tokens WHERE user_id = $1");

/// `$1` hash, `$2` user, `$3` now, `$4` expiry.
pub static INSERT_RESET_TOKEN: Sql =
    Sql::new("INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)");

/// `$1` hash, `$2` now: the user a live token belongs to.
pub static RESET_TOKEN_OWNER: Sql = Sql::new(
    "SELECT u.id, u.email, u.role, u.created_at, u.email_verified
     FROM reset_tokens rt JOIN users u ON u.id = rt.user_id
     WHERE rt.token_hash = $1 AND rt.used_at IS NULL AND rt.expires_at > $2",
);

/// `$1` now, `$2` hash: uses a live token, once.
pub static CONSUME_RESET_TOKEN: Sql = Sql::new(
    "UPDATE reset_tokens SET used_at = $1
     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
     RETURNING user_id",
);

#[cfg(test)]
pub static ALL: &[&Sql] = &[
    &TOUCH_SESSION,
    &LIVE_SESSIONS_OF,
    &REVOKE_OWN_SESSION,
    &INSERT_REFRESH_TOKEN,
    &UNREVOKED_SESSION,
    &REFRESH_TOKEN,
    &MARK_ROTATED,
    &INSERT_REPLACEMENT,
    &REVOKE_SESSION,
    &REVOKE_SESSIONS_OF,
    &PRUNE_SESSIONS,
    &PRUNE_RESET_TOKENS,
    &DELETE_RESET_TOKENS_OF,
    &INSERT_RESET_TOKEN,
    &RESET_TOKEN_OWNER,
    &CONSUME_RESET_TOKEN,
];
