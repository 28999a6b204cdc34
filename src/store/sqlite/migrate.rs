//! Applies the embedded SQLite migrations with rusqlite, the driver every SQLite query uses, so
//! one SQLite driver is linked, not two kept in lockstep on one `libsqlite3-sys`.
//!
//! The bookkeeping is the table sqlx keeps (`_sqlx_migrations`: same columns, same SHA-384
//! checksums of the scripts), because sqlx migrated SQLite databases until this runner came:
//! a database migrated by an earlier movie-bag continues where it stopped. Each migration runs
//! in its own transaction with its bookkeeping row. A script changed after it was applied, a
//! migration that failed half-way, and a database migrated by a newer movie-bag are refused
//! with a message, as sqlx refused them.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha384};

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

/// Every migration in `migrations/sqlite`, in order (listed by `build.rs`: a new migration is
/// a new file there).
const MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/sqlite_migrations.rs"));

/// The versions of the migrations, in order.
#[cfg(test)]
pub(super) fn versions() -> impl Iterator<Item = i64> {
    MIGRATIONS.iter().map(|migration| migration.version)
}

/// The version of the last migration.
pub(super) const LATEST_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Applies the migrations `connection`'s database lacks.
pub(super) fn run(connection: &mut Connection) -> anyhow::Result<()> {
    run_to(connection, LATEST_VERSION)
}

/// Applies the migrations `connection`'s database lacks, up to version `through`.
pub(super) fn run_to(connection: &mut Connection, through: i64) -> anyhow::Result<()> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
             version BIGINT PRIMARY KEY,
             description TEXT NOT NULL,
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
             success BOOLEAN NOT NULL,
             checksum BLOB NOT NULL,
             execution_time BIGINT NOT NULL
         )",
    )?;
    let applied: HashMap<i64, (bool, Vec<u8>)> = connection
        .prepare("SELECT version, success, checksum FROM _sqlx_migrations")?
        .query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(unknown) = applied.keys().filter(|v| MIGRATIONS.iter().all(|m| m.version != **v)).max() {
        anyhow::bail!("the database was migrated by a newer movie-bag (migration {unknown} is unknown here)");
    }
    for migration in MIGRATIONS.iter().take_while(|m| m.version <= through) {
        let checksum = Sha384::digest(migration.sql.as_bytes()).to_vec();
        match applied.get(&migration.version) {
            Some((true, stored)) if *stored == checksum => continue,
            Some((true, _)) => {
                anyhow::bail!("migration {} was changed after it was applied to this database", migration.version)
            }
            Some((false, _)) => anyhow::bail!("migration {} failed earlier: restore a backup", migration.version),
            None => apply(connection, migration, &checksum)
                .with_context(|| format!("migration {} ({})", migration.version, migration.description))?,
        }
    }
    Ok(())
}

/// The schema version of a database movie-bag migrated, checked as [`run`] would check it before
/// going on: migrations 1 to that version applied, each successfully and unchanged, none
/// unknown to this binary. 0 for a database without migrations.
pub(super) fn applied_version(connection: &Connection) -> anyhow::Result<i64> {
    let mut applied: Vec<(i64, bool, Vec<u8>)> = connection
        .prepare("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some((unknown, _, _)) = applied.iter().rev().find(|(v, _, _)| MIGRATIONS.iter().all(|m| m.version != *v)) {
        anyhow::bail!("the database was migrated by a newer movie-bag (migration {unknown} is unknown here)");
    }
    for (index, (version, success, checksum)) in applied.drain(..).enumerate() {
        let migration = &MIGRATIONS[index];
        anyhow::ensure!(migration.version == version, "migration {} was never applied", migration.version);
        anyhow::ensure!(success, "migration {version} failed half-way");
        anyhow::ensure!(
            checksum == Sha384::digest(migration.sql.as_bytes()).to_vec(),
            "migration {version} is not the one movie-bag applies"
        );
    }
    Ok(connection.query_row("SELECT coalesce(max(version), 0) FROM _sqlx_migrations", [], |row| row.get(0))?)
}

fn apply(connection: &mut Connection, migration: &Migration, checksum: &[u8]) -> anyhow::Result<()> {
    let started = Instant::now();
    let transaction = connection.transaction()?;
    transaction.execute_batch(migration.sql)?;
    let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    transaction.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?, ?, TRUE, ?, ?)",
        params![migration.version, migration.description, checksum, nanos],
    )?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(connection: &Connection) -> Vec<String> {
        let mut statement =
            connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        statement.query_map([], |row| row.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn every_migration_lists_its_own_file() {
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
        assert_eq!(files, MIGRATIONS.len(), "a file in migrations/sqlite is missing from MIGRATIONS");
        // Increasing, each once. Not necessarily contiguous: two branches may add migrations
        // at once, each with the number it will have once both are merged.
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "{} before {}", pair[0].version, pair[1].version);
        }
        assert_eq!(MIGRATIONS[0].version, 1);
    }

    #[test]
    fn a_catalogue_from_before_the_record_fields_keeps_every_movie_its_tags_search_and_gets_its_counts() {
        let mut db = Connection::open_in_memory().unwrap();
        db.pragma_update(None, "foreign_keys", true).unwrap();
        run_to(&mut db, 5).unwrap();
        db.execute_batch(
            "INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
                 VALUES ('u1', 'a@b.c', 'a@b.c', 'x', 'user', 1);
             INSERT INTO movies (id, name, casts, genres, added_by, created_at, updated_at) VALUES
                 ('m1', 'Heat', '[\"Al Pacino\",\"Robert De Niro\"]', '[\"Crime\",\"Drama\"]', 'u1', 10, 10),
                 ('m2', 'Serpico', '[\"Al Pacino\"]', '[\"drama\"]', 'u1', 20, 20);",
        )
        .unwrap();
        run(&mut db).unwrap();
        let count = |sql: &str| db.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT count(*) FROM movies WHERE year IS NULL AND directors = '[]'"), 2);
        assert_eq!(count("SELECT count(*) FROM movie_genres WHERE genre = 'drama'"), 2);
        assert_eq!(count("SELECT count(*) FROM movie_casts WHERE cast_name = 'al pacino'"), 2);
        assert_eq!(count("SELECT count(*) FROM movie_names WHERE movie_names MATCH '\"erpic\"'"), 1);
        assert_eq!(count("SELECT movies FROM catalogue_entries WHERE kind = 'genre' AND entry = 'drama'"), 2);
        assert_eq!(count("SELECT movies FROM catalogue_entries WHERE kind = 'cast' AND entry = 'al pacino'"), 2);
        assert_eq!(count("SELECT sum(movies) FROM movie_counts WHERE scope = ''"), 2);
        assert_eq!(count("SELECT sum(movies) FROM movie_counts WHERE scope = 'u1'"), 2);
        assert_eq!(count("SELECT count(*) FROM catalogue_entry_words WHERE word = 'pacino'"), 1);
        let label: String =
            db.query_row("SELECT label FROM catalogue_entries WHERE entry = 'drama'", [], |row| row.get(0)).unwrap();
        assert_eq!(label, "Drama", "the capitalised spelling is kept");
        // The triggers work on the rebuilt table: a delete takes the movie out of every index.
        db.execute("DELETE FROM movies WHERE id = 'm1'", []).unwrap();
        assert_eq!(count("SELECT count(*) FROM movie_genres"), 1);
        assert_eq!(count("SELECT movies FROM catalogue_entries WHERE entry = 'drama'"), 1);
        assert_eq!(count("SELECT count(*) FROM catalogue_entries WHERE entry = 'crime'"), 0);
        assert_eq!(count("SELECT count(*) FROM movie_names WHERE movie_names MATCH '\"heat\"'"), 0);
        assert_eq!(count("SELECT sum(movies) FROM movie_counts WHERE scope = ''"), 1);
    }

    #[test]
    fn accounts_from_before_email_verification_count_as_verified() {
        let mut db = Connection::open_in_memory().unwrap();
        run_to(&mut db, 10).unwrap();
        db.execute_batch(
            "INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
                 VALUES ('u1', 'a@b.co', 'a@b.co', 'x', 'user', 1)",
        )
        .unwrap();
        run_to(&mut db, 11).unwrap();
        let verified: bool =
            db.query_row("SELECT email_verified FROM users WHERE id = 'u1'", [], |r| r.get(0)).unwrap();
        assert!(verified, "an account that exists before the upgrade is not locked out of writing");
    }

    #[test]
    fn a_fresh_database_gets_every_migration_once() {
        let mut connection = Connection::open_in_memory().unwrap();
        run(&mut connection).unwrap();
        run(&mut connection).unwrap();
        let count: i64 = connection.query_row("SELECT count(*) FROM _sqlx_migrations", [], |r| r.get(0)).unwrap();
        assert_eq!(count, MIGRATIONS.len() as i64);
        let tables = tables(&connection);
        for expected in ["users", "sessions", "movies", "outbox", "catalogue_version"] {
            assert!(tables.iter().any(|t| t == expected), "{expected} missing from {tables:?}");
        }
    }

    #[test]
    fn a_changed_or_unknown_migration_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        run(&mut connection).unwrap();
        connection.execute("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 2", []).unwrap();
        assert!(run(&mut connection).unwrap_err().to_string().contains("changed after it was applied"));
        connection.execute("DELETE FROM _sqlx_migrations WHERE version = 2", []).unwrap();
        connection
            .execute("INSERT INTO _sqlx_migrations VALUES (99, 'future', CURRENT_TIMESTAMP, TRUE, x'00', 0)", [])
            .unwrap();
        assert!(run(&mut connection).unwrap_err().to_string().contains("newer movie-bag"));
    }
}
