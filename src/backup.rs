//! Backups of the embedded SQLite database: a consistent copy taken while the server keeps
//! serving and writing, verified before it counts; restoring one; and the backups a server
//! takes on a schedule.
//!
//! A copy of the file alone is not a backup: in WAL mode the latest commits may sit in the
//! `-wal` file, and a copy taken during a write can be torn. `VACUUM INTO` instead reads the
//! database through SQLite, inside one read transaction, so the copy is exactly the database as
//! of one commit, while writers go on (WAL readers do not block them). The copy is written under
//! a temporary name, created 0600 before any data goes in, checked with `PRAGMA
//! integrity_check`, and only then renamed to its name: a backup file that exists is whole.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use rusqlite::{Connection, OpenFlags};

use crate::config::BackupSettings;
use crate::files;
use crate::metrics::Metrics;

/// How long a backup waits for a lock another connection holds (a checkpoint, recovery).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Scheduled backups are named `movie-bag-<UTC time>.db` in the backup directory.
const SCHEDULED_PREFIX: &str = "movie-bag-";

/// What a finished backup is.
#[derive(Debug, Clone)]
pub struct BackupDone {
    pub path: PathBuf,
    pub bytes: u64,
    pub took: Duration,
}

/// Copies the database at `database` to `target`, consistently, while it may be in use.
/// Refuses to replace an existing `target` unless `replace`.
pub fn backup(database: &Path, target: &Path, replace: bool) -> anyhow::Result<BackupDone> {
    let started = Instant::now();
    ensure!(database.exists(), "there is no database at {}", database.display());
    if target.exists() && !replace {
        bail!("{} exists already: choose another name, or pass --force to replace it", target.display());
    }
    let partial = partial_name(target);
    let outcome = copy_and_verify(database, &partial);
    if let Err(error) = outcome {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    std::fs::rename(&partial, target)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), target.display()))?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or_default();
    Ok(BackupDone { path: target.to_owned(), bytes, took: started.elapsed() })
}

/// `.<name>.partial-<random>` beside `target`: never mistaken for a backup, renamed in place.
fn partial_name(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into());
    target.with_file_name(format!(".{name}.partial-{}", uuid::Uuid::now_v7().simple()))
}

fn copy_and_verify(database: &Path, partial: &Path) -> anyhow::Result<()> {
    // Created empty and 0600 first: VACUUM INTO fills an empty file, and the data is never
    // readable by others, not even for a moment.
    create_private(partial)?;
    let source =
        Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_context(|| format!("cannot open {}", database.display()))?;
    source.busy_timeout(BUSY_TIMEOUT)?;
    let target = partial.to_str().context("the backup path is not UTF-8")?;
    source.execute("VACUUM INTO ?1", [target]).context("the copy failed")?;
    drop(source);
    check_whole(partial).context("the copy does not pass its integrity check")?;
    File::open(partial)?.sync_all()?;
    Ok(())
}

fn create_private(path: &Path) -> anyhow::Result<File> {
    files::create_private(path).with_context(|| format!("cannot create {}", path.display()))
}

/// `PRAGMA integrity_check` answers "ok".
fn check_whole(path: &Path) -> anyhow::Result<()> {
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let verdict: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .with_context(|| format!("{} is not an SQLite database", path.display()))?;
    ensure!(verdict == "ok", "integrity check: {verdict}");
    Ok(())
}

/// Checks that `path` is a whole movie-bag database this binary can migrate: intact, with
/// movie-bag's tables, at a schema version no newer than this binary's `latest_version`, and
/// with exactly the schema the migrations make for its version (no planted trigger, view,
/// table or index; none missing or changed).
pub fn check_restorable(path: &Path, latest_version: i64) -> anyhow::Result<()> {
    ensure!(path.is_file(), "{} is not a file", path.display());
    check_whole(path).with_context(|| format!("{} cannot be restored", path.display()))?;
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_table = |name: &str| -> anyhow::Result<bool> {
        Ok(connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [name],
            |row| row.get(0),
        )?)
    };
    for table in ["_sqlx_migrations", "users", "movies", "sessions"] {
        ensure!(
            has_table(table)?,
            "{} is an SQLite database but not a movie-bag one (it has no `{table}` table)",
            path.display()
        );
    }
    let version: i64 =
        connection.query_row("SELECT coalesce(max(version), 0) FROM _sqlx_migrations", [], |row| row.get(0))?;
    ensure!(
        version <= latest_version,
        "{} was made by a newer movie-bag (schema version {version}; this one knows up to {latest_version})",
        path.display()
    );
    crate::store::check_migrated_schema(&connection).with_context(|| format!("{} cannot be restored", path.display()))
}

/// Puts the backup at `backup` in place of the database at `database`, keeping the replaced
/// database beside it (`<name>.replaced-<UTC time>`); returns where it was kept. The caller has
/// made sure no server uses the database, and migrates it afterwards.
pub fn restore(database: &Path, backup: &Path, latest_version: i64) -> anyhow::Result<Option<PathBuf>> {
    check_restorable(backup, latest_version)?;
    let kept = if database.exists() {
        // Fold the WAL into the file first, so the kept copy is complete on its own.
        Connection::open(database)?.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let kept = files::beside(database, &format!(".replaced-{stamp}"));
        std::fs::rename(database, &kept).with_context(|| format!("cannot move {} aside", database.display()))?;
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(files::beside(database, suffix));
        }
        Some(kept)
    } else {
        None
    };
    let partial = partial_name(database);
    let copied = (|| -> anyhow::Result<()> {
        let mut target = create_private(&partial)?;
        std::io::copy(&mut File::open(backup)?, &mut target)?;
        target.sync_all()?;
        Ok(())
    })();
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        if let Some(kept) = &kept {
            let _ = std::fs::rename(kept, database);
        }
        return Err(error.context("cannot copy the backup into place; the database was put back"));
    }
    std::fs::rename(&partial, database)?;
    Ok(kept)
}

/// Takes one scheduled backup into `dir` and deletes the oldest beyond `keep`.
pub fn scheduled_backup(database: &Path, dir: &Path, keep: usize) -> anyhow::Result<BackupDone> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the backup directory {}", dir.display()))?;
    let name = format!("{SCHEDULED_PREFIX}{}.db", Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
    let done = backup(database, &dir.join(name), false)?;
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX) && n.ends_with(".db"))
        })
        .collect();
    // The names sort by time.
    backups.sort();
    let excess = backups.len().saturating_sub(keep.max(1));
    for old in &backups[..excess] {
        std::fs::remove_file(old).with_context(|| format!("cannot delete the old backup {}", old.display()))?;
    }
    Ok(done)
}

/// Takes a backup into `settings.backup_dir` every `backup_interval` while the server runs,
/// keeping the newest `backup_keep`; outcomes go to `/metrics` and the log.
pub async fn run_schedule(database: PathBuf, settings: BackupSettings, metrics: Arc<Metrics>) {
    let Some(dir) = settings.backup_dir.clone() else {
        return;
    };
    tracing::info!(dir = %dir.display(), every_seconds = settings.backup_interval.as_secs(), keep = settings.backup_keep, "scheduled backups on");
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + settings.backup_interval, settings.backup_interval);
    // A backup that took longer than the interval is not followed by a burst of catch-ups.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (database, dir, keep) = (database.clone(), dir.clone(), settings.backup_keep as usize);
        let outcome = tokio::task::spawn_blocking(move || scheduled_backup(&database, &dir, keep)).await;
        match outcome {
            Ok(Ok(done)) => {
                let at = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
                metrics.backup_succeeded(at, done.bytes, done.took);
                tracing::info!(path = %done.path.display(), bytes = done.bytes, millis = done.took.as_millis() as u64, "backup taken");
            }
            Ok(Err(error)) => {
                metrics.backup_failed();
                tracing::error!(error = format!("{error:#}"), "scheduled backup failed");
            }
            Err(error) => {
                metrics.backup_failed();
                tracing::error!(error = %error, "scheduled backup stopped");
            }
        }
    }
}
