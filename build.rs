//! Embeds `migrations/sqlite/*.sql` in order, so that a new SQLite migration is a new file and
//! nothing else (as `sqlx::migrate!` does for PostgreSQL). Names are `NNNN_description.sql`.
//! Also makes a new PostgreSQL migration file rebuild the crate.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: one compiled script may serve checkouts
    // in different places.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("migrations/sqlite");
    println!("cargo:rerun-if-changed={}", dir.display());
    // `sqlx::migrate!` embeds migrations/postgres, but cannot tell cargo that a new file there
    // must rebuild the crate; this does.
    println!("cargo:rerun-if-changed={}", Path::new(&root).join("migrations/postgres").display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations/sqlite is readable")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for path in files {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 migration name");
        let (version, description) = stem.split_once('_').expect("a migration named NNNN_description.sql");
        let version: i64 = version.parse().expect("a migration whose name starts with its number");
        let description = description.replace('_', " ");
        writeln!(
            list,
            "    Migration {{ version: {version}, description: {description:?}, sql: include_str!({:?}) }},",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    list.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("sqlite_migrations.rs");
    std::fs::write(out, list).expect("OUT_DIR is writable");
}
