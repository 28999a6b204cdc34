//! Two-step sign-in's cryptography: RFC 6238 codes (computed by `totp-rs`), the secret sealed at
//! rest, and recovery codes.
//!
//! The secret is stored sealed with ChaCha20-Poly1305 under a key derived from the signing key
//! (HKDF-SHA256, info [`KEY_INFO`]), a fresh random nonce beside each ciphertext, and the user id
//! as associated data (a sealed secret copied to another account's row does not open). So a
//! database dump alone does not give anyone the codes; a dump together with `JWT_SECRET_KEY`
//! does. Rotating `JWT_SECRET_KEY` makes every sealed secret unreadable: those accounts cannot
//! pass the second step with a code any more (a recovery code, hashed, still works) until an
//! admin turns two-step sign-in off for them (`DELETE /api/users/{id}/mfa`) and they enrol again.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;
use totp_rs::{Algorithm, Builder, Totp};

use crate::auth::secret_token;
use crate::auth::signing_key::SigningKey;
use crate::domain::TokenHash;

/// RFC 6238's recommended step, which every authenticator app assumes.
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: u8 = 6;
/// The issuer an authenticator app shows beside the account.
pub const ISSUER: &str = "movie-bag";
/// 160 bits, RFC 4226's recommendation for an HMAC-SHA-1 key.
const SECRET_BYTES: usize = 20;
/// Names the derived key's purpose, so it is never the same as any other key derived from the
/// signing key; a new scheme would be `v2`.
const KEY_INFO: &[u8] = b"movie-bag totp v1";
const NONCE_BYTES: usize = 12;

/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code, without its dashes: 16 from 32 is 80 random bits.
const RECOVERY_CODE_CHARS: usize = 16;
/// No 0/O or 1/I, which are easy to misread on paper.
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// The key that seals TOTP secrets at rest.
#[derive(Clone)]
pub struct TotpKey(Key);

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey([redacted])")
    }
}

impl TotpKey {
    /// Derived from the signing key with HKDF-SHA256: every replica sharing `JWT_SECRET_KEY`
    /// derives the same one, and nothing else is kept.
    pub fn derive(signing_key: &SigningKey) -> Self {
        let hkdf = hkdf::Hkdf::<sha2_v011::Sha256>::new(None, signing_key.bytes());
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 255 x 32: this cannot fail.
        hkdf.expand(KEY_INFO, &mut okm).expect("32 bytes is a valid HKDF-SHA256 output length");
        Self(Key::from(okm))
    }

    /// The secret sealed for `user_id`: base64 of the nonce followed by the ciphertext and tag.
    pub fn seal(&self, user_id: &str, secret: &TotpSecret) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = ChaCha20Poly1305::new(&self.0);
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &secret.0, aad: user_id.as_bytes() })
            .expect("sealing a 20-byte secret in memory cannot fail");
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        STANDARD.encode(stored)
    }

    /// The secret sealed for `user_id`; `None` when it was sealed under another key (the signing
    /// key was rotated), for another account, or altered.
    pub fn open(&self, user_id: &str, stored: &str) -> Option<TotpSecret> {
        let bytes = STANDARD.decode(stored).ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        let cipher = ChaCha20Poly1305::new(&self.0);
        cipher.decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: user_id.as_bytes() }).ok().map(TotpSecret)
    }
}

/// A TOTP shared secret, in memory only while a request needs it.
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    fn totp(&self, account: &str) -> Totp {
        // A label cannot hold a colon (it separates issuer and account); an address has none,
        // but the label is only a name shown in the app, so one is dropped rather than refused.
        let account: String = account.chars().filter(|c| *c != ':').collect();
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(1)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.clone())
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build()
            .expect("a 160-bit secret with RFC 6238's parameters builds")
    }

    /// Base32 without padding, as authenticator apps take it typed in.
    pub fn base32(&self) -> String {
        self.totp("-").secret().to_base32()
    }

    /// `otpauth://totp/movie-bag:<account>?secret=...&issuer=movie-bag` (SHA-1, 6 digits and
    /// 30 s are the URI format's defaults, so totp-rs leaves them out).
    pub fn otpauth_uri(&self, account: &str) -> String {
        self.totp(account).to_url().unwrap_or_else(|_| {
            // Only an empty account name fails, which an account never has.
            self.totp("account").to_url().unwrap_or_default()
        })
    }

    /// The time step `code` belongs to, when it is this secret's code for the step of
    /// `now_unix` or the one before or after (clock drift); compared in constant time.
    pub fn matching_step(&self, code: &str, now_unix: u64) -> Option<u64> {
        self.totp("-").check(code, now_unix)
    }

    /// The code of `step` (tests and tools).
    pub fn code_at(&self, unix: u64) -> String {
        self.totp("-").generate(unix).to_string()
    }
}

/// What a client typed as its second step: a code from the app, or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Six digits.
    Code(String),
    /// A recovery code, normalised (upper case, no dashes or spaces).
    Recovery(String),
}

impl SecondFactor {
    /// `None` for anything that is neither shape (it is then wrong, like a wrong code).
    pub fn parse(raw: &str) -> Option<Self> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if compact.len() == usize::from(DIGITS) && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Code(compact));
        }
        let upper = compact.to_ascii_uppercase();
        (upper.len() == RECOVERY_CODE_CHARS && upper.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
            .then_some(Self::Recovery(upper))
    }
}

/// Fresh recovery codes, as shown to their owner once: `XXXX-XXXX-XXXX-XXXX`.
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_CHARS];
            rand::rng().fill_bytes(&mut bytes);
            // 256 is a multiple of 32: masking keeps every character equally likely.
            let chars: Vec<char> =
                bytes.iter().map(|byte| char::from(RECOVERY_ALPHABET[usize::from(byte & 31)])).collect();
            chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
        })
        .collect()
}

/// What the database keeps of a recovery code: the SHA-256 of its normalised form (80 random
/// bits: no one brute-forces the preimage, so a fast hash is enough, as for tokens).
pub fn recovery_code_hash(code: &str) -> Option<TokenHash> {
    match SecondFactor::parse(code)? {
        SecondFactor::Recovery(normalized) => Some(secret_token::hash(&normalized)),
        SecondFactor::Code(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 vectors (the secret is the ASCII "12345678901234567890"),
    /// cut to six digits: the codes come from the RFC, not from the code under test.
    #[test]
    fn codes_are_rfc_6238s_sha1_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (time, code) in [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924")] {
            assert_eq!(secret.code_at(time), code, "at {time}");
        }
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn a_code_matches_its_step_and_the_steps_beside_it_only() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_015;
        let step = now / STEP_SECONDS;
        let at = |step: u64| secret.code_at(step * STEP_SECONDS);
        assert_eq!(secret.matching_step(&at(step), now), Some(step));
        assert_eq!(secret.matching_step(&at(step - 1), now), Some(step - 1));
        assert_eq!(secret.matching_step(&at(step + 1), now), Some(step + 1));
        for far in [step - 2, step + 2] {
            if at(far) != at(step - 1) && at(far) != at(step) && at(far) != at(step + 1) {
                assert_eq!(secret.matching_step(&at(far), now), None);
            }
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_for_its_account() {
        let key = TotpKey::derive(&SigningKey::random());
        let secret = TotpSecret::generate();
        let sealed = key.seal("u1", &secret);
        assert!(!sealed.contains(&secret.base32()));
        assert_eq!(key.open("u1", &sealed).map(|s| s.0), Some(secret.0.clone()));
        assert!(key.open("u2", &sealed).is_none(), "another account's row");
        assert!(TotpKey::derive(&SigningKey::random()).open("u1", &sealed).is_none(), "a rotated key");
        assert_ne!(key.seal("u1", &secret), sealed, "a fresh nonce each time");
    }

    #[test]
    fn the_uri_names_the_issuer_the_account_and_the_secret() {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri("ann@example.com");
        assert!(uri.starts_with("otpauth://totp/movie-bag:ann%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.base32())), "{uri}");
        assert!(uri.contains("issuer=movie-bag"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_parse_back_in_any_case() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19);
        assert_eq!(recovery_code_hash(code), recovery_code_hash(&code.to_lowercase().replace('-', " ")));
        assert!(matches!(SecondFactor::parse("123 456"), Some(SecondFactor::Code(c)) if c == "123456"));
        assert_eq!(SecondFactor::parse("12345"), None);
        assert_eq!(SecondFactor::parse("0000-0000-0000-0000"), None, "0 is not in the alphabet");
    }
}
