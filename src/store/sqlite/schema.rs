//! Whether a database's schema is exactly the one movie-bag's migrations make, for `movie-bag
//! restore`: a backup is a whole database, schema included, and a trigger, view or table
//! planted in one (`AFTER INSERT ON users ... SET role = 'admin'`) would act on every later
//! write once restored. Every object `sqlite_master` lists (tables, indexes, triggers, views,
//! with their SQL) is compared with those of a fresh in-memory database migrated to the same
//! version; whitespace is normalised, since the SQL is kept as it was written (the bookkeeping
//! table's text differs between sqlx, which migrated databases once, and this runner).

use std::collections::BTreeMap;

use anyhow::Context;
use rusqlite::Connection;

use super::migrate;

/// One object of a schema: (type, name) -> (table it belongs to, normalised SQL).
type Schema = BTreeMap<(String, String), (String, Option<String>)>;

/// How many differences an error lists at most.
const SHOWN: usize = 10;

/// Checks that `connection`'s database has exactly the schema movie-bag's migrations make for
/// the version it was migrated to; the error names each object unexpected, missing or changed.
pub fn check_migrated_schema(connection: &Connection) -> anyhow::Result<()> {
    let version = migrate::applied_version(connection)?;
    let mut expected_db = Connection::open_in_memory()?;
    migrate::run_to(&mut expected_db, version).context("cannot build the expected schema")?;
    let differences = differences(&schema_of(connection)?, &schema_of(&expected_db)?);
    if differences.is_empty() {
        return Ok(());
    }
    let more = differences.len().saturating_sub(SHOWN);
    let mut listed = differences.into_iter().take(SHOWN).collect::<Vec<_>>().join("; ");
    if more > 0 {
        listed.push_str(&format!("; and {more} more"));
    }
    anyhow::bail!("its schema is not the one movie-bag's migrations make for version {version}: {listed}")
}

fn schema_of(connection: &Connection) -> rusqlite::Result<Schema> {
    // ANALYZE's statistics tables (sqlite_stat1, sqlite_stat4) come and go with `ANALYZE` and
    // only steer the query planner: they are not part of what the migrations make.
    let mut statement = connection.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\'",
    )?;
    statement
        .query_map([], |row| {
            let sql: Option<String> = row.get(3)?;
            Ok(((row.get(0)?, row.get(1)?), (row.get(2)?, sql.as_deref().map(normalised))))
        })?
        .collect()
}

/// `sql` with every run of whitespace made one space.
fn normalised(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What `found` has that `expected` does not, lacks, or has otherwise, in words.
fn differences(found: &Schema, expected: &Schema) -> Vec<String> {
    let mut differences = Vec::new();
    for ((kind, name), (table, sql)) in found {
        match expected.get(&(kind.clone(), name.clone())) {
            None => differences.push(format!("unexpected {kind} `{name}` (on `{table}`)")),
            Some(wanted) if wanted != &(table.clone(), sql.clone()) => {
                differences.push(format!("{kind} `{name}` differs from what the migrations make"));
            }
            Some(_) => {}
        }
    }
    for (kind, name) in expected.keys().filter(|key| !found.contains_key(*key)) {
        differences.push(format!("missing {kind} `{name}`"));
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrated() -> Connection {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate::run(&mut connection).unwrap();
        connection
    }

    fn refusal(connection: &Connection) -> String {
        check_migrated_schema(connection).unwrap_err().to_string()
    }

    #[test]
    fn a_database_migrated_to_any_version_has_that_versions_schema() {
        for version in migrate::versions() {
            let mut connection = Connection::open_in_memory().unwrap();
            migrate::run_to(&mut connection, version).unwrap();
            assert_eq!(migrate::applied_version(&connection).unwrap(), version);
            check_migrated_schema(&connection).unwrap();
        }
        let analyzed = migrated();
        analyzed.execute_batch("ANALYZE").unwrap();
        check_migrated_schema(&analyzed).expect("ANALYZE's statistics are no difference");
    }

    #[test]
    fn bookkeeping_made_by_sqlx_with_other_whitespace_is_the_same_schema() {
        let mut connection = Connection::open_in_memory().unwrap();
        // sqlx's own text for the table, as databases it migrated have it.
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    \
                 installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    success BOOLEAN NOT NULL,\n    \
                 checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n);",
            )
            .unwrap();
        migrate::run(&mut connection).unwrap();
        check_migrated_schema(&connection).unwrap();
    }

    #[test]
    fn each_object_planted_dropped_or_changed_is_named() {
        let planted = migrated();
        planted
            .execute_batch(
                "CREATE TRIGGER promote AFTER INSERT ON users BEGIN UPDATE users SET role = 'admin' WHERE id = NEW.id; END;
                 CREATE VIEW everyone AS SELECT * FROM users;
                 CREATE TABLE extra (x);
                 CREATE INDEX users_by_role ON users (role);
                 DROP INDEX movies_by_owner;
                 DROP TRIGGER catalogue_version_on_insert;
                 CREATE TRIGGER catalogue_version_on_insert AFTER INSERT ON movies BEGIN SELECT 1; END;",
            )
            .unwrap();
        let refusal = refusal(&planted);
        for named in [
            "unexpected trigger `promote` (on `users`)",
            "unexpected view `everyone`",
            "unexpected table `extra`",
            "unexpected index `users_by_role`",
            "missing index `movies_by_owner`",
            "trigger `catalogue_version_on_insert` differs",
        ] {
            assert!(refusal.contains(named), "{named}: {refusal}");
        }
    }

    #[test]
    fn a_migration_history_this_binary_would_not_continue_is_refused() {
        let changed = migrated();
        changed.execute("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1", []).unwrap();
        assert!(refusal(&changed).contains("migration 1 is not the one"), "{}", refusal(&changed));
        let gap = migrated();
        gap.execute("DELETE FROM _sqlx_migrations WHERE version = 1", []).unwrap();
        assert!(refusal(&gap).contains("migration 1 was never applied"), "{}", refusal(&gap));
        let failed = migrated();
        failed.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 2", []).unwrap();
        assert!(refusal(&failed).contains("migration 2 failed"), "{}", refusal(&failed));
    }
}
