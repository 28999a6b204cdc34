//! Personal access tokens, by hash.

use crate::store::statement::Sql;

/// `$1` user.
pub static COUNT_TOKENS_OF: Sql = Sql::new("SELECT count(*) FROM access_tokens WHERE user_id = $1");

/// `$1` id, `$2` user, `$3` name, `$4` hash, `$5` scopes, `$6` now, `$7` expiry or NULL.
pub static INSERT_TOKEN: Sql = Sql::new(
    "INSERT INTO access_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)",
);

/// `$1` hash: the token and its user (one indexed probe and a join on the key).
pub static TOKEN_BY_HASH: Sql = Sql::new(
    "SELECT t.id AS token_id, t.scopes, t.expires_at, t.last_used_at, u.id, u.email, u.role, u.created_at, u.email_verified
     FROM access_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = $1",
);

/// `$1` now, `$2` token, `$3` stale before: only a value older than that is moved, so two
/// processes seeing one stale value write once between them.
pub static TOUCH_TOKEN: Sql = Sql::new(
    "UPDATE access_tokens SET last_used_at = $1
     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
);

/// `$1` user: newest first.
pub static TOKENS_OF: Sql = Sql::new(
    "SELECT id, name, scopes, created_at, expires_at, last_used_at FROM access_tokens
     WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
);

/// `$1` token, `$2` user: only the user's own.
pub static DELETE_TOKEN_OF: Sql = Sql::new("DELETE FROM access_tokens WHERE id = $1 AND user_id = $2");

/// `$1` user: every token (a password reset).
pub static DELETE_TOKENS_OF: Sql = Sql::new("DELETE FROM access_tokens WHERE user_id = $1");

#[cfg(test)]
pub static ALL: &[&Sql] =
    &[&COUNT_TOKENS_OF, &INSERT_TOKEN, &TOKEN_BY_HASH, &TOUCH_TOKEN, &TOKENS_OF, &DELETE_TOKEN_OF, &DELETE_TOKENS_OF];
