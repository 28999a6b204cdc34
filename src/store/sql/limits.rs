//! The abuse limits' counters (table `auth_limits`): one statement per counter, so two
//! processes counting at once never both get the last turn.

use crate::store::statement::Sql;

/// `$1` key, `$2` now, `$3` window length. Returns `hits, window_start`.
pub static COUNT_HIT: Sql = Sql::new(
    "
    INSERT INTO auth_limits AS l (key, window_start, hits, last_at, seen_at) VALUES ($1, $2, 1, $2, $2)
    ON CONFLICT (key) DO UPDATE SET
        window_start = CASE WHEN l.window_start <= $2 - $3 THEN $2 ELSE l.window_start END,
        hits = CASE WHEN l.window_start <= $2 - $3 THEN 1 ELSE l.hits + 1 END,
        last_at = $2,
        seen_at = $2
    RETURNING hits, window_start",
);

/// `$1` key, `$2` now, `$3` client pattern, `$4` limit, `$5` hard limit, `$6` backoff. Every
/// `SET` expression reads the row as it was, so the decision and the count agree. A known
/// client is exempt up to ten times the hard limit (an address shared with the owner, behind
/// carrier-grade NAT, gets no unbounded guesses). Returns `allowed, hits, last_at, known_clients`.
pub static RESERVE_CHECK: Sql = Sql::new(
    "
    INSERT INTO auth_limits AS l (key, window_start, hits, last_at, seen_at) VALUES ($1, $2, 1, $2, $2)
    ON CONFLICT (key) DO UPDATE SET
        allowed = (l.hits < $4 OR (l.hits < $5 AND l.last_at <= $2 - $6) OR (l.known_clients LIKE $3 AND l.hits < 10 * $5)),
        hits = CASE WHEN (l.hits < $4 OR (l.hits < $5 AND l.last_at <= $2 - $6) OR (l.known_clients LIKE $3 AND l.hits < 10 * $5))
                    THEN l.hits + 1 ELSE l.hits END,
        last_at = CASE WHEN (l.hits < $4 OR (l.hits < $5 AND l.last_at <= $2 - $6) OR (l.known_clients LIKE $3 AND l.hits < 10 * $5))
                       THEN $2 ELSE l.last_at END,
        seen_at = $2
    RETURNING allowed, hits, last_at, known_clients",
);

/// `$1` key, `$2` known clients.
pub static CHECK_SUCCEEDED: Sql = Sql::new("UPDATE auth_limits SET hits = 0, known_clients = $2 WHERE key = $1");

/// `$1` a user id: the account's count starts again (a completed reset or password change
/// proves the owner).
pub static FORGET_FAILURES: Sql =
    Sql::new("UPDATE auth_limits SET hits = 0 WHERE key = (SELECT 'acct:' || email_lower FROM users WHERE id = $1)");

/// `$1` oldest `seen_at` of a window kept, `$2` batch; each statement walks its own index.
pub static PRUNE_WINDOWS: Sql = Sql::new(
    "
    DELETE FROM auth_limits WHERE key IN
        (SELECT key FROM auth_limits WHERE key NOT LIKE 'acct:%' AND seen_at < $1 ORDER BY seen_at LIMIT $2)",
);

/// `$1` oldest `seen_at` of an account's counter kept (it is seen at every check, refused ones
/// too, so an account under attack is never forgotten), `$2` batch.
pub static PRUNE_ACCOUNTS: Sql = Sql::new(
    "
    DELETE FROM auth_limits WHERE key IN
        (SELECT key FROM auth_limits WHERE key LIKE 'acct:%' AND seen_at < $1 ORDER BY seen_at LIMIT $2)",
);

#[cfg(test)]
#[cfg(test)]
pub static ALL: &[&Sql] =
    &[&COUNT_HIT, &RESERVE_CHECK, &CHECK_SUCCEEDED, &FORGET_FAILURES, &PRUNE_WINDOWS, &PRUNE_ACCOUNTS];
