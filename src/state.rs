//! What every request handler shares: the store, keys, hasher, mailer and settings.

use std::sync::Arc;

use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::totp::TotpKey;
use crate::config::Settings;
use crate::lifecycle::Lifecycle;
use crate::mail::Mailer;
use crate::mail::outbox::Outbox;
use crate::metrics::Metrics;
use crate::posters::PosterPool;
use crate::service::auth::AuthDeps;
use crate::service::limits::Limits;
use crate::store::DynStore;

pub struct AppState {
    pub settings: Settings,
    pub store: DynStore,
    pub keys: TokenKeys,
    pub hasher: PasswordHasher,
    /// The threads that decode and resize poster uploads, behind their bounded queue.
    pub posters: PosterPool,
    pub mailer: Mailer,
    /// Wakes the email sender when a request has queued an email.
    pub outbox: Outbox,
    /// The abuse limits; their counters live in the database.
    pub limits: Limits,
    /// Shared with the background tasks that report to `/metrics` (scheduled backups).
    pub metrics: Arc<Metrics>,
    /// Serving, or draining before a shutdown.
    pub lifecycle: Lifecycle,
    /// Seals TOTP secrets at rest; derived from the signing key.
    pub totp_key: TotpKey,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// What the credential rules of [`crate::service::auth`] use, borrowed from here.
    pub fn auth(&self) -> AuthDeps<'_> {
        AuthDeps {
            users: self.store.as_ref(),
            sessions: self.store.as_ref(),
            events: self.store.as_ref(),
            access_tokens: self.store.as_ref(),
            hasher: &self.hasher,
            keys: &self.keys,
            tokens: &self.settings.tokens,
            server: &self.settings.server,
            limits: &self.limits,
            limit_store: self.store.as_ref(),
            metrics: &self.metrics,
            outbox: &self.outbox,
            mfa: self.store.as_ref(),
            totp_key: &self.totp_key,
        }
    }
}
