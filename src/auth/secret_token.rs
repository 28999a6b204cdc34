//! Opaque random tokens (refresh and password reset) and the hashes they are stored as.
//!
//! A token carries 256 random bits, so a fast hash (SHA-256) is enough at rest: nobody can
//! brute-force the preimage, and the lookup by hash stays a plain index probe.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// A fresh token: 32 random bytes, base64url without padding (43 characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps instead of a token: its SHA-256, hex. A type of its own, so that a
/// token cannot be stored where its hash belongs, nor looked up as one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The hash the database keeps of `token`.
pub fn hash(token: &str) -> TokenHash {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    TokenHash(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn hashes_are_stable_hex_and_differ_from_the_token() {
        let token = generate();
        assert_eq!(hash(&token), hash(&token));
        assert_eq!(hash(&token).as_str().len(), 64);
        assert_ne!(hash(&token).as_str(), token);
        assert_eq!(hash("abc").as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
