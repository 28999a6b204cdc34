//! What failed or killed runs leave behind (scratch folders, PostgreSQL databases) is swept at
//! the start of a run, by age, so a suite running alongside keeps its own.

use std::time::{Duration, SystemTime};

use sqlx::Connection as _;

use crate::helpers::{sweep_databases, sweep_scratch};

const HOUR: Duration = Duration::from_secs(3600);

fn age(path: &std::path::Path, by: Duration) {
    std::fs::File::open(path).unwrap().set_modified(SystemTime::now() - by).unwrap();
}

#[test]
fn scratch_folders_and_files_left_over_an_hour_ago_are_swept_and_newer_or_foreign_ones_kept() {
    let root = std::env::temp_dir().join(format!("sweep-check-{}", uuid::Uuid::new_v4().simple()));
    let old_dir = root.join("movie-bag-test-old");
    let new_dir = root.join("movie-bag-test-new");
    let foreign = root.join("someone-elses-old");
    for dir in [&old_dir, &new_dir, &foreign] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("movie-bag.db"), b"x").unwrap();
    }
    let old_log = root.join("movie-bag-log-old.txt");
    std::fs::write(&old_log, b"log").unwrap();
    for path in [&old_dir, &foreign, &old_log] {
        age(path, 2 * HOUR);
    }
    assert_eq!(sweep_scratch(&root, HOUR), 2);
    assert!(!old_dir.exists() && !old_log.exists(), "left-overs kept");
    assert!(new_dir.exists(), "a folder a running test may be using was removed");
    assert!(foreign.exists(), "a folder not the tests' was removed");
    std::fs::remove_dir_all(&root).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_is_dropped_by_the_sweep_only_once_old_enough() {
    let Some(crate::helpers::Backend::Postgres(admin_url)) = crate::helpers::Backend::postgres() else { return };
    // A name of its own, so the sweep with no age at all touches no other run's database.
    let name = format!("moviebag_sweepcheck_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    assert!(sweep_databases(&admin_url, &name, HOUR).await.is_empty(), "a fresh database was dropped");
    assert!(exists(&mut admin, &name).await);
    // Its creation time is readable: with no minimum age it counts as left behind.
    assert_eq!(sweep_databases(&admin_url, &name, Duration::ZERO).await, vec![name.clone()]);
    assert!(!exists(&mut admin, &name).await, "the old database is still there");
}

async fn exists(admin: &mut sqlx::PgConnection, name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(admin)
        .await
        .unwrap()
}
