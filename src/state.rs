//! What every request handler shares: the store, keys, hasher, mailer and settings.

use std::sync::Arc;

use crate::account_throttle::AccountThrottle;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::mail::Mailer;
use crate::mail::outbox::Outbox;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::store::DynStore;
use crate::store::listing::Listings;

pub struct AppState {
    pub settings: Settings,
    pub store: DynStore,
    pub keys: TokenKeys,
    pub hasher: PasswordHasher,
    pub mailer: Mailer,
    /// Wakes the email sender when a request has queued an email.
    pub outbox: Outbox,
    pub auth_rate_limiter: RateLimiter,
    pub account_throttle: AccountThrottle,
    pub metrics: Metrics,
    /// Pages of the catalogue listing (cached and shared: see [`crate::store::listing`]).
    pub listings: Listings,
}

pub type SharedState = Arc<AppState>;
