//! Imported flask-bcrypt hashes: what one looks like, and which of them are worth verifying.
//!
//! A bcrypt hash carries its own cost, the log2 of its rounds: `$2b$12$` is 4,096 rounds (a
//! quarter second of one core), `$2b$31$` over two billion (a day and a half). The stored hash,
//! not the server, decides how long its check takes, so a hash that came from outside (an
//! import, a restored or edited database) could hold a hashing thread without bound, and with
//! it every login queued behind. Hashes outside [`VERIFIED_COSTS`] are therefore never verified.

use std::ops::RangeInclusive;

/// The costs verified at login: bcrypt's own minimum, 4, to 14 (four times flask-bcrypt's
/// default of 12, about a second of one core). Above it one check costs more than a login may.
pub const VERIFIED_COSTS: RangeInclusive<u32> = 4..=14;

/// After `$2b$12$`: 22 characters of salt and 31 of hash.
const SALT_AND_HASH_CHARS: usize = 53;
const PREFIXES: [&str; 3] = ["$2a$", "$2b$", "$2y$"];

/// The cost written in `hash` when it is a bcrypt hash as flask-bcrypt stored it: `$2a$`, `$2b$`
/// or `$2y$`, a two-digit cost, `$`, then 53 characters of bcrypt's base64 alphabet (so nothing
/// else, a NUL or a control character, can ride along into the database). `None` otherwise.
pub fn bcrypt_cost(hash: &str) -> Option<u32> {
    let prefix = PREFIXES.iter().find(|prefix| hash.starts_with(*prefix))?;
    let rest = &hash[prefix.len()..];
    let (cost, salt_and_hash) = rest.split_once('$')?;
    let well_formed = cost.len() == 2
        && cost.bytes().all(|b| b.is_ascii_digit())
        && salt_and_hash.len() == SALT_AND_HASH_CHARS
        && salt_and_hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    well_formed.then(|| cost.parse().ok()).flatten()
}

/// A bcrypt hash as flask-bcrypt stored it, whatever its cost. Accepted at login for imported
/// accounts (`movie-bag import`) and replaced by argon2id on the first success.
pub fn is_bcrypt_hash(hash: &str) -> bool {
    bcrypt_cost(hash).is_some()
}

/// A bcrypt hash whose cost is outside [`VERIFIED_COSTS`]: login never verifies it (the account
/// cannot log in with its password; a reset gives it a new one).
pub fn is_unverifiable_bcrypt_hash(hash: &str) -> bool {
    bcrypt_cost(hash).is_some_and(|cost| !VERIFIED_COSTS.contains(&cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 53 characters of bcrypt's alphabet: a hash's shape without computing one.
    const SALT_AND_HASH: &str = "OVhkJ90oZgNYBlOcXHTzX.XJP5EHjHOyLA3NlB5NtTd3iwvUPfINK";

    #[test]
    fn costs_from_4_to_14_are_verified_and_others_are_not_at_every_prefix() {
        for prefix in PREFIXES {
            for (cost, verified) in
                [("03", false), ("04", true), ("12", true), ("14", true), ("15", false), ("31", false)]
            {
                let hash = format!("{prefix}{cost}${SALT_AND_HASH}");
                assert_eq!(bcrypt_cost(&hash), Some(cost.parse().unwrap()), "{hash}");
                assert!(is_bcrypt_hash(&hash), "{hash}");
                assert_eq!(is_unverifiable_bcrypt_hash(&hash), !verified, "{hash}");
            }
        }
    }

    #[test]
    fn only_the_shape_flask_bcrypt_stores_is_a_bcrypt_hash() {
        let good = format!("$2b$12${SALT_AND_HASH}");
        assert!(is_bcrypt_hash(&good));
        for bad in [
            format!("$2x$12${SALT_AND_HASH}"),
            format!("$2b$1${SALT_AND_HASH}"),
            format!("$2b$123${SALT_AND_HASH}"),
            format!("$2b$1a${SALT_AND_HASH}"),
            format!("$2b$12${}", &SALT_AND_HASH[1..]),
            format!("$2b$12${SALT_AND_HASH}x"),
            format!("$2b$12${}\0", &SALT_AND_HASH[1..]),
            format!("$2b$12${}é", &SALT_AND_HASH[2..]),
            "$argon2id$v=19$m=19456,t=2,p=1$abc$def".to_owned(),
            String::new(),
        ] {
            assert!(!is_bcrypt_hash(&bad), "{bad:?}");
            assert!(!is_unverifiable_bcrypt_hash(&bad), "{bad:?}");
        }
    }
}
