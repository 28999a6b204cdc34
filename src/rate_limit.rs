//! A per-client-address request limit for the authentication endpoints.
//!
//! A fixed one-minute window per address: simple, O(1) per request, and the window's end gives
//! the `Retry-After`. It lives in process memory, so with N replicas an address gets up to N
//! times the limit: acceptable for its purpose (slowing password guessing), and it keeps the
//! database out of the login path.
//!
//! An IPv6 client is counted by its /64: one subscriber usually holds a whole /64 and could
//! otherwise rotate through 2^64 addresses. An IPv4-mapped IPv6 address is its IPv4 address.
//! The table is bounded: it keeps two generations of at most [`GENERATION`] addresses each, and
//! when the current one is full the older is dropped, so memory stays flat under a flood of
//! addresses and an address is forgotten only after a full generation has passed it by.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::generations::Generations;

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses per generation of the table (see the module docs).
const GENERATION: usize = 50_000;

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

pub struct RateLimiter {
    per_minute: u32,
    /// Per client: when its window started and how many requests it made in it.
    windows: Mutex<Generations<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// `per_minute = 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, windows: Mutex::new(Generations::new(GENERATION)) }
    }

    /// Counts one request from `client`; `Err(retry_after)` when it is over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let client = client_key(client);
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (start, count) = windows.entry(client, || (now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn requests_past_the_limit_are_refused_until_the_window_ends() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(limiter.check_at(CLIENT, t0).is_ok());
        assert!(limiter.check_at(CLIENT, t0).is_ok());
        let retry = limiter.check_at(CLIENT, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(retry, Duration::from_secs(50));
        assert!(limiter.check_at(CLIENT, t0 + WINDOW).is_ok());
    }

    #[test]
    fn addresses_are_counted_separately() {
        let limiter = RateLimiter::new(1);
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        assert!(limiter.check_at(CLIENT, t0).is_ok());
        assert!(limiter.check_at(other, t0).is_ok());
        assert!(limiter.check_at(CLIENT, t0).is_err());
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_a_mapped_ipv4_is_its_ipv4() {
        let limiter = RateLimiter::new(1);
        let t0 = Instant::now();
        assert!(limiter.check_at("2001:db8:1:2::1".parse().unwrap(), t0).is_ok());
        assert!(limiter.check_at("2001:db8:1:2:ffff::9".parse().unwrap(), t0).is_err());
        assert!(limiter.check_at("2001:db8:1:3::1".parse().unwrap(), t0).is_ok());
        assert!(limiter.check_at("203.0.113.7".parse().unwrap(), t0).is_ok());
        assert!(limiter.check_at("::ffff:203.0.113.7".parse().unwrap(), t0).is_err());
    }

    #[test]
    fn the_table_stays_bounded_under_a_flood_of_addresses_and_keeps_recent_counts() {
        let limiter = RateLimiter::new(1);
        let t0 = Instant::now();
        assert!(limiter.check_at(CLIENT, t0).is_ok());
        for i in 0..(3 * GENERATION as u32) {
            let _ = limiter.check_at(IpAddr::V4(i.into()), t0);
            if i == GENERATION as u32 / 2 {
                // A client seen again within a generation keeps its count.
                assert!(limiter.check_at(CLIENT, t0).is_err());
            }
        }
        let windows = limiter.windows.lock().unwrap();
        assert!(windows.len() <= 2 * GENERATION);
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(limiter.check(CLIENT).is_ok());
        }
    }
}
