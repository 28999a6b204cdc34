//! The JWT signing key: where it comes from, and the one rule it must meet (checked here only).
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

/// A key long enough to sign with.
#[derive(Clone)]
pub struct SigningKey(Secret);

impl SigningKey {
    /// Checks the length rule; `origin` names where the key came from, for the error.
    fn parse(key: &str, origin: impl FnOnce() -> String) -> anyhow::Result<Self> {
        if key.len() < MIN_SECRET_BYTES {
            anyhow::bail!("{} must be at least {MIN_SECRET_BYTES} bytes long", origin());
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

/// The key the server signs with, from the settings (see the module docs).
pub fn resolve(settings: &Settings) -> anyhow::Result<SigningKey> {
    if let Some(secret) = &settings.tokens.jwt_secret_key {
        return SigningKey::parse(secret.expose(), || "JWT_SECRET_KEY".to_owned());
    }
    match (&settings.database_url, settings.database_url.sqlite_path()) {
        (DatabaseUrl::Postgres(_), _) => {
            anyhow::bail!("JWT_SECRET_KEY must be set with PostgreSQL: every replica must sign with the same key")
        }
        (_, Some(database)) => {
            let mut name = database.file_name().unwrap_or_default().to_os_string();
            name.push(".jwt-key");
            load_or_create(&database.with_file_name(name))
        }
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
    let temporary = path.with_extension(format!("tmp-{}", crate::model::new_id()));
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

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused_naming_its_origin() {
        let refused = SigningKey::parse("short", || "JWT_SECRET_KEY".to_owned()).err().unwrap();
        assert_eq!(refused.to_string(), "JWT_SECRET_KEY must be at least 32 bytes long");
        assert!(SigningKey::parse(&"k".repeat(32), || unreachable!()).is_ok());
        assert!(SigningKey::random().bytes().len() >= MIN_SECRET_BYTES);
    }
}
