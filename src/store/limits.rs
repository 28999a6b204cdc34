//! The abuse limits' counters, kept in the database (table `auth_limits`) so that every process
//! sharing it counts together and a restart forgets nothing. The rules (which key, which window,
//! what a count means) are the service's, in `service::limits`; a store only counts, in one
//! statement per counter, so that two processes counting at once never both get the last turn.
//!
//! The statements are written once here, with `$N` placeholders; SQLite reads them as `?N`.

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
