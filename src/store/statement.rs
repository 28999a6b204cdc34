//! A statement written once for both databases.
//!
//! Statements are written with PostgreSQL's numbered parameters (`$1`, `$2`, ...). SQLite reads
//! `?1`, `?2`, ... instead (it takes `$1` for a *named* parameter, numbered by first appearance,
//! which would bind silently wrong), so its text is derived once, on first use, and kept.
//! Every [`Sql`] is listed in its module's `ALL`, and `tests::every_statement_prepares` prepares
//! each one on both backends against a freshly migrated database.

use std::sync::OnceLock;

/// One SQL statement and its SQLite spelling.
pub struct Sql {
    text: &'static str,
    sqlite: OnceLock<String>,
}

impl Sql {
    pub const fn new(text: &'static str) -> Self {
        Self { text, sqlite: OnceLock::new() }
    }

    /// The statement as PostgreSQL reads it.
    pub fn postgres(&self) -> &'static str {
        self.text
    }

    /// The statement as SQLite reads it: `$N` turned into `?N`.
    pub fn sqlite(&self) -> &str {
        self.sqlite.get_or_init(|| numbered_for_sqlite(self.text))
    }
}

impl std::fmt::Debug for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text)
    }
}

/// `$N` outside string literals becomes `?N`; nothing else changes.
pub(crate) fn numbered_for_sqlite(postgres: &str) -> String {
    let mut out = String::with_capacity(postgres.len());
    let mut in_literal = false;
    let mut chars = postgres.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => in_literal = !in_literal,
            '$' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::numbered_for_sqlite;

    #[test]
    fn numbered_parameters_become_sqlite_numbered_parameters_outside_literals() {
        assert_eq!(numbered_for_sqlite("SELECT $1, '$2', $10 WHERE a = $2"), "SELECT ?1, '$2', ?10 WHERE a = ?2");
    }
}

#[cfg(test)]
mod every_statement_is_listed {
    //! Statements reach the prepare-every-statement tests only through the lists: SQL handed to
    //! the drivers as a bare literal, or an `Sql` missing from its file's list, would escape them.

    use std::path::Path;

    /// Files whose SQL is not the aggregates': transaction control (`BEGIN IMMEDIATE`, `COMMIT`,
    /// savepoints) and the migrations' bookkeeping, which every store opening runs first.
    const UNLISTED: [&str; 5] =
        ["tests.rs", "statement.rs", "sqlite/engine.rs", "sqlite/migrate.rs", "sqlite/schema.rs"];

    fn store_sources(dir: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("src/store is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                store_sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") && !UNLISTED.iter().any(|file| path.ends_with(file)) {
                found.push((path.display().to_string(), std::fs::read_to_string(&path).expect("a source file")));
            }
        }
    }

    #[test]
    fn no_sql_reaches_a_driver_as_a_bare_literal_and_every_sql_is_in_its_files_list() {
        let mut sources = Vec::new();
        store_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store"), &mut sources);
        // Trivial statements the prepare tests need not see: a ping, ANALYZE, PRAGMAs.
        let allowed = ["(\"SELECT 1\")", "(\"ANALYZE\")"];
        for (path, text) in &sources {
            for call in ["prepare_cached(\"", "prepare(\"", "query(\"", "query_scalar(\"", "query_as(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len() - 2..];
                    assert!(
                        allowed.iter().any(|ok| rest.starts_with(ok)),
                        "{path}: SQL handed to the driver as a literal; declare it as an `Sql` and list it"
                    );
                }
            }
            for (at, _) in text.match_indices(": Sql = Sql::new(") {
                let name = text[..at].rsplit(' ').next().unwrap_or_default();
                let listed = text.contains(&format!("&{name},")) || text.contains(&format!("&{name}]"));
                assert!(listed || name == "RESERVE_LOGIN", "{path}: {name} is in no statement list");
            }
        }
    }
}
