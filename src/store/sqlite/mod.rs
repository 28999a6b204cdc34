//! SQLite implementation of [`Store`]: the embedded default.
//!
//! Queries run on rusqlite connections driven by [`engine`]: lookups on the request's own thread,
//! scans on the blocking pool, writes on one writer thread that commits queued writes together.
//! [`migrate`] applies the migrations with the same driver, under a file lock so processes
//! starting together on one fresh file take turns. WAL with `synchronous=NORMAL`:
//! a process crash loses nothing committed.

mod engine;
mod import;
mod limits;
mod migrate;
mod schema;

use std::sync::{Arc, LazyLock};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use self::engine::{Engine, unique_as};
use super::limits::{CHECK_SUCCEEDED, FORGET_FAILURES, for_sqlite};
use super::listing::Listings;
use super::movie_columns::{self, ColumnSource, SELECT_LIST, SELECT_LIST_OF_M, movie_from};
use super::page_cache::MoviePage;
use super::{
    Credentials, GuardedWrite, ListingPlan, MovieChange, MovieGuard, MovieQuery, NewSession, RefreshTokenRecord,
    Rotation, SEED_CASTS, SEED_GENRES, SEED_ID_PREFIX, SEED_WORDS, SeedBatch, SessionOwner, Store, StoreError,
    StoreResult, UnrevokedSession, escape_like, refusal,
};
use super::{
    LAST_ADMIN, MailCounts, MailDraft, MailStore, MovieStore, NewUser, QueuedMail, SeedStore, SessionStore, UserStore,
};
use crate::auth::secret_token::TokenHash;
use crate::config::DatabaseUrl;
use crate::domain::{Email, MovieId, Role, SessionId, UserId};
use crate::metrics::PoolUse;
use crate::model::{Movie, User};

const USER_COLUMNS: &str = "id, email, role, created_at";

/// Inserts a movie: every column of [`movie_columns::COLUMNS`], in order.
static INSERT_MOVIE: LazyLock<String> = LazyLock::new(|| {
    let placeholders = vec!["?"; movie_columns::COLUMNS.len()].join(", ");
    format!("INSERT INTO movies ({}) VALUES ({placeholders})", *SELECT_LIST)
});

/// A guarded replace or patch: the changed columns' values (`NULL` keeps one), then the new
/// `updated_at`, the id, the owner the guard requires (or `NULL`) and the version it requires (or
/// `NULL`). Both conditions sit in the statement, so nothing slips in between check and write.
static UPDATE_MOVIE: LazyLock<String> = LazyLock::new(|| {
    let n = movie_columns::CHANGEABLE.len();
    let (at, id, owner, since) = (n + 1, n + 2, n + 3, n + 4);
    format!(
        "UPDATE movies SET {}, updated_at = max(?{at}, updated_at + 1)
         WHERE id = ?{id} AND (?{owner} IS NULL OR added_by = ?{owner}) AND (?{since} IS NULL OR updated_at = ?{since})
         RETURNING {}",
        movie_columns::set_changed(|i| format!("?{i}")),
        *SELECT_LIST
    )
});

pub struct SqliteStore {
    engine: Engine,
    /// Listing pages, cached while the catalogue version is unchanged.
    listings: Listings,
    /// A shared lock on [`IN_USE_LOCK`] beside the database, for as long as this store lives.
    _in_use: std::fs::File,
}

/// The newest schema version this binary migrates an SQLite database to.
pub const SQLITE_SCHEMA_VERSION: i64 = migrate::LATEST_VERSION;

pub use schema::check_migrated_schema;

/// The lock file every process using the database holds shared (`<db>.in-use`);
/// `movie-bag restore` takes it exclusively, so it cannot replace a database in use.
pub const IN_USE_LOCK: &str = "in-use";

#[derive(Clone, Copy)]
pub enum LockKind {
    /// Wait for it; many may hold it.
    Shared,
    /// Wait for it; one holder.
    Exclusive,
    /// Take it alone now, or fail.
    ExclusiveNow,
}

impl SqliteStore {
    pub async fn connect(url: &DatabaseUrl, limits: crate::store::StoreLimits) -> anyhow::Result<Self> {
        // Every connection must see the same database, which an in-memory one cannot offer.
        let path = url.sqlite_path().context("movie-bag needs an SQLite file: use DATABASE_URL=sqlite://path")?;
        let shown = path.display().to_string();
        // Opening a fresh file switches it to WAL, which needs an exclusive lock that does not
        // wait on busy_timeout: processes starting together on one fresh file would fail with
        // "database is locked" or race the migrations. A file lock beside the database
        // serialises opening and migrating.
        let startup_lock = lock_beside(&path, "migrate-lock", LockKind::Exclusive)
            .await
            .with_context(|| format!("cannot open the SQLite database {shown}"))?;
        create_private(&path).with_context(|| format!("cannot create the SQLite database {shown}"))?;
        let migrated_path = path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut connection = Connection::open(&migrated_path)?;
            connection.busy_timeout(std::time::Duration::from_secs(10))?;
            // WAL persists in the file: set once here, every later connection finds it.
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "foreign_keys", true)?;
            migrate::run(&mut connection)
        })
        .await?
        .with_context(|| format!("cannot apply migrations to {shown}"))?;
        let engine =
            Engine::open(&path, &limits).with_context(|| format!("cannot open the SQLite database {shown}"))?;
        // Held while this process uses the database: `movie-bag restore` refuses while any is.
        let in_use = lock_beside(&path, IN_USE_LOCK, LockKind::Shared)
            .await
            .with_context(|| format!("cannot open the SQLite database {shown}"))?;
        drop(startup_lock);
        Ok(Self { engine, listings: Listings::default(), _in_use: in_use })
    }

    async fn credentials_where(&self, condition: &'static str, value: String) -> StoreResult<Option<Credentials>> {
        self.engine
            .read(move |db| {
                let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE {condition}");
                db.prepare_cached(&sql)?
                    .query_row([&value], |row| {
                        Ok(Credentials { user: user_from_row(row)?, password_hash: row.get("password_hash")? })
                    })
                    .optional()
            })
            .await
    }
}

/// Creates the database file readable and writable by its owner only (0600), like the key file
/// beside it, unless it exists. SQLite gives the `-wal` and `-shm` files the database's mode.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// An exclusive lock on `<database>.<suffix>`, held until the returned file is dropped.
/// Opens `<database>.<suffix>` (0600) and locks it as `kind` says.
pub async fn lock_beside(database: &std::path::Path, suffix: &str, kind: LockKind) -> anyhow::Result<std::fs::File> {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    let path = database.with_file_name(name);
    tokio::task::spawn_blocking(move || {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).with_context(|| format!("cannot open the lock file {}", path.display()))?;
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

/// SQL text with its positional (`?`) parameters, built in step.
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, text: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write as _;
        let _ = write!(self.text, "{text}");
        self
    }

    fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.params.push(value.into());
        self
    }
}

fn listing_sql(query: &MovieQuery, name_match: NameMatch) -> Sql {
    let plan = ListingPlan::for_query(query);
    let mut sql = Sql::default();
    if let NameMatch::Window(_) = name_match {
        sql.push("SELECT * FROM (");
    }
    sql.push(format_args!(
        "SELECT {}, {} AS key_at, {} AS key_id FROM {} WHERE TRUE",
        *SELECT_LIST_OF_M, plan.order_at, plan.order_id, plan.from
    ));
    if let Some(value) = plan.driving_value {
        sql.push(format_args!(" AND {} = lower(", plan.driving_column)).bind(value.to_owned()).push(")");
    }
    if let Some(cursor) = &query.after {
        sql.push(format_args!(" AND ({}, {}) < (", plan.order_at, plan.order_id));
        sql.bind(micros(cursor.created_at)).push(", ").bind(cursor.id.to_string()).push(")");
    }
    if let Some(cast) = plan.cast_check {
        sql.push(" AND EXISTS (SELECT 1 FROM movie_casts c WHERE c.cast_name = lower(")
            .bind(cast.to_owned())
            .push(") AND c.created_at = m.created_at AND c.movie_id = m.id)");
    }
    if let Some(owner) = &query.added_by {
        sql.push(" AND m.added_by = ").bind(owner.to_string());
    }
    let fragment = query.name_contains.as_deref().unwrap_or_default();
    let like_pattern = format!("%{}%", escape_like(&fragment.to_lowercase()));
    match name_match {
        NameMatch::Any | NameMatch::Window(_) => {}
        NameMatch::Scan => {
            sql.push(" AND lower(m.name) LIKE ").bind(like_pattern.clone()).push(" ESCAPE '\\'");
        }
        NameMatch::Trigram => {
            // A quoted FTS5 phrase matches the characters literally.
            let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
            sql.push(" AND m.rowid IN (SELECT rowid FROM movie_names WHERE movie_names MATCH ").bind(phrase).push(")");
        }
    }
    sql.push(format_args!(" ORDER BY {} DESC, {} DESC LIMIT ", plan.order_at, plan.order_id));
    match name_match {
        NameMatch::Window(window) => {
            sql.bind(i64::from(window));
            sql.push(") WHERE lower(name) LIKE ").bind(like_pattern).push(" ESCAPE '\\'");
            sql.push(" ORDER BY key_at DESC, key_id DESC LIMIT ").bind(i64::from(query.limit));
        }
        _ => {
            sql.bind(i64::from(query.limit));
        }
    }
    sql
}

fn fetch_movies(db: &Connection, sql: &Sql) -> rusqlite::Result<Vec<Movie>> {
    let mut statement = db.prepare_cached(&sql.text)?;
    let rows = statement.query_map(params_from_iter(sql.params.iter()), |row| movie_from(row))?;
    rows.collect()
}

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A failure to turn a stored value into a domain value: the database holds something the
/// code never writes.
fn corrupt(column: usize, problem: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, problem.into())
}

/// A user from the columns [`USER_COLUMNS`] names, found by name.
fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: row.get("id")?,
        email: row.get("email")?,
        role: Role::parse(&role).map_err(|e| corrupt(2, format!("role {role:?} {e}")))?,
        created_at: row.time("created_at")?,
    })
}

/// Queues `mail` to the user's current address, inside the writer's transaction.
fn queue_mail(db: &Connection, user_id: &UserId, mail: &MailDraft, now: i64) -> rusqlite::Result<()> {
    db.prepare_cached(
        "INSERT INTO outbox (id, recipient, subject, body, created_at, next_attempt_at)
         SELECT ?1, email, ?2, ?3, ?4, ?4 FROM users WHERE id = ?5",
    )?
    .execute(params![mail.id, mail.subject, mail.body, now, user_id])?;
    Ok(())
}

/// The condition under which a user may lose the admin role (or be deleted): they are no admin,
/// or another admin remains. The single writer makes the count and the change one step.
const KEEPS_AN_ADMIN: &str = "(role <> 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)";

pub(super) fn user_exists(db: &Connection, user_id: &UserId) -> rusqlite::Result<bool> {
    db.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")?.query_row([user_id], |row| row.get(0))
}

/// The movie as the writer sees it, inside its transaction.
fn current_movie(db: &Connection, movie_id: &MovieId) -> rusqlite::Result<Option<Movie>> {
    let sql = format!("SELECT {} FROM movies WHERE id = ?", *SELECT_LIST);
    db.prepare_cached(&sql)?.query_row([movie_id], |row| movie_from(row)).optional()
}

fn json_list(values: &[String]) -> StoreResult<String> {
    serde_json::to_string(values).map_err(StoreError::other)
}

/// Revokes every live session of a user.
fn revoke_sessions_of(db: &Connection, user_id: &UserId, now: i64) -> rusqlite::Result<usize> {
    db.prepare_cached("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")?
        .execute(params![now, user_id])
}

static CHECK_SUCCEEDED_SQL: LazyLock<String> = LazyLock::new(|| for_sqlite(CHECK_SUCCEEDED));
static FORGET_FAILURES_SQL: LazyLock<String> = LazyLock::new(|| for_sqlite(FORGET_FAILURES));

/// Replaces a user's password hash, signs out every session of theirs, voids every pending
/// reset token and clears the account's failed checks, as a password change and a reset both
/// must.
fn replace_password(db: &Connection, user_id: &UserId, password_hash: &str, now: i64) -> rusqlite::Result<()> {
    db.prepare_cached("UPDATE users SET password_hash = ? WHERE id = ?")?.execute(params![password_hash, user_id])?;
    revoke_sessions_of(db, user_id, now)?;
    db.prepare_cached("UPDATE reset_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL")?
        .execute(params![now, user_id])?;
    db.prepare_cached(&FORGET_FAILURES_SQL)?.execute([user_id])?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.engine.read(|db| db.prepare_cached("SELECT 1")?.query_row([], |_| Ok(()))).await
    }

    fn pool_use(&self) -> PoolUse {
        self.engine.pool_use()
    }

    async fn close(&self) {
        self.engine.close().await;
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &NewUser<'_>) -> StoreResult<()> {
        let (id, email, email_key) = (user.id.to_owned(), user.email.as_str().to_owned(), user.email.normalized());
        let (password_hash, role, created_at) = (user.password_hash.to_owned(), user.role, micros(user.created_at));
        self.engine
            .write(move |db| {
                db.prepare_cached(
                    "INSERT INTO users (id, email, email_lower, password_hash, role, created_at)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )?
                .execute(params![id, email, email_key, password_hash, role.as_str(), created_at])
                .map_err(unique_as("email"))?;
                Ok(())
            })
            .await
    }

    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str) -> StoreResult<bool> {
        let (user_id, old, new) = (user_id.to_owned(), old.to_owned(), new.to_owned());
        self.engine
            .write(move |db| {
                let changed = db
                    .prepare_cached("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?")?
                    .execute(params![new, user_id, old])?;
                Ok(changed == 1)
            })
            .await
    }

    async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        self.credentials_where("email_lower = ?", email.normalized()).await
    }

    async fn credentials_by_id(&self, user_id: &UserId) -> StoreResult<Option<Credentials>> {
        self.credentials_where("id = ?", user_id.to_string()).await
    }

    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.credentials_by_id(user_id).await?.map(|c| c.user))
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        Ok(self.credentials_by_email(email).await?.map(|c| c.user))
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.engine
            .scan(|db| {
                let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
                db.prepare_cached(&sql)?.query_map([], user_from_row)?.collect()
            })
            .await
    }

    async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<Option<User>> {
        let user_id = user_id.to_owned();
        self.engine
            .write(move |db| {
                let sql = format!(
                    "UPDATE users SET role = ?1 WHERE id = ?2 AND ({KEEPS_AN_ADMIN} OR ?1 = 'admin')
                     RETURNING {USER_COLUMNS}"
                );
                let user =
                    db.prepare_cached(&sql)?.query_row(params![role.as_str(), user_id], user_from_row).optional()?;
                match user {
                    None if user_exists(db, &user_id)? => Err(StoreError::Conflict(LAST_ADMIN)),
                    user => Ok(user),
                }
            })
            .await
    }

    async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        // Foreign keys cascade to sessions, tokens and movies.
        self.engine
            .write(move |db| {
                let sql = format!("DELETE FROM users WHERE id = ? AND {KEEPS_AN_ADMIN}");
                let deleted = db.prepare_cached(&sql)?.execute([&user_id])? > 0;
                if !deleted && user_exists(db, &user_id)? {
                    return Err(StoreError::Conflict(LAST_ADMIN));
                }
                Ok(deleted)
            })
            .await
    }

    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: &str,
        now: DateTime<Utc>,
        notice: &MailDraft,
    ) -> StoreResult<()> {
        let (user_id, password_hash, notice) = (user_id.to_owned(), password_hash.to_owned(), notice.clone());
        self.engine
            .write(move |db| {
                replace_password(db, &user_id, &password_hash, micros(now))?;
                queue_mail(db, &user_id, &notice, micros(now))?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &NewSession) -> StoreResult<bool> {
        let session = session.clone();
        self.engine
            .write(move |db| {
                let created_at = micros(session.created_at);
                // One writer: a password change commits wholly before or after this statement.
                let created = db
                    .prepare_cached(
                        "INSERT INTO sessions (id, user_id, created_at, expires_at)
                         SELECT ?, id, ?, ? FROM users WHERE id = ? AND password_hash = ?",
                    )?
                    .execute(params![
                        session.id,
                        created_at,
                        micros(session.expires_at),
                        session.user_id,
                        session.verified_hash
                    ])?;
                if created == 0 {
                    return Ok(false);
                }
                db.prepare_cached("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)")?
                    .execute(params![session.refresh_token_hash.as_str(), session.id, created_at])?;
                if let Some(succeeded) = &session.check_succeeded {
                    db.prepare_cached(&CHECK_SUCCEEDED_SQL)?
                        .execute(params![succeeded.key, succeeded.known_clients])?;
                }
                Ok(true)
            })
            .await
    }

    async fn unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>> {
        let session_id = session_id.to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(
                    "SELECT u.id, u.email, u.role, u.created_at, s.id AS session_id, s.expires_at
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id = ? AND s.revoked_at IS NULL",
                )?
                .query_row([&session_id], |row| {
                    Ok(UnrevokedSession {
                        owner: SessionOwner { user: user_from_row(row)?, session_id: row.get("session_id")? },
                        expires_at: row.time("expires_at")?,
                    })
                })
                .optional()
            })
            .await
    }

    async fn refresh_token(&self, presented: &TokenHash) -> StoreResult<Option<RefreshTokenRecord>> {
        let presented = presented.clone();
        self.engine
            .read(move |db| {
                db.prepare_cached(
                    "SELECT rt.session_id, s.user_id, rt.rotated_at IS NOT NULL AS rotated,
                            s.revoked_at IS NOT NULL AS session_revoked, s.expires_at
                     FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
                     WHERE rt.token_hash = ?",
                )?
                .query_row([presented.as_str()], |row| {
                    Ok(RefreshTokenRecord {
                        session_id: row.get("session_id")?,
                        user_id: row.get("user_id")?,
                        rotated: row.get("rotated")?,
                        session_revoked: row.get("session_revoked")?,
                        session_expires_at: row.time("expires_at")?,
                    })
                })
                .optional()
            })
            .await
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> StoreResult<bool> {
        let rotation = rotation.clone();
        self.engine
            .write(move |db| {
                let at = micros(rotation.at);
                let rotated = db
                    .prepare_cached(
                        "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL",
                    )?
                    .execute(params![at, rotation.presented.as_str()])?;
                if rotated == 0 {
                    return Ok(false);
                }
                db.prepare_cached(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
                     SELECT ?, session_id, ? FROM refresh_tokens WHERE token_hash = ?",
                )?
                .execute(params![rotation.replacement.as_str(), at, rotation.presented.as_str()])?;
                Ok(true)
            })
            .await
    }

    async fn revoke_session(&self, session_id: &SessionId, now: DateTime<Utc>) -> StoreResult<()> {
        let session_id = session_id.to_owned();
        self.engine
            .write(move |db| {
                db.prepare_cached("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")?
                    .execute(params![micros(now), session_id])?;
                Ok(())
            })
            .await
    }

    async fn prune_ended_sessions(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<(u64, u64)> {
        let before = micros(before);
        self.engine
            .write(move |db| {
                // Refresh tokens go by the foreign key's cascade.
                let sessions = db
                    .prepare_cached(
                        "DELETE FROM sessions WHERE id IN
                            (SELECT id FROM sessions WHERE expires_at < ?1
                             UNION SELECT id FROM sessions WHERE revoked_at < ?1 LIMIT ?2)",
                    )?
                    .execute(params![before, batch])?;
                let resets = db
                    .prepare_cached(
                        "DELETE FROM reset_tokens WHERE token_hash IN
                            (SELECT token_hash FROM reset_tokens WHERE expires_at < ?1 LIMIT ?2)",
                    )?
                    .execute(params![before, batch])?;
                Ok((sessions as u64, resets as u64))
            })
            .await
    }

    async fn revoke_user_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.engine
            .write(move |db| {
                revoke_sessions_of(db, &user_id, micros(now))?;
                Ok(())
            })
            .await
    }

    async fn replace_reset_token(
        &self,
        user_id: &UserId,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &MailDraft,
    ) -> StoreResult<()> {
        let (user_id, token_hash, mail) = (user_id.to_owned(), token_hash.as_str().to_owned(), mail.clone());
        self.engine
            .write(move |db| {
                db.prepare_cached("DELETE FROM reset_tokens WHERE user_id = ?")?.execute([&user_id])?;
                queue_mail(db, &user_id, &mail, micros(now))?;
                db.prepare_cached(
                    "INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                )?
                .execute(params![token_hash, user_id, micros(now), micros(expires_at)])?;
                Ok(())
            })
            .await
    }

    async fn reset_token_owner(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let (token_hash, now) = (token_hash.as_str().to_owned(), micros(now));
        self.engine
            .read(move |db| {
                db.prepare_cached(
                    "SELECT u.id, u.email, u.role, u.created_at
                     FROM reset_tokens rt JOIN users u ON u.id = rt.user_id
                     WHERE rt.token_hash = ?1 AND rt.used_at IS NULL AND rt.expires_at > ?2",
                )?
                .query_row(params![token_hash, now], user_from_row)
                .optional()
            })
            .await
    }

    async fn consume_reset_token(
        &self,
        token_hash: &TokenHash,
        password_hash: &str,
        now: DateTime<Utc>,
        confirmation: &MailDraft,
    ) -> StoreResult<Option<UserId>> {
        let (token_hash, password_hash, now) = (token_hash.as_str().to_owned(), password_hash.to_owned(), micros(now));
        let confirmation = confirmation.clone();
        self.engine
            .write(move |db| {
                let user_id: Option<UserId> = db
                    .prepare_cached(
                        "UPDATE reset_tokens SET used_at = ?1
                         WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
                         RETURNING user_id",
                    )?
                    .query_row(params![now, token_hash], |row| row.get(0))
                    .optional()?;
                let Some(user_id) = user_id else { return Ok(None) };
                replace_password(db, &user_id, &password_hash, now)?;
                queue_mail(db, &user_id, &confirmation, now)?;
                Ok(Some(user_id))
            })
            .await
    }
}

#[async_trait]
impl MailStore for SqliteStore {
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>> {
        // Most polls find nothing due: a read answers that without taking the write lock.
        let due_at = micros(now);
        let anything_due: bool = self
            .engine
            .read(move |db| {
                db.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM outbox
                                    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
                                      AND (claimed_until IS NULL OR claimed_until <= ?1))",
                )?
                .query_row([due_at], |row| row.get(0))
            })
            .await?;
        if !anything_due {
            return Ok(Vec::new());
        }
        // The writer holds the write lock across the statement: two processes on one file claim
        // in turn, and the second finds the rows leased.
        self.engine
            .write(move |db| {
                let claimed = db
                    .prepare_cached(
                        "UPDATE outbox SET claimed_until = ?2, attempts = attempts + 1
                         WHERE id IN (SELECT id FROM outbox
                                      WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
                                        AND (claimed_until IS NULL OR claimed_until <= ?1)
                                      ORDER BY next_attempt_at LIMIT ?3)
                         RETURNING id, recipient, subject, body, created_at, attempts",
                    )?
                    .query_map(params![micros(now), micros(lease_until), limit], |row| {
                        Ok(QueuedMail {
                            id: row.get("id")?,
                            recipient: row.get("recipient")?,
                            subject: row.get("subject")?,
                            body: row.get("body")?,
                            created_at: row.time("created_at")?,
                            attempts: row.get("attempts")?,
                            lease: lease_until,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(claimed)
            })
            .await
    }

    async fn mail_sent(&self, mail_id: &str, lease: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
        let mail_id = mail_id.to_owned();
        self.engine
            .write(move |db| {
                let recorded = db
                    .prepare_cached(
                        "UPDATE outbox SET sent_at = ?2, body = '', claimed_until = NULL
                         WHERE id = ?1 AND claimed_until = ?3",
                    )?
                    .execute(params![mail_id, micros(now), micros(lease)])?;
                Ok(recorded > 0)
            })
            .await
    }

    async fn mail_not_sent(
        &self,
        mail_id: &str,
        lease: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (mail_id, error) = (mail_id.to_owned(), error.to_owned());
        self.engine
            .write(move |db| {
                let recorded = db
                    .prepare_cached(
                        "UPDATE outbox SET claimed_until = NULL, last_error = ?2,
                            next_attempt_at = coalesce(?3, next_attempt_at),
                            failed_at = CASE WHEN ?3 IS NULL THEN ?4 END,
                            body = CASE WHEN ?3 IS NULL THEN '' ELSE body END
                     WHERE id = ?1 AND claimed_until = ?5",
                    )?
                    .execute(params![mail_id, error, retry_at.map(micros), micros(now), micros(lease)])?;
                Ok(recorded > 0)
            })
            .await
    }

    async fn mail_counts(&self) -> StoreResult<MailCounts> {
        let (queued, sent, failed): (i64, i64, i64) = self
            .engine
            .scan(|db| {
                db.prepare_cached(
                    "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
                            count(sent_at), count(failed_at)
                     FROM outbox",
                )?
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            })
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(MailCounts { queued: count(queued), sent: count(sent), failed: count(failed) })
    }
}

#[async_trait]
impl MovieStore for SqliteStore {
    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()> {
        let movie = movie.clone();
        self.engine
            .write(move |db| {
                db.prepare_cached(&INSERT_MOVIE)?
                    .execute(params_from_iter(movie_columns::values_of(&movie)))
                    .map_err(unique_as("name"))?;
                Ok(())
            })
            .await
    }

    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let movie_id = movie_id.to_owned();
        self.engine
            .read(move |db| {
                let sql = format!("SELECT {} FROM movies WHERE id = ?", *SELECT_LIST);
                db.prepare_cached(&sql)?.query_row([&movie_id], |row| movie_from(row)).optional()
            })
            .await
    }

    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let (movie_id, change, guard) = (movie_id.to_owned(), change.clone(), guard.clone());
        self.engine
            .write(move |db| {
                let (at, since) = (micros(change.at), guard.unchanged_since.map(micros));
                let changed = movie_columns::changed_values(&change);
                let mut params: Vec<&dyn rusqlite::ToSql> = changed.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
                params.extend([&at as &dyn rusqlite::ToSql, &movie_id, &guard.owner, &since]);
                let updated = db
                    .prepare_cached(&UPDATE_MOVIE)?
                    .query_row(params.as_slice(), |row| movie_from(row))
                    .optional()
                    .map_err(unique_as("name"))?;
                match updated {
                    Some(movie) => Ok(GuardedWrite::Done(movie)),
                    None => Ok(refusal(current_movie(db, &movie_id)?.as_ref(), &guard)),
                }
            })
            .await
    }

    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>> {
        let (movie_id, guard) = (movie_id.to_owned(), guard.clone());
        self.engine
            .write(move |db| {
                let deleted = db
                    .prepare_cached(
                        "DELETE FROM movies
                         WHERE id = ?1 AND (?2 IS NULL OR added_by = ?2) AND (?3 IS NULL OR updated_at = ?3)",
                    )?
                    .execute(params![movie_id, guard.owner, guard.unchanged_since.map(micros)])?;
                if deleted > 0 {
                    return Ok(GuardedWrite::Done(()));
                }
                Ok(refusal(current_movie(db, &movie_id)?.as_ref(), &guard))
            })
            .await
    }

    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        self.listings.page(self, query).await
    }

    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<Movie>> {
        let query = query.clone();
        self.engine
            .scan(move |db| {
                let name_match = match &query.name_contains {
                    None => NameMatch::Any,
                    Some(fragment) if fragment.chars().count() < 3 => NameMatch::Scan,
                    Some(_) => {
                        // A common fragment's newest matches sit near the front of the walk,
                        // where a plain substring test finds them at once; a rare one's do not,
                        // and the trigram index finds them instead. Try the cheap window first.
                        let window = fetch_movies(db, &listing_sql(&query, NameMatch::Window(TRIGRAM_WINDOW)))?;
                        if window.len() == query.limit as usize {
                            return Ok(window);
                        }
                        NameMatch::Trigram
                    }
                };
                fetch_movies(db, &listing_sql(&query, name_match))
            })
            .await
    }

    async fn catalogue_version(&self) -> StoreResult<i64> {
        self.engine
            .read(|db| {
                db.prepare_cached("SELECT version FROM catalogue_version WHERE id = 1")?.query_row([], |row| row.get(0))
            })
            .await
    }

    async fn movie_ids_of(&self, user_id: &UserId) -> StoreResult<Vec<MovieId>> {
        let user_id = user_id.to_owned();
        self.engine
            .scan(move |db| {
                db.prepare_cached("SELECT id FROM movies WHERE added_by = ? ORDER BY created_at DESC, id DESC")?
                    .query_map([user_id], |row| row.get(0))?
                    .collect()
            })
            .await
    }
}

#[async_trait]
impl SeedStore for SqliteStore {
    async fn count_users_other_than(&self, email: &Email) -> StoreResult<u64> {
        let email = email.normalized();
        let count: i64 = self
            .engine
            .scan(move |db| {
                db.prepare_cached("SELECT count(*) FROM users WHERE email_lower <> ?")?
                    .query_row([email], |row| row.get(0))
            })
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn count_seeded_movies(&self) -> StoreResult<u64> {
        let count: i64 = self
            .engine
            .scan(|db| {
                db.prepare_cached("SELECT count(*) FROM movies WHERE id >= ? AND id < ?")?
                    .query_row(params![SEED_ID_PREFIX, format!("{SEED_ID_PREFIX}g")], |row| row.get(0))
            })
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn seed_movies(&self, batch: &SeedBatch) -> StoreResult<()> {
        let words = json_list(&SEED_WORDS.map(str::to_owned))?;
        let genres = json_list(&SEED_GENRES.map(str::to_owned))?;
        let first = i64::try_from(batch.first).map_err(StoreError::other)?;
        let last = i64::try_from(batch.last).map_err(StoreError::other)?;
        let (owner_id, oldest) = (batch.owner_id.clone(), micros(batch.oldest));
        self.engine
            .write(move |db| {
                db.prepare(
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
                )?
                .execute(params![first, last, SEED_ID_PREFIX, words, genres, owner_id, SEED_CASTS as i64, oldest])
                .map_err(unique_as("seeded movie"))?;
                Ok(())
            })
            .await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        self.engine
            .write(|db| {
                db.execute_batch("ANALYZE")?;
                Ok(())
            })
            .await
    }
}
