//! What the benchmarks share: a fresh database for each run, removed after it.

use sqlx::Connection as _;

/// A scratch database: an SQLite file in a directory of its own, or a PostgreSQL database
/// created on the server `MOVIEBAG_BENCH_POSTGRES_URL` names.
pub enum Database {
    Sqlite(std::path::PathBuf),
    Postgres { admin: String, name: String },
}

impl Database {
    /// A new database and its URL; `label` names the bench in the directory or database name.
    pub async fn create(postgres_admin: Option<&str>, label: &str) -> (Self, String) {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match postgres_admin {
            None => {
                let dir = std::env::temp_dir().join(format!("movie-bag-{label}-{unique}"));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("bench.db").display());
                (Self::Sqlite(dir), url)
            }
            Some(admin) => {
                let name = format!("moviebag_{label}_{unique}");
                let mut conn = sqlx::PgConnection::connect(admin).await.expect("PostgreSQL answers");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
                let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
                (Self::Postgres { admin: admin.to_owned(), name: name.clone() }, format!("{base}/{name}"))
            }
        }
    }

    /// Where a server started as its own process writes its log (the catalogue bench runs its
    /// server in its own process and has none).
    #[allow(dead_code)]
    pub fn log_path(&self) -> std::path::PathBuf {
        match self {
            Self::Sqlite(dir) => dir.join("server.log"),
            Self::Postgres { name, .. } => std::env::temp_dir().join(format!("{name}.log")),
        }
    }

    /// Removes the database (and a server's log beside it).
    pub async fn drop(self) {
        match self {
            Self::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { admin, name } => {
                let _ = std::fs::remove_file(std::env::temp_dir().join(format!("{name}.log")));
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut conn)
                        .await;
                }
            }
        }
    }
}
