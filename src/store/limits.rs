//! The abuse limits' counters, kept in the database (table `auth_limits`) so that every process
//! sharing it counts together and a restart forgets nothing. The rules (which key, which window,
//! what a count means) are the service's, in `service::limits`; a store only counts, in one
//! statement per counter, so that two processes counting at once never both get the last turn.
//!
//! The statements are written once here, with `$N` placeholders; SQLite reads them as `?N`.

use async_trait::async_trait;

use super::StoreResult;

/// One request counted against a fixed window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowHit {
    pub key: String,
    pub now_ms: i64,
    pub window_ms: i64,
}

/// What a window holds after a hit: this one included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub hits: u32,
    pub window_start_ms: i64,
}

/// One password check an account is about to make, reserved before the hash is computed. It
/// is allowed while the account's consecutive unsuccessful checks are under `limit`; from then
/// on one per `backoff_ms` after the last, up to `hard_limit` in all; always from a client the
/// account logged in from before (`client_pattern`, a `LIKE` pattern matching its entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordCheck {
    pub key: String,
    pub now_ms: i64,
    pub client_pattern: String,
    pub limit: u32,
    pub hard_limit: u32,
    pub backoff_ms: i64,
}

/// What a reservation found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReservation {
    /// The check was reserved (counted) and may go ahead.
    pub allowed: bool,
    /// Consecutive checks without a success, this one included when allowed.
    pub failures: u32,
    /// When the last reserved check was made.
    pub last_at_ms: i64,
    /// The account's known clients, as stored (`,client,client,`).
    pub known_clients: String,
}

/// A password check succeeded: the account's count starts again, and its known clients become
/// `known_clients`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSucceeded {
    pub key: String,
    pub known_clients: String,
}

/// What a login reserves in one round trip: its address's request, then (unless the address is
/// over `address_limit`) the account's password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginReservation {
    pub address: Option<(WindowHit, u32)>,
    pub check: Option<PasswordCheck>,
}

/// What [`LoginReservation`] gave: the address's count, and the check's reservation unless
/// there was no check or the address was over its limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginReserved {
    pub address: Option<WindowCount>,
    pub check: Option<CheckReservation>,
}

#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one hit in its window (a new window starts when the last one has ended).
    async fn count_hit(&self, hit: &WindowHit) -> StoreResult<WindowCount>;
    /// Reserves a password check, atomically with its decision.
    async fn reserve_check(&self, check: &PasswordCheck) -> StoreResult<CheckReservation>;
    /// Counts a login's address and reserves its password check in one round trip.
    async fn reserve_login(&self, login: &LoginReservation) -> StoreResult<LoginReserved>;
    /// Forgets at most `batch` windows unseen since `windows_before_ms` and at most `batch`
    /// accounts' counters unseen since `accounts_before_ms`; how many went.
    async fn prune_limits(&self, windows_before_ms: i64, accounts_before_ms: i64, batch: u32) -> StoreResult<u64>;
}

/// `$1` key, `$2` now, `$3` window length. Returns `hits, window_start`.
pub(super) const COUNT_HIT: &str = "
    INSERT INTO auth_limits AS l (key, window_start, hits, last_at, seen_at) VALUES ($1, $2, 1, $2, $2)
    ON CONFLICT (key) DO UPDATE SET
        window_start = CASE WHEN l.window_start <= $2 - $3 THEN $2 ELSE l.window_start END,
        hits = CASE WHEN l.window_start <= $2 - $3 THEN 1 ELSE l.hits + 1 END,
        last_at = $2,
        seen_at = $2
    RETURNING hits, window_start";

/// `$1` key, `$2` now, `$3` client pattern, `$4` limit, `$5` hard limit, `$6` backoff. Every
/// `SET` expression reads the row as it was, so the decision and the count agree. A known
/// client is exempt up to ten times the hard limit (an address shared with the owner, behind
/// carrier-grade NAT, gets no unbounded guesses). Returns `allowed, hits, last_at, known_clients`.
pub(super) const RESERVE_CHECK: &str = "
    INSERT INTO auth_limits AS l (key, window_start, hits, last_at, seen_at) VALUES ($1, $2, 1, $2, $2)
    ON CONFLICT (key) DO UPDATE SET
        allowed = (l.hits < $4 OR (l.hits < $5 AND l.last_at <= $2 - $6) OR (l.known_clients LIKE $3 AND l.hits < 10 * $5)),
        hits = CASE WHEN (l.hits < $4 OR (l.hits < $5 AND l.last_at <= $2 - $6) OR (l.known_clients LIKE $3 AND l.hits < 10 * $5))
                    THEN l.hits + 1 ELSE l.hits END,
        last_at = CASE WHEN (l.hits < $4 OR (l.hits < $5 AND l.last_at <= $2 - $6) OR (l.known_clients LIKE $3 AND l.hits < 10 * $5))
                       THEN $2 ELSE l.last_at END,
        seen_at = $2
    RETURNING allowed, hits, last_at, known_clients";

/// `$1` key, `$2` known clients.
pub(super) const CHECK_SUCCEEDED: &str = "UPDATE auth_limits SET hits = 0, known_clients = $2 WHERE key = $1";

/// `$1` a user id: the account's count starts again (a completed reset or password change
/// proves the owner).
pub(super) const FORGET_FAILURES: &str =
    "UPDATE auth_limits SET hits = 0 WHERE key = (SELECT 'acct:' || email_lower FROM users WHERE id = $1)";

/// `$1` oldest `seen_at` of a window kept, `$2` batch; each statement walks its own index.
pub(super) const PRUNE_WINDOWS: &str = "
    DELETE FROM auth_limits WHERE key IN
        (SELECT key FROM auth_limits WHERE key NOT LIKE 'acct:%' AND seen_at < $1 ORDER BY seen_at LIMIT $2)";

/// `$1` oldest `seen_at` of an account's counter kept (it is seen at every check, refused ones
/// too, so an account under attack is never forgotten), `$2` batch.
pub(super) const PRUNE_ACCOUNTS: &str = "
    DELETE FROM auth_limits WHERE key IN
        (SELECT key FROM auth_limits WHERE key LIKE 'acct:%' AND seen_at < $1 ORDER BY seen_at LIMIT $2)";

/// The statement in SQLite's placeholders: `$N` becomes `?N`.
pub(super) fn for_sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}
