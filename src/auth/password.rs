//! Password hashing with argon2id, off the async workers, on a bounded pool.
//!
//! Hashing costs tens of milliseconds and 19 MiB by design. Running it inline would stall every
//! request sharing the worker; running it unbounded on the blocking pool would let a login flood
//! take all memory and CPU. A semaphore sized to the cores bounds it: a flood queues logins,
//! while reads keep their workers.

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

/// OWASP's first recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    permit_count: usize,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// both login failures cost the same time.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    Ok(argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

impl PasswordHasher {
    /// `permits`: how many hashes may run at once (the number of cores is right).
    pub fn new(permits: usize) -> anyhow::Result<Self> {
        let permits = permits.max(1);
        let random_password = crate::auth::secret_token::generate();
        let dummy_hash = hash_blocking(&random_password)?;
        Ok(Self { permits: Arc::new(Semaphore::new(permits)), permit_count: permits, dummy_hash: dummy_hash.into() })
    }

    pub fn permit_count(&self) -> usize {
        self.permit_count
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await.context("hashing pool closed")?;
        tokio::task::spawn_blocking(job).await.context("hashing task failed")
    }

    #[tracing::instrument(skip_all)]
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password)).await?
    }

    /// True when `password` matches `stored`. With `stored = None` (unknown user) a dummy hash
    /// is verified so that the answer takes the same time, and false is returned.
    #[tracing::instrument(skip_all)]
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self.run(move || verify_blocking(&password, &stored)).await??;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = PasswordHasher::new(2).unwrap();
        let password = Password::parse("correct horse battery", 8).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("correct horse batterY", Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn passwords_sharing_their_first_72_bytes_are_different_passwords() {
        let hasher = PasswordHasher::new(1).unwrap();
        let prefix = "p".repeat(72);
        let hash = hasher.hash(&Password::parse(&format!("{prefix}one"), 8).unwrap()).await.unwrap();
        assert!(!hasher.verify(&format!("{prefix}two"), Some(&hash)).await.unwrap());
        assert!(hasher.verify(&format!("{prefix}one"), Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = PasswordHasher::new(1).unwrap();
        assert!(!hasher.verify("anything at all", None).await.unwrap());
    }
}
