//! PostgreSQL implementation of [`Store`]: for several server processes sharing one database.
//!
//! Same methods and meaning as the SQLite store; only the SQL dialect differs (`$n` parameters,
//! `TIMESTAMPTZ`, `TEXT[]` lists). Migrations run under sqlx's
//! advisory lock, so replicas starting together against a fresh database do not race.

mod import;
mod limits;
mod movie_inserts;

use std::sync::{Arc, LazyLock};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder, Row};

use self::movie_inserts::MovieInserts;
use super::coalesce::Coalescer;
use super::limits::{CHECK_SUCCEEDED, FORGET_FAILURES};
use super::listing::Listings;
use super::movie_columns::{self, SELECT_LIST, SELECT_LIST_OF_M, movie_from};
use super::page_cache::MoviePage;
use super::{
    Credentials, GuardedWrite, ListingPlan, MailStore, MovieChange, MovieGuard, MovieQuery, MovieStore, NewSession,
    RefreshTokenRecord, Rotation, SEED_CASTS, SEED_GENRES, SEED_ID_PREFIX, SEED_WORDS, SeedBatch, SeedStore,
    SessionOwner, SessionStore, Store, StoreError, StoreResult, UnrevokedSession, UserStore, escape_like,
};
use super::{LAST_ADMIN, MailCounts, MailDraft, NewUser, QueuedMail, refusal};
use crate::auth::secret_token::TokenHash;
use crate::domain::{Email, MovieId, Role, SessionId, UserId};
use crate::metrics::PoolUse;
use crate::model::{Movie, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The condition under which a user may lose the admin role (or be deleted): they are no admin,
/// or another admin remains.
const KEEPS_AN_ADMIN: &str = "(role <> 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)";

const USER_COLUMNS: &str = "id, email, role, created_at";

/// A guarded replace or patch: the changed columns' values (`NULL` keeps one), then the new
/// `updated_at`, the id, the owner the guard requires (or `NULL`) and the version it requires (or
/// `NULL`). Both conditions sit in the statement, so nothing slips in between check and write.
static UPDATE_MOVIE: LazyLock<String> = LazyLock::new(|| {
    let n = movie_columns::CHANGEABLE.len();
    let (at, id, owner, since) = (n + 1, n + 2, n + 3, n + 4);
    format!(
        "UPDATE movies SET {}, updated_at = GREATEST(${at}, updated_at + interval '1 microsecond')
         WHERE id = ${id} AND (${owner}::text IS NULL OR added_by = ${owner})
           AND (${since}::timestamptz IS NULL OR updated_at = ${since})
         RETURNING {}",
        movie_columns::set_changed(|i| format!("${i}")),
        *SELECT_LIST
    )
});

pub struct PgStore {
    pool: PgPool,
    /// Creates queued and inserted together, one statement and one commit per batch.
    movie_inserts: MovieInserts,
    /// Concurrent lookups of one movie share a query (each is a round trip to another process).
    movie_runs: Coalescer<MovieId, StoreResult<Option<Movie>>>,
    /// Concurrent checks of one session share a query; each request still applies its own
    /// clock to the expiry that comes back.
    session_runs: Coalescer<SessionId, StoreResult<Option<UnrevokedSession>>>,
    /// Concurrent listing requests share their catalogue version check, as they share the
    /// page itself: without this every cache hit costs its own round trip.
    version_runs: Coalescer<(), StoreResult<i64>>,
    /// Listing pages, cached while the catalogue version is unchanged.
    listings: Listings,
}

impl PgStore {
    pub async fn connect(url: &str, limits: crate::store::StoreLimits) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid PostgreSQL URL")?;
        let shown =
            format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("(default)"));
        let connections = std::thread::available_parallelism().map_or(4, |n| n.get() as u32 * 2).max(4);
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(limits.database_timeout)
            .connect_with(options.statement_cache_capacity(256))
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {shown}"))?;
        MIGRATOR.run(&pool).await.with_context(|| format!("cannot apply migrations to PostgreSQL at {shown}"))?;
        Ok(Self {
            listings: Listings::default(),
            movie_inserts: MovieInserts::start(pool.clone(), limits.write_queue),
            pool,
            movie_runs: Coalescer::default(),
            session_runs: Coalescer::default(),
            version_runs: Coalescer::default(),
        })
    }
}

fn user_from_row(row: &PgRow) -> StoreResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).map_err(|e| StoreError::other(anyhow::anyhow!("role {role:?} {e}")))?,
        created_at: row.try_get("created_at")?,
    })
}

impl PgStore {
    async fn user_where(&self, condition: &str, value: &str) -> StoreResult<Option<Credentials>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE {condition}");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(value).fetch_optional(&self.pool).await?;
        row.map(|row| Ok(Credentials { user: user_from_row(&row)?, password_hash: row.try_get("password_hash")? }))
            .transpose()
    }
}

impl PgStore {
    async fn fetch_movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let sql = format!("SELECT {} FROM movies WHERE id = $1", *SELECT_LIST);
        let row = sqlx::query(AssertSqlSafe(sql)).bind(movie_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(movie_from).transpose()
    }

    /// The session's owner and expiry, unless it was revoked.
    async fn fetch_unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.expires_at, u.id, u.email, u.role, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.revoked_at IS NULL",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let owner = SessionOwner { session_id: row.try_get("session_id")?, user: user_from_row(&row)? };
            Ok(UnrevokedSession { owner, expires_at: row.try_get("expires_at")? })
        })
        .transpose()
    }
}

/// Revokes every live session of a user.
async fn revoke_sessions_of<'e>(db: impl PgExecutor<'e>, user_id: &UserId, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Replaces a user's password hash and signs out every session of theirs, as a password change
/// and a reset both must; inside the caller's transaction.
/// Queues `mail` to the user's current address, in the caller's transaction.
async fn queue_mail(tx: &mut PgConnection, user_id: &UserId, mail: &MailDraft, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (id, recipient, subject, body, created_at, next_attempt_at)
         SELECT $1, email, $2, $3, $4, $4 FROM users WHERE id = $5",
    )
    .bind(&mail.id)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Locks the admins' rows, so that two admins demoting or deleting each other at the same moment
/// take turns, and the second sees that only one admin is left.
async fn lock_admins(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT id FROM users WHERE role = 'admin' FOR UPDATE").execute(&mut *tx).await?;
    Ok(())
}

async fn user_exists(tx: &mut PgConnection, user_id: &UserId) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)").bind(user_id).fetch_one(&mut *tx).await
}

async fn replace_password(
    tx: &mut PgConnection,
    user_id: &UserId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    // A pending reset token dies with the password it was meant to replace.
    sqlx::query("UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    revoke_sessions_of(&mut *tx, user_id, now).await?;
    // A reset or change proves the owner: the account's failed checks no longer count.
    sqlx::query(FORGET_FAILURES).bind(user_id).execute(&mut *tx).await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_use(&self) -> PoolUse {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUse {
            in_use: self.pool.size().saturating_sub(idle),
            idle,
            max: self.pool.options().get_max_connections(),
            writes_waiting: 0,
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn insert_user(&self, user: &NewUser<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, email_lower, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id)
        .bind(user.email.as_str())
        .bind(user.email.normalized())
        .bind(user.password_hash)
            .bind(user.role.as_str())
            .bind(user.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx_unique(e, "email"))?;
        Ok(())
    }

    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str) -> StoreResult<bool> {
        let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(new)
            .bind(user_id)
            .bind(old)
            .execute(&self.pool)
            .await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        self.user_where("email_lower = $1", &email.normalized()).await
    }

    async fn credentials_by_id(&self, user_id: &UserId) -> StoreResult<Option<Credentials>> {
        self.user_where("id = $1", user_id.as_str()).await
    }

    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.user_where("id = $1", user_id.as_str()).await?.map(|c| c.user))
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        Ok(self.credentials_by_email(email).await?.map(|c| c.user))
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<Option<User>> {
        let mut tx = self.pool.begin().await?;
        lock_admins(&mut tx).await?;
        let sql = format!(
            "UPDATE users SET role = $1 WHERE id = $2 AND ({KEEPS_AN_ADMIN} OR $1 = 'admin') RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(role.as_str()).bind(user_id).fetch_optional(&mut *tx).await?;
        let user = match row {
            Some(row) => Some(user_from_row(&row)?),
            None if user_exists(&mut tx, user_id).await? => return Err(StoreError::Conflict(LAST_ADMIN)),
            None => None,
        };
        tx.commit().await?;
        Ok(user)
    }

    async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        lock_admins(&mut tx).await?;
        // Foreign keys cascade to sessions, tokens and movies.
        let sql = format!("DELETE FROM users WHERE id = $1 AND {KEEPS_AN_ADMIN}");
        let done = sqlx::query(AssertSqlSafe(sql)).bind(user_id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 && user_exists(&mut tx, user_id).await? {
            return Err(StoreError::Conflict(LAST_ADMIN));
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: &str,
        now: DateTime<Utc>,
        notice: &MailDraft,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        replace_password(&mut tx, user_id, password_hash, now).await?;
        queue_mail(&mut tx, user_id, notice, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: &NewSession) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // FOR SHARE: a password change holding the user's row makes this wait and then re-check
        // the hash on the changed row (no session); a change arriving after it waits for this
        // commit, and its revocation then sees this session.
        let created = sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at)
             SELECT $1, id, $3, $4 FROM users WHERE id = $2 AND password_hash = $5 FOR SHARE",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(&session.verified_hash)
        .execute(&mut *tx)
        .await?;
        if created.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)")
            .bind(session.refresh_token_hash.as_str())
            .bind(&session.id)
            .bind(session.created_at)
            .execute(&mut *tx)
            .await?;
        if let Some(succeeded) = &session.check_succeeded {
            sqlx::query(CHECK_SUCCEEDED).bind(&succeeded.key).bind(&succeeded.known_clients).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>> {
        let key = session_id.to_owned();
        self.session_runs.run(&key, || self.fetch_unrevoked_session(session_id)).await
    }

    async fn refresh_token(&self, presented: &TokenHash) -> StoreResult<Option<RefreshTokenRecord>> {
        let row = sqlx::query(
            "SELECT rt.session_id, s.user_id, rt.rotated_at IS NOT NULL AS rotated,
                    s.revoked_at IS NOT NULL AS session_revoked, s.expires_at
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
             WHERE rt.token_hash = $1",
        )
        .bind(presented.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(RefreshTokenRecord {
                session_id: row.try_get("session_id")?,
                user_id: row.try_get("user_id")?,
                rotated: row.try_get("rotated")?,
                session_revoked: row.try_get("session_revoked")?,
                session_expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // Two presentations of one token at once: the second UPDATE waits for the first's row
        // lock, then finds the token rotated and changes nothing.
        let rotated =
            sqlx::query("UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL")
                .bind(rotation.at)
                .bind(rotation.presented.as_str())
                .execute(&mut *tx)
                .await?;
        if rotated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
             SELECT $1, session_id, $2 FROM refresh_tokens WHERE token_hash = $3",
        )
        .bind(rotation.replacement.as_str())
        .bind(rotation.at)
        .bind(rotation.presented.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_session(&self, session_id: &SessionId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune_ended_sessions(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<(u64, u64)> {
        // Refresh tokens go by the foreign key's cascade.
        let sessions = sqlx::query(
            "DELETE FROM sessions WHERE id IN
                (SELECT id FROM sessions WHERE expires_at < $1
                 UNION SELECT id FROM sessions WHERE revoked_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?;
        let resets = sqlx::query(
            "DELETE FROM reset_tokens WHERE token_hash IN
                (SELECT token_hash FROM reset_tokens WHERE expires_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?;
        Ok((sessions.rows_affected(), resets.rows_affected()))
    }

    async fn revoke_user_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<()> {
        revoke_sessions_of(&self.pool, user_id, now).await?;
        Ok(())
    }

    async fn replace_reset_token(
        &self,
        user_id: &UserId,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &MailDraft,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM reset_tokens WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        queue_mail(&mut tx, user_id, mail, now).await?;
        sqlx::query("INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash.as_str())
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reset_token_owner(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.role, u.created_at
             FROM reset_tokens rt JOIN users u ON u.id = rt.user_id
             WHERE rt.token_hash = $1 AND rt.used_at IS NULL AND rt.expires_at > $2",
        )
        .bind(token_hash.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn consume_reset_token(
        &self,
        token_hash: &TokenHash,
        password_hash: &str,
        now: DateTime<Utc>,
        confirmation: &MailDraft,
    ) -> StoreResult<Option<UserId>> {
        let mut tx = self.pool.begin().await?;
        let user_id: Option<UserId> = sqlx::query_scalar(
            "UPDATE reset_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else { return Ok(None) };
        replace_password(&mut tx, &user_id, password_hash, now).await?;
        queue_mail(&mut tx, &user_id, confirmation, now).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

#[async_trait]
impl MailStore for PgStore {
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>> {
        // SKIP LOCKED: two replicas claiming at once take different rows instead of waiting for
        // (and then re-claiming) each other's.
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                            AND (claimed_until IS NULL OR claimed_until <= $1)
                          ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, recipient, subject, body, created_at, attempts",
        )
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let attempts: i32 = row.try_get("attempts")?;
                Ok(QueuedMail {
                    id: row.try_get("id")?,
                    recipient: row.try_get("recipient")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                    created_at: row.try_get("created_at")?,
                    attempts: u32::try_from(attempts).unwrap_or_default(),
                    lease: lease_until,
                })
            })
            .collect()
    }

    async fn mail_sent(&self, mail_id: &str, lease: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
        let recorded = sqlx::query(
            "UPDATE outbox SET sent_at = $2, body = '', claimed_until = NULL WHERE id = $1 AND claimed_until = $3",
        )
        .bind(mail_id)
        .bind(now)
        .bind(lease)
        .execute(&self.pool)
        .await?;
        Ok(recorded.rows_affected() > 0)
    }

    async fn mail_not_sent(
        &self,
        mail_id: &str,
        lease: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let recorded = sqlx::query(
            "UPDATE outbox SET claimed_until = NULL, last_error = $2,
                    next_attempt_at = COALESCE($3, next_attempt_at),
                    failed_at = CASE WHEN $3::timestamptz IS NULL THEN $4 END,
                    body = CASE WHEN $3::timestamptz IS NULL THEN '' ELSE body END
             WHERE id = $1 AND claimed_until = $5",
        )
        .bind(mail_id)
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(lease)
        .execute(&self.pool)
        .await?;
        Ok(recorded.rows_affected() > 0)
    }

    async fn mail_counts(&self) -> StoreResult<MailCounts> {
        let row = sqlx::query(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS queued,
                    count(sent_at) AS sent, count(failed_at) AS failed
             FROM outbox",
        )
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> StoreResult<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
        Ok(MailCounts { queued: count("queued")?, sent: count("sent")?, failed: count("failed")? })
    }
}

#[async_trait]
impl MovieStore for PgStore {
    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()> {
        self.movie_inserts.insert(movie.clone()).await
    }

    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>> {
        let key = movie_id.to_owned();
        self.movie_runs.run(&key, || self.fetch_movie(movie_id)).await
    }

    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>> {
        let mut update = sqlx::query(AssertSqlSafe(UPDATE_MOVIE.as_str()));
        for value in movie_columns::changed_values(change) {
            update = movie_columns::bind_pg(update, value);
        }
        let updated = update
            .bind(change.at)
            .bind(movie_id)
            .bind(&guard.owner)
            .bind(guard.unchanged_since)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx_unique(e, "name"))?;
        match updated.as_ref().map(movie_from).transpose()? {
            Some(movie) => Ok(GuardedWrite::Done(movie)),
            None => Ok(refusal(self.fetch_movie(movie_id).await?.as_ref(), guard)),
        }
    }

    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>> {
        let done = sqlx::query(
            "DELETE FROM movies WHERE id = $1 AND ($2::text IS NULL OR added_by = $2)
               AND ($3::timestamptz IS NULL OR updated_at = $3)",
        )
        .bind(movie_id)
        .bind(&guard.owner)
        .bind(guard.unchanged_since)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(GuardedWrite::Done(()));
        }
        Ok(refusal(self.fetch_movie(movie_id).await?.as_ref(), guard))
    }

    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>> {
        self.listings.page(self, query).await
    }

    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<Movie>> {
        let plan = ListingPlan::for_query(query);
        let mut sql =
            QueryBuilder::<Postgres>::new(format!("SELECT {} FROM {} WHERE TRUE", *SELECT_LIST_OF_M, plan.from));
        if let Some(value) = plan.driving_value {
            sql.push(format_args!(" AND {} = lower(", plan.driving_column)).push_bind(value.to_owned()).push(")");
        }
        if let Some(cursor) = &query.after {
            sql.push(format_args!(" AND ({}, {}) < (", plan.order_at, plan.order_id));
            sql.push_bind(cursor.created_at).push(", ").push_bind(cursor.id.clone()).push(")");
        }
        if let Some(cast) = plan.cast_check {
            sql.push(" AND EXISTS (SELECT 1 FROM movie_casts c WHERE c.cast_name = lower(")
                .push_bind(cast.to_owned())
                .push(") AND c.created_at = m.created_at AND c.movie_id = m.id)");
        }
        if let Some(owner) = &query.added_by {
            sql.push(" AND m.added_by = ").push_bind(owner.clone());
        }
        if let Some(fragment) = &query.name_contains {
            // Answered by the pg_trgm index on lower(name).
            let pattern = format!("%{}%", escape_like(&fragment.to_lowercase()));
            sql.push(" AND lower(m.name) LIKE ").push_bind(pattern).push(" ESCAPE '\\'");
        }
        sql.push(format_args!(" ORDER BY {} DESC, {} DESC LIMIT ", plan.order_at, plan.order_id));
        sql.push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(movie_from).collect()
    }

    async fn catalogue_version(&self) -> StoreResult<i64> {
        self.version_runs
            .run(&(), || async {
                Ok(sqlx::query_scalar("SELECT sum(version)::bigint FROM catalogue_version_stripes")
                    .fetch_one(&self.pool)
                    .await?)
            })
            .await
    }

    async fn movie_ids_of(&self, user_id: &UserId) -> StoreResult<Vec<MovieId>> {
        Ok(sqlx::query_scalar("SELECT id FROM movies WHERE added_by = $1 ORDER BY created_at DESC, id DESC")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?)
    }
}

#[async_trait]
impl SeedStore for PgStore {
    async fn count_users_other_than(&self, email: &Email) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email_lower <> $1")
            .bind(email.normalized())
            .fetch_one(&self.pool)
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn count_seeded_movies(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM movies WHERE id >= $1 AND id < $2")
            .bind(SEED_ID_PREFIX)
            .bind(format!("{SEED_ID_PREFIX}g"))
            .fetch_one(&self.pool)
            .await?;
        Ok(count.try_into().unwrap_or_default())
    }

    async fn seed_movies(&self, batch: &SeedBatch) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO movies (id, name, casts, genres, added_by, created_at, updated_at)
             SELECT $3 || lpad(to_hex(i), 12, '0'),
                    ($4::text[])[1 + i % 64] || ' ' || ($4::text[])[1 + (i / 64) % 64] || ' ' || i,
                    ARRAY['Actor ' || (i % $7), 'Actor ' || ((i * 7 + 13) % $7)],
                    ARRAY[($5::text[])[1 + i % 20], ($5::text[])[1 + (i / 20 + 7) % 20]],
                    $6, $8 + i * interval '1 millisecond', $8 + i * interval '1 millisecond'
             FROM generate_series($1::bigint, $2::bigint) AS i",
        )
        .bind(i64::try_from(batch.first).map_err(StoreError::other)?)
        .bind(i64::try_from(batch.last).map_err(StoreError::other)?)
        .bind(SEED_ID_PREFIX)
        .bind(SEED_WORDS.as_slice())
        .bind(SEED_GENRES.as_slice())
        .bind(&batch.owner_id)
        .bind(SEED_CASTS as i64)
        .bind(batch.oldest)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx_unique(e, "seeded movie"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE movies, movie_genres, movie_casts").execute(&self.pool).await?;
        Ok(())
    }
}
