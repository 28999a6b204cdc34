//! SQLite implementation of [`Store`]: the embedded default.
//!
//! Writes go through a pool of exactly one connection (SQLite serialises writers anyway, and one
//! writer means no SQLITE_BUSY between our own connections) and write transactions start with
//! `BEGIN IMMEDIATE`, so a second process on the same file waits on `busy_timeout` instead of
//! failing when a deferred transaction tries to upgrade. Reads use a separate read-only pool.
//! WAL with `synchronous=NORMAL`: a process crash loses nothing committed.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{
    Credentials, ListingPlan, MOVIE_COLUMNS_OF_M, MovieQuery, NewSession, RefreshOutcome, SEED_CASTS, SEED_GENRES,
    SEED_ID_PREFIX, SEED_WORDS, SeedBatch, SessionOwner, Store, StoreError, StoreResult, escape_like,
};
use crate::config::DatabaseUrl;
use crate::domain::Role;
use crate::metrics::PoolUse;
use crate::model::{Movie, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

const USER_COLUMNS: &str = "id, email, role, created_at";
const MOVIE_COLUMNS: &str = "id, name, casts, genres, added_by, created_at, updated_at";

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        let base = match url.sqlite_path() {
            Some(path) => SqliteConnectOptions::new().filename(&path),
            None => SqliteConnectOptions::from_str(url.as_str())?,
        };
        let base = base
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .statement_cache_capacity(256)
            // Room for a whole page (1,001 rows at most): the connection's thread hands every row
            // over without waiting for the request task to drain the channel.
            .row_buffer_size(1024);
        let shown = url.sqlite_path().map(|p| p.display().to_string()).unwrap_or_else(|| url.as_str().to_owned());
        // Opening a fresh file switches it to WAL, which needs an exclusive lock that does not
        // wait on busy_timeout, and sqlx takes no lock for SQLite migrations: processes starting
        // together on one fresh file would fail with "database is locked" or race the
        // migrations. A file lock beside the database serialises opening and migrating.
        let startup_lock = match url.sqlite_path() {
            Some(path) => Some(
                lock_beside(&path, "migrate-lock")
                    .await
                    .with_context(|| format!("cannot open the SQLite database {shown}"))?,
            ),
            None => None,
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true))
            .await
            .with_context(|| format!("cannot open the SQLite database {shown}"))?;
        MIGRATOR.run(&writer).await.with_context(|| format!("cannot apply migrations to {shown}"))?;
        drop(startup_lock);
        let reader_connections = std::thread::available_parallelism().map_or(2, |n| n.get() as u32 * 2);
        let reader = SqlitePoolOptions::new()
            .max_connections(reader_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await
            .with_context(|| format!("cannot open the SQLite database {shown} for reading"))?;
        Ok(Self { writer, reader })
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn user_where(&self, condition: &str, value: &str) -> StoreResult<Option<Credentials>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE {condition}");
        let row = sqlx::query(&sql).bind(value).fetch_optional(&self.reader).await?;
        row.map(|row| Ok(Credentials { user: user_from_row(&row)?, password_hash: row.try_get("password_hash")? }))
            .transpose()
    }
}

/// An exclusive lock on `<database>.<suffix>`, held until the returned file is dropped.
async fn lock_beside(database: &std::path::Path, suffix: &str) -> anyhow::Result<std::fs::File> {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    let path = database.with_file_name(name);
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    })
    .await?
}

/// Rows of the newest-first walk examined with a plain substring test before falling back to
/// the trigram index (see `list_movies`).
const TRIGRAM_WINDOW: u32 = 5000;

/// How a listing applies the name filter `q`.
#[derive(Clone, Copy)]
enum NameMatch {
    /// No name filter.
    Any,
    /// `LIKE` on every row of the walk (fragments shorter than a trigram).
    Scan,
    /// `LIKE` on the first N rows of the walk only.
    Window(u32),
    /// The FTS5 trigram index.
    Trigram,
}

impl SqliteStore {
    async fn fetch_listing(&self, query: &MovieQuery, name_match: NameMatch) -> StoreResult<Vec<Movie>> {
        let plan = ListingPlan::for_query(query);
        let mut sql = QueryBuilder::<Sqlite>::new("");
        if let NameMatch::Window(_) = name_match {
            sql.push("SELECT * FROM (");
        }
        sql.push(format_args!(
            "SELECT {MOVIE_COLUMNS_OF_M}, {} AS key_at, {} AS key_id FROM {} WHERE TRUE",
            plan.order_at, plan.order_id, plan.from
        ));
        if let Some(value) = plan.driving_value {
            sql.push(format_args!(" AND {} = lower(", plan.driving_column)).push_bind(value.to_owned()).push(")");
        }
        if let Some(cursor) = &query.after {
            sql.push(format_args!(" AND ({}, {}) < (", plan.order_at, plan.order_id));
            sql.push_bind(micros(cursor.created_at)).push(", ").push_bind(cursor.id.clone()).push(")");
        }
        if let Some(cast) = plan.cast_check {
            sql.push(" AND EXISTS (SELECT 1 FROM movie_casts c WHERE c.cast_name = lower(")
                .push_bind(cast.to_owned())
                .push(") AND c.created_at = m.created_at AND c.movie_id = m.id)");
        }
        if let Some(owner) = &query.added_by {
            sql.push(" AND m.added_by = ").push_bind(owner.clone());
        }
        let fragment = query.name_contains.as_deref().unwrap_or_default();
        let like_pattern = format!("%{}%", escape_like(&fragment.to_lowercase()));
        match name_match {
            NameMatch::Any | NameMatch::Window(_) => {}
            NameMatch::Scan => {
                sql.push(" AND lower(m.name) LIKE ").push_bind(like_pattern.clone()).push(" ESCAPE '\\'");
            }
            NameMatch::Trigram => {
                // A quoted FTS5 phrase matches the characters literally.
                let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
                sql.push(" AND m.rowid IN (SELECT rowid FROM movie_names WHERE movie_names MATCH ")
                    .push_bind(phrase)
                    .push(")");
            }
        }
        sql.push(format_args!(" ORDER BY {} DESC, {} DESC LIMIT ", plan.order_at, plan.order_id));
        match name_match {
            NameMatch::Window(window) => {
                sql.push_bind(i64::from(window));
                sql.push(") WHERE lower(name) LIKE ").push_bind(like_pattern).push(" ESCAPE '\\'");
                sql.push(" ORDER BY key_at DESC, key_id DESC LIMIT ").push_bind(i64::from(query.limit));
            }
            _ => {
                sql.push_bind(i64::from(query.limit));
            }
        }
        let rows = sql.build().fetch_all(&self.reader).await?;
        rows.iter().map(movie_from_row).collect()
    }
}

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn time_from(row: &SqliteRow, column: &str) -> StoreResult<DateTime<Utc>> {
    let value: i64 = row.try_get(column)?;
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("{column} out of range: {value}")))
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).map_err(|e| StoreError::Other(anyhow::anyhow!("role {role:?} {e}")))?,
        created_at: time_from(row, "created_at")?,
    })
}

fn movie_from_row(row: &SqliteRow) -> StoreResult<Movie> {
    let casts: String = row.try_get("casts")?;
    let genres: String = row.try_get("genres")?;
    let decode = |text: &str| serde_json::from_str::<Vec<String>>(text).map_err(|e| StoreError::Other(e.into()));
    Ok(Movie {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        casts: decode(&casts)?,
        genres: decode(&genres)?,
        added_by: row.try_get("added_by")?,
        created_at: time_from(row, "created_at")?,
        updated_at: time_from(row, "updated_at")?,
    })
}

fn json_list(values: &[String]) -> StoreResult<String> {
    serde_json::to_string(values).map_err(|e| StoreError::Other(e.into()))
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    fn pool_use(&self) -> PoolUse {
        let [writer, reader] = [&self.writer, &self.reader].map(|pool| {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            (pool.size().saturating_sub(idle), idle, pool.options().get_max_connections())
        });
        PoolUse { in_use: writer.0 + reader.0, idle: writer.1 + reader.1, max: writer.2 + reader.2 }
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn insert_user(&self, user: &User, password_hash: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(user.email.to_lowercase())
        .bind(password_hash)
        .bind(user.role.as_str())
        .bind(micros(user.created_at))
        .execute(&self.writer)
        .await
        .map_err(|e| StoreError::from_sqlx_unique(e, "email"))?;
        Ok(())
    }

    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>> {
        self.user_where("email_lower = ?", &email.to_lowercase()).await
    }

    async fn credentials_by_id(&self, user_id: &str) -> StoreResult<Option<Credentials>> {
        self.user_where("id = ?", user_id).await
    }

    async fn user_by_id(&self, user_id: &str) -> StoreResult<Option<User>> {
        Ok(self.user_where("id = ?", user_id).await?.map(|c| c.user))
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        Ok(self.credentials_by_email(email).await?.map(|c| c.user))
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_role(&self, user_id: &str, role: Role) -> StoreResult<Option<User>> {
        let sql = format!("UPDATE users SET role = ? WHERE id = ? RETURNING {USER_COLUMNS}");
        let row = sqlx::query(&sql).bind(role.as_str()).bind(user_id).fetch_optional(&self.writer).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_user(&self, user_id: &str) -> StoreResult<bool> {
        // Foreign keys cascade to sessions, tokens and movies.
        let done = sqlx::query("DELETE FROM users WHERE id = ?").bind(user_id).execute(&self.writer).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password(&self, user_id: &str, password_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(&session.id)
            .bind(&session.user_id)
            .bind(micros(session.created_at))
            .bind(micros(session.expires_at))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)")
            .bind(&session.refresh_token_hash)
            .bind(&session.id)
            .bind(micros(session.created_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn live_session(&self, session_id: &str, now: DateTime<Utc>) -> StoreResult<Option<SessionOwner>> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, u.id, u.email, u.role, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
        )
        .bind(session_id)
        .bind(micros(now))
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| Ok(SessionOwner { session_id: row.try_get("session_id")?, user: user_from_row(&row)? }))
            .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.begin_write().await?;
        let token = sqlx::query(
            "SELECT rt.session_id, rt.rotated_at, s.user_id, s.revoked_at, s.expires_at
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
             WHERE rt.token_hash = ?",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(token) = token else { return Ok(RefreshOutcome::Invalid) };
        let session_id: String = token.try_get("session_id")?;
        let rotated_at: Option<i64> = token.try_get("rotated_at")?;
        let revoked_at: Option<i64> = token.try_get("revoked_at")?;
        let expires_at: i64 = token.try_get("expires_at")?;
        if revoked_at.is_some() || expires_at <= micros(now) {
            return Ok(RefreshOutcome::Invalid);
        }
        if rotated_at.is_some() {
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ?")
                .bind(micros(now))
                .bind(&session_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused);
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ?")
            .bind(micros(now))
            .bind(old_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)")
            .bind(new_hash)
            .bind(&session_id)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated { session_id, user_id: token.try_get("user_id")? })
    }

    async fn revoke_session(&self, session_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(session_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn revoke_user_sessions(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn replace_reset_token(
        &self,
        user_id: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM reset_tokens WHERE user_id = ?").bind(user_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user_id)
            .bind(micros(now))
            .bind(micros(expires_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_reset_token(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.begin_write().await?;
        let user_id: Option<String> = sqlx::query_scalar(
            "UPDATE reset_tokens SET used_at = ?
             WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
             RETURNING user_id",
        )
        .bind(micros(now))
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else { return Ok(None) };
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }

    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO movies (id, name, casts, genres, added_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&movie.id)
        .bind(&movie.name)
        .bind(json_list(&movie.casts)?)
        .bind(json_list(&movie.genres)?)
        .bind(&movie.added_by)
        .bind(micros(movie.created_at))
        .bind(micros(movie.updated_at))
        .execute(&self.writer)
        .await
        .map_err(|e| StoreError::from_sqlx_unique(e, "name"))?;
        Ok(())
    }

    async fn movie(&self, movie_id: &str) -> StoreResult<Option<Movie>> {
        let sql = format!("SELECT {MOVIE_COLUMNS} FROM movies WHERE id = ?");
        let row = sqlx::query(&sql).bind(movie_id).fetch_optional(&self.reader).await?;
        row.as_ref().map(movie_from_row).transpose()
    }

    async fn update_movie(&self, movie: &Movie) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE movies SET name = ?, casts = ?, genres = ?, updated_at = ? WHERE id = ?")
            .bind(&movie.name)
            .bind(json_list(&movie.casts)?)
            .bind(json_list(&movie.genres)?)
            .bind(micros(movie.updated_at))
            .bind(&movie.id)
            .execute(&self.writer)
            .await
            .map_err(|e| StoreError::from_sqlx_unique(e, "name"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_movie(&self, movie_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM movies WHERE id = ?").bind(movie_id).execute(&self.writer).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<Movie>> {
        let name_match = match &query.name_contains {
            None => NameMatch::Any,
            Some(fragment) if fragment.chars().count() < 3 => NameMatch::Scan,
            Some(_) => {
                // A common fragment's newest matches sit near the front of the walk, where a
                // plain substring test finds them at once; a rare one's do not, and the trigram
                // index finds them instead. Try the cheap window first.
                let window = self.fetch_listing(query, NameMatch::Window(TRIGRAM_WINDOW)).await?;
                if window.len() == query.limit as usize {
                    return Ok(window);
                }
                NameMatch::Trigram
            }
        };
        self.fetch_listing(query, name_match).await
    }

    async fn catalogue_version(&self) -> StoreResult<Option<i64>> {
        let version: i64 =
            sqlx::query_scalar("SELECT version FROM catalogue_version WHERE id = 1").fetch_one(&self.reader).await?;
        Ok(Some(version))
    }

    async fn movie_ids_of(&self, user_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM movies WHERE added_by = ? ORDER BY created_at DESC, id DESC")
            .bind(user_id)
            .fetch_all(&self.reader)
            .await?)
    }

    async fn count_users_other_than(&self, email: &str) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email_lower <> lower(?)")
            .bind(email)
            .fetch_one(&self.reader)
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn count_seeded_movies(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM movies WHERE id >= ? AND id < ?")
            .bind(SEED_ID_PREFIX)
            .bind(format!("{SEED_ID_PREFIX}g"))
            .fetch_one(&self.reader)
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn seed_movies(&self, batch: &SeedBatch) -> StoreResult<()> {
        let words = json_list(&SEED_WORDS.map(str::to_owned))?;
        let genres = json_list(&SEED_GENRES.map(str::to_owned))?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2)
             INSERT INTO movies (id, name, casts, genres, added_by, created_at, updated_at)
             SELECT ?3 || printf('%012x', i),
                    json_extract(?4, '$[' || (i % 64) || ']') || ' ' ||
                        json_extract(?4, '$[' || ((i / 64) % 64) || ']') || ' ' || i,
                    json_array('Actor ' || (i % ?7), 'Actor ' || ((i * 7 + 13) % ?7)),
                    json_array(json_extract(?5, '$[' || (i % 20) || ']'),
                               json_extract(?5, '$[' || ((i / 20 + 7) % 20) || ']')),
                    ?6, ?8 + i * 1000, ?8 + i * 1000
             FROM seq",
        )
        .bind(i64::try_from(batch.first).map_err(|e| StoreError::Other(e.into()))?)
        .bind(i64::try_from(batch.last).map_err(|e| StoreError::Other(e.into()))?)
        .bind(SEED_ID_PREFIX)
        .bind(words)
        .bind(genres)
        .bind(&batch.owner_id)
        .bind(SEED_CASTS as i64)
        .bind(micros(batch.oldest))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx_unique(e, "seeded movie"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.writer).await?;
        Ok(())
    }
}
