//! Limits per account, whatever the number of client addresses: failed logins, and reset emails.
//!
//! The per-address limit ([`crate::rate_limit`]) does nothing against an attacker who spreads
//! password guesses for one account over many addresses. Here each account (by lowercased
//! email) counts its failed logins in a window ([`FAILURE_WINDOW`]); past the limit (at most
//! 100, NIST SP 800-63B 5.2.2) further attempts are answered 429 until the window ends.
//!
//! So that an attacker cannot keep the owner out by failing on purpose, the throttle does not
//! apply to addresses the account has logged in from successfully (the last eight, by IPv4
//! address or IPv6 /64): the owner at home keeps logging in while the guesses are refused. A
//! completed password reset clears the count too. Reset emails are limited to
//! [`RESET_EMAILS_PER_HOUR`] per account, so nobody can flood an inbox through `forgot`.
//!
//! Like the address limit it lives in process memory (N replicas allow N times the limit), and
//! the table is bounded by two generations of [`GENERATION`] accounts.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::generations::Generations;
use crate::rate_limit::client_key;

pub const FAILURE_WINDOW: Duration = Duration::from_secs(3600);
pub const RESET_EMAILS_PER_HOUR: u32 = 3;
const RESET_WINDOW: Duration = Duration::from_secs(3600);
const KNOWN_CLIENTS: usize = 8;
const GENERATION: usize = 50_000;

#[derive(Clone)]
struct Account {
    failures_since: Instant,
    failures: u32,
    known_clients: Vec<IpAddr>,
    resets_since: Instant,
    resets: u32,
}

impl Account {
    fn new(now: Instant) -> Self {
        Self { failures_since: now, failures: 0, known_clients: Vec::new(), resets_since: now, resets: 0 }
    }
}

/// Accounts by lowercased email.
struct Accounts(Generations<String, Account>);

impl Accounts {
    fn entry(&mut self, email: &str, now: Instant) -> &mut Account {
        self.0.entry(email.to_lowercase(), || Account::new(now))
    }
}

pub struct AccountThrottle {
    failure_limit: u32,
    accounts: Mutex<Accounts>,
}

impl AccountThrottle {
    /// `failure_limit` failed logins per account per [`FAILURE_WINDOW`]; 0 turns it off.
    pub fn new(failure_limit: u32) -> Self {
        Self { failure_limit, accounts: Mutex::new(Accounts(Generations::new(GENERATION))) }
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Before a login for `email` from `client`: `Err(retry_after)` while the account is
    /// throttled and the client is not one it logged in from before.
    pub fn check_login(&self, email: &str, client: IpAddr) -> Result<(), Duration> {
        if self.failure_limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut accounts = self.accounts();
        let account = accounts.entry(email, now);
        if now.duration_since(account.failures_since) >= FAILURE_WINDOW {
            account.failures_since = now;
            account.failures = 0;
        }
        let known = account.known_clients.contains(&client_key(client));
        if account.failures >= self.failure_limit && !known {
            return Err(FAILURE_WINDOW.saturating_sub(now.duration_since(account.failures_since)));
        }
        Ok(())
    }

    pub fn login_failed(&self, email: &str) {
        let mut accounts = self.accounts();
        let account = accounts.entry(email, Instant::now());
        account.failures = account.failures.saturating_add(1);
    }

    pub fn login_succeeded(&self, email: &str, client: IpAddr) {
        let mut accounts = self.accounts();
        let account = accounts.entry(email, Instant::now());
        let key = client_key(client);
        account.known_clients.retain(|known| *known != key);
        account.known_clients.push(key);
        if account.known_clients.len() > KNOWN_CLIENTS {
            account.known_clients.remove(0);
        }
    }

    /// A completed password reset proves the owner: the failures so far no longer count.
    pub fn password_reset(&self, email: &str) {
        let mut accounts = self.accounts();
        let account = accounts.entry(email, Instant::now());
        account.failures = 0;
    }

    /// Counts one reset email for `email`; false when the hour's allowance is used up.
    pub fn allow_reset_email(&self, email: &str) -> bool {
        let now = Instant::now();
        let mut accounts = self.accounts();
        let account = accounts.entry(email, now);
        if now.duration_since(account.resets_since) >= RESET_WINDOW {
            account.resets_since = now;
            account.resets = 0;
        }
        if account.resets >= RESET_EMAILS_PER_HOUR {
            return false;
        }
        account.resets += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn failures_from_many_addresses_throttle_the_account_but_not_its_known_clients() {
        let throttle = AccountThrottle::new(3);
        throttle.login_succeeded("Ann@x.io", ip("198.51.100.1"));
        for attacker in 0..3u8 {
            assert!(throttle.check_login("ann@x.io", ip(&format!("203.0.113.{attacker}"))).is_ok());
            throttle.login_failed("ann@x.io");
        }
        assert!(throttle.check_login("ann@x.io", ip("203.0.113.99")).is_err());
        assert!(throttle.check_login("ANN@x.io", ip("198.51.100.1")).is_ok(), "the owner is locked out");
        throttle.password_reset("ann@x.io");
        assert!(throttle.check_login("ann@x.io", ip("203.0.113.99")).is_ok());
    }

    #[test]
    fn reset_emails_are_limited_per_account() {
        let throttle = AccountThrottle::new(3);
        for _ in 0..RESET_EMAILS_PER_HOUR {
            assert!(throttle.allow_reset_email("ann@x.io"));
        }
        assert!(!throttle.allow_reset_email("Ann@X.io"));
        assert!(throttle.allow_reset_email("bob@x.io"));
    }
}
