//! Password hashing with argon2id on a few dedicated threads that reuse their memory.
//!
//! Hashing costs tens of milliseconds and 19 MiB by design. Running it inline would stall every
//! request sharing the async worker; running it on tokio's blocking pool would let a login flood
//! spread over hundreds of threads, each leaving its freed 19 MiB in its own malloc arena (we
//! measured 530 MB peak RSS that way). Instead a fixed set of worker threads, one per permit,
//! each owns one 19 MiB block buffer for life and takes jobs from a queue: memory stays at
//! permits x 19 MiB, no page is faulted in twice, and a flood queues logins. The threads run at
//! a lower nice level (`os::lower_thread_priority`), one core fewer than the machine has, so
//! reads keep the CPU they need and logins still get their share beside other processes.

use std::sync::{Arc, Mutex, mpsc};

use crate::auth::bcrypt_hash::{is_bcrypt_hash, is_unverifiable_bcrypt_hash};
use crate::client_presence::ClientPresence;

use anyhow::Context;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::domain::Password;

/// OWASP's first recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const OUTPUT_BYTES: usize = 32;

fn default_params() -> Params {
    Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_BYTES)).expect("constant argon2 parameters are valid")
}

/// One worker's reusable argon2 memory.
struct Scratch {
    blocks: Vec<Block>,
}

impl Scratch {
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::default());
        }
        &mut self.blocks[..count]
    }
}

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

/// Fills `out` with the argon2id output for `password` and `salt`, in the worker's own memory.
fn derive(
    scratch: &mut Scratch,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &Salt,
    out: &mut [u8],
) -> anyhow::Result<()> {
    Argon2::new(Algorithm::Argon2id, version, params.clone())
        .hash_password_into_with_memory(password, salt.as_ref(), out, scratch.blocks(params.block_count()))
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
}

/// 16 random bytes from the system's generator, as a PHC salt.
fn new_salt() -> anyhow::Result<Salt> {
    use rand::TryRngCore as _;
    let mut bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    Salt::new(&bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))
}

fn hash_with(scratch: &mut Scratch, password: &[u8]) -> anyhow::Result<String> {
    let params = default_params();
    let salt = new_salt()?;
    let mut out = [0u8; OUTPUT_BYTES];
    derive(scratch, Version::V0x13, &params, password, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

fn verify_with(scratch: &mut Scratch, password: &[u8], stored: &str) -> anyhow::Result<bool> {
    if is_bcrypt_hash(stored) {
        // bcrypt reads at most 72 bytes, as it did when the hash was made.
        return bcrypt::verify(password, stored).map_err(|e| anyhow::anyhow!("stored bcrypt hash unreadable: {e}"));
    }
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
    anyhow::ensure!(parsed.algorithm == argon2::ARGON2ID_IDENT, "stored hash is not argon2id");
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored parameters: {e}"))?;
    let version = Version::try_from(parsed.version.unwrap_or(0x13)).map_err(|e| anyhow::anyhow!("version: {e}"))?;
    let expected = parsed.hash.context("stored hash has no output")?;
    let salt = parsed.salt.context("stored hash has no salt")?;
    let mut out = vec![0u8; expected.len()];
    derive(scratch, version, &params, password, &salt, &mut out)?;
    // Output's equality is constant-time.
    Ok(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))? == expected)
}

/// Why a hash was not computed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The queue of waiting hashes is at its bound: refused before any work was done.
    #[error("the password hashing queue is full")]
    Busy,
    /// The request's client left before its turn came: the hash was not worth computing.
    #[error("the client left before its password was checked")]
    ClientGone,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Whether a queued hash still runs when its client has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenClientLeaves {
    /// Login and signup: their only product is an answer nobody would read.
    Skip,
    /// A password change or reset: a credential change must never vanish.
    Finish,
}

/// Hashes computed, and hashes not started because their client had gone.
#[derive(Debug, Default)]
pub struct HashCounts {
    pub computed: std::sync::atomic::AtomicU64,
    pub skipped: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
pub struct PasswordHasher {
    counts: Arc<HashCounts>,
    jobs: mpsc::SyncSender<Job>,
    permit_count: usize,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// both login failures cost the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `permits`: how many hashes may run at once, each on its own thread; `queue_bound`: how
    /// many may wait (past it a request is refused with [`HashError::Busy`]).
    pub fn new(permits: usize, queue_bound: usize) -> anyhow::Result<Self> {
        let permits = permits.max(1);
        let (jobs, queue) = mpsc::sync_channel::<Job>(queue_bound.max(1));
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..permits {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    crate::os::lower_thread_priority();
                    let mut scratch = Scratch { blocks: Vec::new() };
                    loop {
                        // The lock is held only while taking a job, never while hashing.
                        let job = match queue.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut scratch),
                            Err(_) => return, // every sender dropped: the hasher is gone
                        }
                    }
                })
                .context("cannot start a password hashing thread")?;
        }
        let random_password = crate::auth::secret_token::generate();
        let dummy_hash = hash_with(&mut Scratch { blocks: Vec::new() }, random_password.as_bytes())?;
        Ok(Self { counts: Arc::default(), jobs, permit_count: permits, dummy_hash: dummy_hash.into() })
    }

    pub fn permit_count(&self) -> usize {
        self.permit_count
    }

    pub fn counts(&self) -> &HashCounts {
        &self.counts
    }

    async fn run<T: Send + 'static>(
        &self,
        when_client_leaves: WhenClientLeaves,
        job: impl FnOnce(&mut Scratch) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let presence = ClientPresence::current().filter(|_| when_client_leaves == WhenClientLeaves::Skip);
        let (reply, answer) = oneshot::channel();
        let counts = Arc::clone(&self.counts);
        let job: Job = Box::new(move |scratch| {
            use std::sync::atomic::Ordering::Relaxed;
            let outcome = match presence {
                Some(presence) if presence.is_gone() => {
                    counts.skipped.fetch_add(1, Relaxed);
                    Err(HashError::ClientGone)
                }
                _ => {
                    counts.computed.fetch_add(1, Relaxed);
                    job(scratch).map_err(HashError::Failed)
                }
            };
            let _ = reply.send(outcome);
        });
        self.jobs.try_send(job).map_err(|error| match error {
            mpsc::TrySendError::Full(_) => HashError::Busy,
            mpsc::TrySendError::Disconnected(_) => {
                HashError::Failed(anyhow::anyhow!("password hashing threads are gone"))
            }
        })?;
        answer.await.context("password hashing job was dropped")?
    }

    #[tracing::instrument(skip_all)]
    pub async fn hash(&self, password: &Password, when_client_leaves: WhenClientLeaves) -> Result<String, HashError> {
        let password = password.expose().to_owned();
        self.run(when_client_leaves, move |scratch| hash_with(scratch, password.as_bytes())).await
    }

    /// True when `password` matches `stored`. With `stored = None` (unknown user) a dummy hash
    /// is verified so that the answer takes the same time, and false is returned. So is a
    /// bcrypt hash whose cost is outside the verified range: its check could hold a hashing
    /// thread for days, whoever asks for it.
    ///
    /// Passwords are hashed in normal form C ([`Password`]), so that form is tried first; when
    /// the password as typed differs from it, the bytes as typed are tried too, because hashes
    /// made before passwords were normalised hold whatever form their owner typed then. Both
    /// tries happen whether or not the account exists, so the time still tells nothing.
    #[tracing::instrument(skip_all)]
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
        when_client_leaves: WhenClientLeaves,
    ) -> Result<bool, HashError> {
        let stored = stored.filter(|hash| {
            let unverifiable = is_unverifiable_bcrypt_hash(hash);
            if unverifiable {
                tracing::warn!("a stored bcrypt hash's cost is outside 4 to 14: not verified; a reset gives the account a new password");
            }
            !unverifiable
        });
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let normalized = crate::domain::normalized_password(password);
        let as_typed = (normalized != password).then(|| password.to_owned());
        let matches = self
            .run(when_client_leaves, move |scratch| {
                Ok(verify_with(scratch, normalized.as_bytes(), &stored)?
                    || match as_typed {
                        Some(as_typed) => verify_with(scratch, as_typed.as_bytes(), &stored)?,
                        None => false,
                    })
            })
            .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier as _;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = PasswordHasher::new(2, 8).unwrap();
        let password = Password::parse("correct horse battery", 8).unwrap();
        let hash = hasher.hash(&password, WhenClientLeaves::Finish).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery", Some(&hash), WhenClientLeaves::Finish).await.unwrap());
        assert!(!hasher.verify("correct horse batterY", Some(&hash), WhenClientLeaves::Finish).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_that_other_argon2_code_accepts() {
        let hasher = PasswordHasher::new(1, 8).unwrap();
        let hash = hasher.hash(&Password::parse("interoperable", 8).unwrap(), WhenClientLeaves::Finish).await.unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"interoperable", &parsed).is_ok());
        // And hashes made by the library's own API verify here.
        let salt = new_salt().unwrap();
        let foreign: PasswordHash = argon2::password_hash::PasswordHasher::hash_password_with_salt(
            &Argon2::default(),
            b"from elsewhere",
            salt.as_ref(),
        )
        .unwrap();
        let foreign = foreign.to_string();
        assert!(hasher.verify("from elsewhere", Some(&foreign), WhenClientLeaves::Finish).await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_stored_by_another_argon2_implementation_still_verifies() {
        // Made by argon2-cffi (the reference C code) with movie-bag's parameters: hashes stored
        // before a library upgrade must keep working.
        let stored =
            "$argon2id$v=19$m=19456,t=2,p=1$bAEUx2iZ0o3u9zznrR4bcA$k4typWlucIIM2AzRUP/NElSPZvGVvLa+Z0+oAcCrcmM";
        let hasher = PasswordHasher::new(1, 8).unwrap();
        assert!(hasher.verify("hashed before the upgrade", Some(stored), WhenClientLeaves::Finish).await.unwrap());
        assert!(!hasher.verify("hashed after the upgrade", Some(stored), WhenClientLeaves::Finish).await.unwrap());
    }

    #[tokio::test]
    async fn passwords_sharing_their_first_72_bytes_are_different_passwords() {
        let hasher = PasswordHasher::new(1, 8).unwrap();
        let prefix = "p".repeat(72);
        let hash =
            hasher.hash(&Password::parse(&format!("{prefix}one"), 8).unwrap(), WhenClientLeaves::Finish).await.unwrap();
        assert!(!hasher.verify(&format!("{prefix}two"), Some(&hash), WhenClientLeaves::Finish).await.unwrap());
        assert!(hasher.verify(&format!("{prefix}one"), Some(&hash), WhenClientLeaves::Finish).await.unwrap());
    }

    #[tokio::test]
    async fn a_flask_bcrypt_hash_verifies_its_password_at_any_prefix_and_cost() {
        // Made by Python's bcrypt (what flask-bcrypt uses) with cost 4 and 12.
        let hasher = PasswordHasher::new(1, 8).unwrap();
        for stored in [
            bcrypt::hash_with_salt("tutorial", 4, [7; 16]).unwrap().format_for_version(bcrypt::Version::TwoB),
            bcrypt::hash_with_salt("tutorial", 5, [9; 16]).unwrap().format_for_version(bcrypt::Version::TwoA),
            bcrypt::hash_with_salt("tutorial", 4, [3; 16]).unwrap().format_for_version(bcrypt::Version::TwoY),
        ] {
            assert!(is_bcrypt_hash(&stored), "{stored}");
            assert!(hasher.verify("tutorial", Some(&stored), WhenClientLeaves::Finish).await.unwrap(), "{stored}");
            assert!(!hasher.verify("tutorials", Some(&stored), WhenClientLeaves::Finish).await.unwrap(), "{stored}");
        }
        assert!(!is_bcrypt_hash("$argon2id$v=19$m=19456,t=2,p=1$abc$def"));
    }

    #[tokio::test]
    async fn a_bcrypt_hash_of_too_high_a_cost_is_not_verified_and_does_not_hold_the_only_thread() {
        // Crafted, not computed: cost 31 would take a day and a half to check.
        let stalling = "$2b$31$OVhkJ90oZgNYBlOcXHTzX.XJP5EHjHOyLA3NlB5NtTd3iwvUPfINK";
        let hasher = PasswordHasher::new(1, 8).unwrap();
        let within = |seconds| std::time::Duration::from_secs(seconds);
        for _ in 0..3 {
            let verdict =
                tokio::time::timeout(within(10), hasher.verify("tutorial", Some(stalling), WhenClientLeaves::Finish))
                    .await
                    .expect("answered without running 2^31 rounds");
            assert!(!verdict.unwrap(), "never a match");
        }
        let ordinary =
            bcrypt::hash_with_salt("tutorial", 4, [7; 16]).unwrap().format_for_version(bcrypt::Version::TwoB);
        let verdict =
            tokio::time::timeout(within(10), hasher.verify("tutorial", Some(&ordinary), WhenClientLeaves::Finish))
                .await
                .expect("the thread was free for the next check");
        assert!(verdict.unwrap());
    }

    #[tokio::test]
    async fn a_password_verifies_in_either_normal_form_and_a_hash_of_the_raw_form_still_verifies() {
        let hasher = PasswordHasher::new(1, 8).unwrap();
        let (composed, decomposed) =
            ("caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e", "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e");
        let hash = hasher.hash(&Password::parse(decomposed, 8).unwrap(), WhenClientLeaves::Finish).await.unwrap();
        for typed in [composed, decomposed] {
            assert!(hasher.verify(typed, Some(&hash), WhenClientLeaves::Finish).await.unwrap(), "{typed:?}");
        }
        // Hashed from the bytes as typed, as before passwords were normalised.
        let legacy = hash_with(&mut Scratch { blocks: Vec::new() }, decomposed.as_bytes()).unwrap();
        assert!(hasher.verify(decomposed, Some(&legacy), WhenClientLeaves::Finish).await.unwrap());
        assert!(!hasher.verify("cafe creme brulee", Some(&legacy), WhenClientLeaves::Finish).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_hash_an_unknown_email_is_verified_against_costs_what_a_real_hash_does() {
        // Same algorithm, version, memory, passes, lanes and output length: verifying it is the
        // same work as verifying an account's hash (the time itself: scripts/bench-timing.sh).
        let hasher = PasswordHasher::new(1, 8).unwrap();
        let real =
            hasher.hash(&Password::parse("a real password", 8).unwrap(), WhenClientLeaves::Finish).await.unwrap();
        let (dummy, real) = (PasswordHash::new(&hasher.dummy_hash).unwrap(), PasswordHash::new(&real).unwrap());
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
        assert_eq!(dummy.salt.map(|s| s.as_ref().len()), real.salt.map(|s| s.as_ref().len()));
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = PasswordHasher::new(1, 8).unwrap();
        assert!(!hasher.verify("anything at all", None, WhenClientLeaves::Finish).await.unwrap());
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        let hasher = PasswordHasher::new(1, 8).unwrap();
        assert!(hasher.verify("x", Some("not a hash"), WhenClientLeaves::Finish).await.is_err());
    }
}
