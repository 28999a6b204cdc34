//! The abuse limits, for every process sharing the database at once:
//!
//! - per client address, `AUTH_RATE_LIMIT_PER_MINUTE` requests a minute on signup, login,
//!   refresh, forgot, reset and account deletion (an IPv6 client counts by its /64: one
//!   subscriber usually holds a whole /64 and could otherwise rotate through 2^64 addresses);
//! - per account, whatever the number of addresses, `ACCOUNT_FAILED_LOGIN_LIMIT` consecutive
//!   password checks that did not succeed (logins, and the password a password change or an
//!   account deletion asks for, which a stolen token cannot skip, and the codes of two-step
//!   sign-in, so a stolen password gives no unlimited code guesses). Each check is reserved before
//!   the hash is computed, so concurrent guesses cannot all slip under the limit; past it one
//!   guess an hour is allowed, and after [`HARD_LIMIT`] none (NIST SP 800-63B 5.2.2 bounds
//!   consecutive failures), until a success or a password reset: the count carries over hours
//!   and restarts. So that an attacker cannot keep the owner out by failing on purpose,
//!   addresses the account logged in from (the last [`KNOWN_CLIENTS`]) are exempt;
//! - per account, [`RESET_EMAILS_PER_HOUR`] reset emails, so nobody floods an inbox via forgot;
//! - per account, [`VERIFICATION_EMAILS_PER_HOUR`] verification links asked for (a resend or a
//!   change of address, together), so a signed-in account cannot flood anyone's inbox.
//!
//! Each counter is one statement (see `store::limits`); reads never touch them, and a login
//! counts its address and reserves its check in one round trip.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::{Email, UserId};
use crate::store::limits::{CheckReservation, CheckSucceeded, LoginReservation, PasswordCheck, WindowHit};
use crate::store::{LimitStore, StoreError};

const ADDRESS_WINDOW: Duration = Duration::from_secs(60);
/// After the limit, one more check per this long.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(3600);
/// Consecutive unsuccessful checks after which none is allowed until a success or a reset.
pub const HARD_LIMIT: u32 = 100;
pub const RESET_EMAILS_PER_HOUR: u32 = 3;
const RESET_WINDOW: Duration = Duration::from_secs(3600);
pub const VERIFICATION_EMAILS_PER_HOUR: u32 = 3;
const VERIFICATION_WINDOW: Duration = Duration::from_secs(3600);
const KNOWN_CLIENTS: usize = 8;
/// How long an account's counter (and its known clients) is kept untouched before pruning.
const ACCOUNT_MEMORY: Duration = Duration::from_secs(30 * 86_400);

/// Why a limited request was refused.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("too many requests from the client's address")]
    Address { retry_after: Duration },
    #[error("too many unsuccessful password checks for the account")]
    Account { retry_after: Duration },
    #[error("too many verification emails for the account")]
    Emails { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LimitError {
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Address { retry_after } | Self::Account { retry_after } | Self::Emails { retry_after } => {
                Some(*retry_after)
            }
            Self::Store(_) => None,
        }
    }
}

/// What a client is counted as: its IPv4 address, or its IPv6 /64.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// The account a password check is for, by its folded address. An address that does not parse
/// still counts, by a digest of its lowercased text (it may hold a NUL, which PostgreSQL text
/// cannot, or be very long), so that a malformed one is no way around the limit.
pub fn account_key(email: &str) -> String {
    use sha2::Digest as _;
    match Email::parse(email) {
        Ok(email) => format!("acct:{}", email.normalized()),
        Err(_) => {
            let digest = sha2::Sha256::digest(email.trim().to_lowercase().as_bytes());
            let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("acct:malformed:{hex}")
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The time left of a window that started at `start_ms` and lasts `length`.
fn left_of(start_ms: i64, length: Duration, now_ms: i64) -> Duration {
    let end = start_ms.saturating_add(millis(length));
    Duration::from_millis(u64::try_from(end.saturating_sub(now_ms)).unwrap_or(0)).max(Duration::from_secs(1))
}

/// A password check that was reserved and may go ahead.
#[derive(Debug, Clone)]
pub struct ReservedCheck {
    key: String,
    client: IpAddr,
    known_clients: String,
}

impl ReservedCheck {
    /// What the store records when the check succeeded: the count starts again and the client
    /// becomes the account's most recent known one.
    pub fn succeeded(&self) -> CheckSucceeded {
        let entry = self.client.to_string();
        let mut clients: Vec<&str> =
            self.known_clients.split(',').filter(|known| !known.is_empty() && *known != entry).collect();
        clients.push(&entry);
        let keep = clients.len().saturating_sub(KNOWN_CLIENTS);
        CheckSucceeded { key: self.key.clone(), known_clients: format!(",{},", clients[keep..].join(",")) }
    }
}

pub struct Limits {
    per_minute: u32,
    failure_limit: u32,
}

impl Limits {
    /// `per_minute` requests per address, `failure_limit` consecutive unsuccessful checks per
    /// account; 0 turns either off.
    pub fn new(per_minute: u32, failure_limit: u32) -> Self {
        Self { per_minute, failure_limit }
    }

    fn address_hit(&self, client: IpAddr, now_ms: i64) -> Option<(WindowHit, u32)> {
        (self.per_minute > 0).then(|| {
            let hit =
                WindowHit { key: format!("addr:{}", client_key(client)), now_ms, window_ms: millis(ADDRESS_WINDOW) };
            (hit, self.per_minute)
        })
    }

    fn check_of(&self, account: &str, client: IpAddr, now_ms: i64) -> Option<PasswordCheck> {
        (self.failure_limit > 0).then(|| PasswordCheck {
            key: account.to_owned(),
            now_ms,
            client_pattern: format!("%,{},%", client_key(client)),
            limit: self.failure_limit,
            hard_limit: HARD_LIMIT.max(self.failure_limit),
            backoff_ms: millis(FAILURE_BACKOFF),
        })
    }

    fn verdict(
        &self,
        account: &str,
        client: IpAddr,
        reservation: CheckReservation,
        now_ms: i64,
    ) -> Result<ReservedCheck, LimitError> {
        if reservation.allowed {
            return Ok(ReservedCheck {
                key: account.to_owned(),
                client: client_key(client),
                known_clients: reservation.known_clients,
            });
        }
        let retry_after = if reservation.failures >= HARD_LIMIT.max(self.failure_limit) {
            FAILURE_BACKOFF
        } else {
            left_of(reservation.last_at_ms, FAILURE_BACKOFF, now_ms)
        };
        tracing::warn!(
            client = %client,
            failures = reservation.failures,
            "password check refused: the account is throttled after consecutive failures"
        );
        Err(LimitError::Account { retry_after })
    }

    /// Counts a request from `client` against the per-address limit.
    pub async fn address(&self, store: &dyn LimitStore, client: IpAddr) -> Result<(), LimitError> {
        let now_ms = now_ms();
        let Some((hit, limit)) = self.address_hit(client, now_ms) else { return Ok(()) };
        let count = store.count_hit(&hit).await?;
        self.address_verdict(client, count.hits, limit, count.window_start_ms, now_ms)
    }

    fn address_verdict(
        &self,
        client: IpAddr,
        hits: u32,
        limit: u32,
        start_ms: i64,
        now_ms: i64,
    ) -> Result<(), LimitError> {
        if hits <= limit {
            return Ok(());
        }
        tracing::info!(client = %client, "request refused: the address's rate limit is used up");
        Err(LimitError::Address { retry_after: left_of(start_ms, ADDRESS_WINDOW, now_ms) })
    }

    /// A login from `client` for the account `account` ([`account_key`]): counts the address
    /// and reserves the account's password check, in one round trip. `None` when the account
    /// limit is off.
    pub async fn login(
        &self,
        store: &dyn LimitStore,
        client: IpAddr,
        account: &str,
    ) -> Result<Option<ReservedCheck>, LimitError> {
        let now_ms = now_ms();
        let login = LoginReservation {
            address: self.address_hit(client, now_ms),
            check: self.check_of(account, client, now_ms),
        };
        if login.address.is_none() && login.check.is_none() {
            return Ok(None);
        }
        let reserved = store.reserve_login(&login).await?;
        if let (Some(count), Some((_, limit))) = (reserved.address, &login.address) {
            self.address_verdict(client, count.hits, *limit, count.window_start_ms, now_ms)?;
        }
        match reserved.check {
            Some(reservation) => self.verdict(account, client, reservation, now_ms).map(Some),
            None => Ok(None),
        }
    }

    /// Reserves a password check for an account that is already signed in (changing the
    /// password, deleting the account): it counts like a login's.
    pub async fn password_check(&self, store: &dyn LimitStore, client: IpAddr, email: &str) -> Result<(), LimitError> {
        let now_ms = now_ms();
        let account = account_key(email);
        let Some(check) = self.check_of(&account, client, now_ms) else { return Ok(()) };
        let reservation = store.reserve_check(&check).await?;
        self.verdict(&account, client, reservation, now_ms).map(|_| ())
    }

    /// Reserves the check of a second step (a code after a right password) for the account with
    /// that address: it counts like a password check, so wrong codes feed the same throttle and
    /// a right password alone never clears it. `None` when the account limit is off.
    pub async fn second_step_check(
        &self,
        store: &dyn LimitStore,
        client: IpAddr,
        email: &str,
    ) -> Result<Option<ReservedCheck>, LimitError> {
        let now_ms = now_ms();
        let account = account_key(email);
        let Some(check) = self.check_of(&account, client, now_ms) else { return Ok(None) };
        let reservation = store.reserve_check(&check).await?;
        self.verdict(&account, client, reservation, now_ms).map(Some)
    }

    /// Counts one reset email for the account; false when its hour's allowance is used up.
    pub async fn reset_email(&self, store: &dyn LimitStore, email: &Email) -> Result<bool, LimitError> {
        let hit = WindowHit {
            key: format!("reset:{}", email.normalized()),
            now_ms: now_ms(),
            window_ms: millis(RESET_WINDOW),
        };
        Ok(store.count_hit(&hit).await?.hits <= RESET_EMAILS_PER_HOUR)
    }

    /// Counts one verification email (a resend, or a change of address) for the account, by
    /// its id (its address is what changes); refused past the hour's allowance, with when the
    /// hour ends.
    pub async fn verification_email(&self, store: &dyn LimitStore, user_id: &UserId) -> Result<(), LimitError> {
        let now_ms = now_ms();
        let hit = WindowHit { key: format!("verify:{user_id}"), now_ms, window_ms: millis(VERIFICATION_WINDOW) };
        let count = store.count_hit(&hit).await?;
        if count.hits <= VERIFICATION_EMAILS_PER_HOUR {
            return Ok(());
        }
        tracing::info!(%user_id, "verification email refused: the account's hourly allowance is used up");
        Err(LimitError::Emails { retry_after: left_of(count.window_start_ms, VERIFICATION_WINDOW, now_ms) })
    }

    /// Forgets what no limit needs any more, a bounded batch at a time; how many went.
    pub async fn prune(store: &dyn LimitStore, batch: u32) -> Result<u64, StoreError> {
        let now = now_ms();
        let windows_before = now - millis(RESET_WINDOW.max(ADDRESS_WINDOW).max(VERIFICATION_WINDOW));
        store.prune_limits(windows_before, now - millis(ACCOUNT_MEMORY), batch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_a_mapped_ipv4_is_its_ipv4() {
        let key = |text: &str| client_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
    }

    #[test]
    fn a_success_makes_its_client_the_newest_known_one_and_keeps_the_last_eight() {
        let mut known = String::new();
        for i in 0..10u8 {
            let check =
                ReservedCheck { key: "acct:a".into(), client: IpAddr::from([10, 0, 0, i]), known_clients: known };
            known = check.succeeded().known_clients;
        }
        assert_eq!(known.matches(',').count(), KNOWN_CLIENTS + 1, "{known}");
        assert!(!known.contains(",10.0.0.1,") && known.ends_with(",10.0.0.9,"), "{known}");
        let again = ReservedCheck { key: "acct:a".into(), client: IpAddr::from([10, 0, 0, 5]), known_clients: known };
        let known = again.succeeded().known_clients;
        assert_eq!(known.matches("10.0.0.5").count(), 1);
        assert!(known.ends_with(",10.0.0.5,"));
    }

    #[test]
    fn malformed_and_differently_cased_addresses_are_one_account() {
        assert_eq!(account_key("Ann@Example.com"), account_key(" ann@example.com "));
        assert_eq!(account_key("not an email"), account_key("NOT AN EMAIL "));
    }
}
