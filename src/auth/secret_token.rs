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

pub use crate::domain::TokenHash;

/// The hash the database keeps of `token`.
pub fn hash(token: &str) -> TokenHash {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    TokenHash::from_hex_digest(hex)
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

    /// SHA-256 test vectors (FIPS 180-2, and `sha256sum` for the token-shaped one): the hash
    /// is compared with values computed elsewhere, not with itself.
    #[test]
    fn hashes_are_the_lowercase_hex_sha256_of_the_token() {
        for (token, expected) in [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                "q2T8v_0Zr-KcJm3bWnE5yXhL7pA9sDfG1uIoVtR4eBw",
                "e9a94b1bfff2d7d61853fe47d4e74521aec032119b37c082a4f75f187609a59a",
            ),
        ] {
            assert_eq!(hash(token).as_str(), expected, "SHA-256 of {token:?}");
        }
        let token = generate();
        let hashed = hash(&token);
        assert_eq!(hashed.as_str().len(), 64);
        assert!(hashed.as_str().chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{hashed:?}");
        assert_ne!(hashed.as_str(), token);
    }
}
