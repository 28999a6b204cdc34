//! Files beside the database: the key, the locks, backups in the making. Each is created
//! readable and writable by its owner only (0600), because each holds the database's secrets or
//! its data. Imports no layer of the service.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// `path` with `suffix` added to its file name: `movie-bag.db` + `.jwt-key`.
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Creates `path`, which must not exist, with mode 0600.
pub fn create_private(path: &Path) -> io::Result<File> {
    private_options().write(true).create_new(true).open(path)
}

/// Creates `path` with mode 0600 unless it exists (then it is left as it is).
pub fn create_private_unless_present(path: &Path) -> io::Result<()> {
    match create_private(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[derive(Clone, Copy)]
pub enum LockKind {
    /// Wait for it; many may hold it.
    Shared,
    /// Wait for it; one holder.
    Exclusive,
    /// Take it alone now, or fail.
    ExclusiveNow,
}

/// Opens `<database>.<suffix>` (0600) and locks it as `kind` says; held until the returned file
/// is dropped.
pub async fn lock_beside(database: &Path, suffix: &str, kind: LockKind) -> anyhow::Result<File> {
    let path = beside(database, &format!(".{suffix}"));
    tokio::task::spawn_blocking(move || {
        let file = private_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match kind {
            LockKind::Shared => file.lock_shared().with_context(|| format!("cannot lock {}", path.display()))?,
            LockKind::Exclusive => file.lock().with_context(|| format!("cannot lock {}", path.display()))?,
            LockKind::ExclusiveNow => file.try_lock().map_err(|error| match error {
                std::fs::TryLockError::WouldBlock => {
                    anyhow::anyhow!("its lock file {} is held by a movie-bag process", path.display())
                }
                std::fs::TryLockError::Error(error) => {
                    anyhow::Error::new(error).context(format!("cannot lock {}", path.display()))
                }
            })?,
        }
        Ok(file)
    })
    .await?
}
