//! The JWT signing key: where it comes from, and the rules it must meet (checked here only).
//!
//! `JWT_SECRET_KEY` when set. Otherwise, with SQLite, a key generated once and kept in a file
//! beside the database (`<database>.jwt-key`, mode 0600), so tokens survive restarts with zero
//! configuration. PostgreSQL deployments run several replicas, which must share one key: there
//! it must be set.

use std::path::Path;

use anyhow::Context;

use crate::auth::secret_token;
use crate::config::{DatabaseUrl, Secret, Settings};

/// The shortest signing key accepted: HS256 wants at least as many bytes as its output.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewer different characters than this is a pattern, not a key (a hex key of 64 digits has
/// all 16; 32 `a`s have one).
const MIN_DISTINCT_CHARS: usize = 10;

/// The least entropy a key must show by [`estimated_bits`]: a key anyone can enumerate is no
/// secret.
const MIN_ESTIMATED_BITS: f64 = 128.0;

/// Keys published where anyone can read them, compared ignoring case: the Flask tutorial's own
/// `.env` (which its readers copied, and which movie-bag's own readers may copy from it), and
/// the placeholders of JWT examples. A key that contains the tutorial's is refused too.
const PUBLISHED_KEYS: &[&str] = &[
    TUTORIAL_KEY,
    "super-secret",
    "super-secret-key",
    "supersecret",
    "secret",
    "secret-key",
    "secretkey",
    "jwt-secret",
    "jwt_secret_key",
    "your-256-bit-secret",
    "your-secret-key",
    "your_jwt_secret",
    "changeme",
    "change-me",
    "change-this-secret",
];

/// `JWT_SECRET_KEY` in the Flask movie-bag tutorial's `.env` (Part 3).
const TUTORIAL_KEY: &str = "t1NP63m4wnBg6nyHYKfmc2TpCOGI4nss";

/// How to make a good key, said with every refusal.
const HOW_TO_GENERATE: &str = "generate one with `openssl rand -base64 48`";

/// A key long and unpredictable enough to sign with.
#[derive(Clone)]
pub struct SigningKey(Secret);

impl SigningKey {
    /// Checks the rules; `origin` names where the key came from, for the error, which says why
    /// the key is refused and how to make a good one.
    fn parse(key: &str, origin: impl FnOnce() -> String) -> anyhow::Result<Self> {
        let lowered = key.to_lowercase();
        if PUBLISHED_KEYS.iter().any(|published| lowered == published.to_lowercase())
            || lowered.contains(&TUTORIAL_KEY.to_lowercase())
        {
            anyhow::bail!(
                "{} is a published key (the Flask tutorial's .env, or a well-known placeholder): anyone can sign \
                 tokens with it; {HOW_TO_GENERATE}",
                origin()
            );
        }
        if key.len() < MIN_SECRET_BYTES {
            anyhow::bail!("{} must be at least {MIN_SECRET_BYTES} bytes long; {HOW_TO_GENERATE}", origin());
        }
        let distinct = key.chars().collect::<std::collections::HashSet<_>>().len();
        if distinct < MIN_DISTINCT_CHARS {
            anyhow::bail!(
                "{} is too predictable: it uses only {distinct} different characters (at least \
                 {MIN_DISTINCT_CHARS} needed); {HOW_TO_GENERATE}",
                origin()
            );
        }
        let bits = estimated_bits(key);
        if bits < MIN_ESTIMATED_BITS {
            anyhow::bail!(
                "{} is too predictable: about {bits:.0} bits of entropy estimated, at least {MIN_ESTIMATED_BITS:.0} \
                 needed (repeated characters and runs like 0123 or abcd count for nothing); {HOW_TO_GENERATE}",
                origin()
            );
        }
        Ok(Self(Secret::new(key)))
    }

    pub fn bytes(&self) -> &[u8] {
        self.0.expose().as_bytes()
    }

    /// A key for tests and tools that need one of their own.
    pub fn random() -> Self {
        Self(Secret::new(format!("{}{}", secret_token::generate(), secret_token::generate())))
    }
}

/// A class of characters, and how many it has.
type CharClass = (fn(&char) -> bool, u32);

/// A deliberately simple estimate of a key's entropy, in bits: each character that does not
/// repeat or continue a run (the same character as the one before, or the next or previous
/// code point) counts the bits of a random pick from the alphabet the key draws from; the
/// others count nothing. The alphabet is the 16 hex digits when the key is all hex (as
/// `openssl rand -hex` makes), else the sum of the classes it uses: 26 lower, 26 upper, 10
/// digits, 33 ASCII symbols, and 64 for anything else. It cannot tell a random key from a
/// random-looking one (the tutorial's is refused by name, above), but it refuses what is
/// typed rather than generated: `aaaa...`, `abab...`, `0123456789abcdef...`. A random key of
/// 32 characters from 62 scores about 180; one of 64 hex digits about 210; 16 random bytes in
/// hex (32 digits, 128 bits, below the 256 bits RFC 7518 3.2 asks of an HS256 key) about 100.
fn estimated_bits(key: &str) -> f64 {
    let alphabet: u32 = if key.chars().all(|c| c.is_ascii_hexdigit()) {
        16
    } else {
        let classes: [CharClass; 5] = [
            (char::is_ascii_lowercase, 26),
            (char::is_ascii_uppercase, 26),
            (char::is_ascii_digit, 10),
            (|c: &char| c.is_ascii() && !c.is_ascii_alphanumeric(), 33),
            (|c: &char| !c.is_ascii(), 64),
        ];
        classes.iter().filter(|(is, _)| key.chars().any(|c| is(&c))).map(|(_, size)| size).sum()
    };
    let per_char = f64::from(alphabet).log2();
    let mut previous: Option<char> = None;
    let mut bits = 0.0;
    for c in key.chars() {
        let predictable = previous.is_some_and(|p| (u32::from(c)).abs_diff(u32::from(p)) <= 1);
        if !predictable {
            bits += per_char;
        }
        previous = Some(c);
    }
    bits
}

/// The key the server signs with, from the settings (see the module docs).
pub fn resolve(settings: &Settings) -> anyhow::Result<SigningKey> {
    if let Some(secret) = &settings.tokens.jwt_secret_key {
        return SigningKey::parse(secret.expose(), || "JWT_SECRET_KEY".to_owned());
    }
    match (&settings.database_url, settings.database_url.sqlite_path()) {
        (DatabaseUrl::Postgres(_), _) => {
            anyhow::bail!("JWT_SECRET_KEY must be set with PostgreSQL: every replica must sign with the same key")
        }
        (_, Some(database)) => load_or_create(&crate::files::beside(&database, ".jwt-key")),
        (_, None) => {
            tracing::warn!(
                "JWT_SECRET_KEY is not set: using a random key for this in-memory database; tokens die with the process"
            );
            Ok(SigningKey::random())
        }
    }
}

fn load_or_create(path: &Path) -> anyhow::Result<SigningKey> {
    if path.exists() {
        return load(path);
    }
    let key = SigningKey::random();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Written whole to a private temporary file, then linked into place: a second process
    // starting at the same moment either links first (and we read its key) or finds ours
    // complete. Never a half-written key, never two keys.
    let temporary = path.with_extension(format!("tmp-{}", crate::domain::new_id()));
    write_private(&temporary, key.0.expose())
        .with_context(|| format!("cannot write the generated JWT key to {}", temporary.display()))?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "JWT_SECRET_KEY is not set: generated a signing key and kept it beside the database");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
        Err(e) => Err(e).with_context(|| format!("cannot store the generated JWT key at {}", path.display())),
    }
}

fn load(path: &Path) -> anyhow::Result<SigningKey> {
    let existing =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
    SigningKey::parse(existing.trim(), || format!("the key file {} (delete it or set JWT_SECRET_KEY)", path.display()))
}

/// Written 0600 and synced: the key is the database's secret.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = crate::files::create_private(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused_naming_its_origin_and_how_to_make_one() {
        let refused = SigningKey::parse("short", || "JWT_SECRET_KEY".to_owned()).err().unwrap();
        assert_eq!(
            refused.to_string(),
            "JWT_SECRET_KEY must be at least 32 bytes long; generate one with `openssl rand -base64 48`"
        );
        assert!(SigningKey::random().bytes().len() >= MIN_SECRET_BYTES);
    }

    fn refusal(key: &str) -> String {
        match SigningKey::parse(key, || "JWT_SECRET_KEY".to_owned()) {
            Ok(_) => panic!("{key:?} was accepted"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn published_keys_are_refused_by_name_whatever_their_case() {
        for key in [TUTORIAL_KEY, "T1NP63M4WNBG6NYHYKFMC2TPCOGI4NSS", "super-secret", "Your-256-Bit-Secret"] {
            assert!(refusal(key).contains("published key"), "{key}: {}", refusal(key));
        }
        let padded = format!("{TUTORIAL_KEY}-prod");
        assert!(refusal(&padded).contains("published key"));
    }

    #[test]
    fn patterns_are_refused_as_too_predictable() {
        for key in [
            "a".repeat(32),
            "ab".repeat(16),
            "abcabcabcabcabcabcabcabcabcabcab".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
            "abcdefghijklmnopqrstuvwxyzabcdefghij".to_owned(),
            "test-signing-key-0123456789abcdef0123456789".to_owned(),
        ] {
            let refused = refusal(&key);
            assert!(refused.contains("too predictable") && refused.contains("openssl rand"), "{key}: {refused}");
        }
        // 16 random bytes in hex: 128 bits, half what HS256 asks for.
        assert!(refusal("9f86d081884c7d659a2feaa0c55ad015").contains("too predictable"));
    }

    #[test]
    fn generated_keys_of_the_usual_kinds_are_accepted() {
        use base64::Engine as _;
        use rand::RngCore as _;
        for _ in 0..2000 {
            let mut bytes = [0u8; 48];
            rand::rng().fill_bytes(&mut bytes);
            let base64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            let hex: String = bytes[..32].iter().map(|b| format!("{b:02x}")).collect();
            let alphanumeric: String = bytes[..32]
                .iter()
                .map(|b| {
                    char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[usize::from(b % 62)])
                })
                .collect();
            for key in [base64, hex, alphanumeric, SigningKey::random().0.expose().to_owned()] {
                assert!(
                    SigningKey::parse(&key, || "JWT_SECRET_KEY".to_owned()).is_ok(),
                    "{key}: {}",
                    estimated_bits(&key)
                );
            }
        }
    }
}
