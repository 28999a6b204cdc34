//! A per-client-address request limit for the authentication endpoints.
//!
//! A fixed one-minute window per address: simple, O(1) per request, and the window's end gives
//! the `Retry-After`. It lives in process memory, so with N replicas an address gets up to N
//! times the limit: acceptable for its purpose (slowing password guessing), and it keeps the
//! database out of the login path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many tracked addresses, expired windows are swept on the next request.
const SWEEP_AT: usize = 10_000;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// `per_minute = 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request from `client`; `Err(retry_after)` when it is over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(client).or_insert((now, 0));
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
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(limiter.check(CLIENT).is_ok());
        }
    }
}
