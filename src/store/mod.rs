//! Persistence behind one trait, with an SQLite and a PostgreSQL implementation.
//!
//! The business rules live in `service/`; a store only runs SQL. Every method that must be
//! atomic runs its own transaction, so callers never hold one across an `.await` of theirs.

pub mod coalesce;
mod id_columns;
pub mod limits;
mod listing;
mod movie_columns;
pub mod page_cache;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::auth::secret_token::TokenHash;
use crate::config::DatabaseUrl;
use crate::domain::{Email, MovieId, Role, SessionId, UserId};
use crate::metrics::PoolUse;
use crate::model::{Movie, User};

pub use limits::LimitStore;
pub use postgres::PgStore;
pub use sqlite::{IN_USE_LOCK, LockKind, SQLITE_SCHEMA_VERSION, SqliteStore, check_migrated_schema, lock_beside};

/// What a store reports. Cheap to clone, so that requests sharing one coalesced read (see
/// [`coalesce`]) each get the same error, kind and cause intact.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; names what was duplicated ("email", "name").
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database cannot be reached or the pool is exhausted.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// An internal queue (named) is at its bound: the work was refused, nothing was done.
    #[error("{0} queue is full")]
    Overloaded(&'static str),
    #[error("{0:#}")]
    Other(Arc<anyhow::Error>),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub(crate) fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(Arc::from(cause.into()))
    }

    pub(crate) fn other(cause: impl Into<anyhow::Error>) -> Self {
        Self::Other(Arc::new(cause.into()))
    }

    /// Maps a driver error, turning a unique violation into `Conflict(what)`.
    pub(crate) fn from_sqlx_unique(error: sqlx::Error, what: &'static str) -> Self {
        if let sqlx::Error::Database(db) = &error
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return Self::Conflict(what);
        }
        Self::from(error)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            // The database is unreachable, or a connection to it broke (closed mid-handshake,
            // mid-query): the client is told to come back, not that the server failed.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Self::unavailable(error),
            other => Self::other(other),
        }
    }
}

/// What [`StoreError::Conflict`] names when a change would leave no admin.
pub const LAST_ADMIN: &str = "last admin";

/// An account to create. Its address is kept as typed and, for uniqueness and lookups, in the
/// folded form [`Email::normalized`] gives.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a Email,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub password_hash: &'a str,
}

/// A user together with their password hash: only the auth service sees this.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// What an access token resolves to when its session is live and its user exists.
#[derive(Debug, Clone)]
pub struct SessionOwner {
    pub session_id: SessionId,
    pub user: User,
}

/// A session that has not been revoked; whether it is still live is the service's rule.
#[derive(Debug, Clone)]
pub struct UnrevokedSession {
    pub owner: SessionOwner,
    pub expires_at: DateTime<Utc>,
}

/// A refresh token as stored, with the state of its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub session_id: SessionId,
    pub user_id: UserId,
    /// It was traded for a newer token already.
    pub rotated: bool,
    pub session_revoked: bool,
    pub session_expires_at: DateTime<Utc>,
}

/// Trading a refresh token for a new one. Named fields, so the two hashes cannot be swapped.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub presented: TokenHash,
    pub replacement: TokenHash,
    pub at: DateTime<Utc>,
}

/// A new session and its first refresh token hash.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub refresh_token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The password hash the login verified the password against.
    pub verified_hash: String,
    /// The account's failed-login count to clear with the session, in the same transaction.
    pub check_succeeded: Option<limits::CheckSucceeded>,
}

/// An email to a user, queued in the outbox by the write that calls for it; the recipient is
/// the user's address as stored at that moment.
#[derive(Debug, Clone)]
pub struct MailDraft {
    pub id: String,
    pub subject: String,
    pub body: String,
}

/// An email claimed from the outbox for delivery.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// The end of this claim's lease, which also names the claim: recording the outcome checks
    /// that the row is still this claim's.
    pub lease: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

/// Who may change a movie and in which state: both are checked by the write statement itself,
/// so no other write can slip in between a check and the change.
#[derive(Debug, Clone, Default)]
pub struct MovieGuard {
    /// The movie must have been added by this user (`None`: an admin, anyone's movie).
    pub owner: Option<UserId>,
    /// The movie's `updated_at` must still be this (the client's `If-Match`).
    pub unchanged_since: Option<DateTime<Utc>>,
}

/// The fields a replace or patch sets; `None` keeps the stored value.
#[derive(Debug, Clone)]
pub struct MovieChange {
    pub name: Option<String>,
    pub casts: Option<Vec<String>>,
    pub genres: Option<Vec<String>>,
    /// The new `updated_at`: at least this, and always later than the stored one, so that each
    /// change gives the movie a new version.
    pub at: DateTime<Utc>,
}

/// What a guarded write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardedWrite<T> {
    Done(T),
    /// No movie has that id.
    NotFound,
    /// The movie belongs to someone else.
    NotOwner,
    /// The movie changed since the version the client named.
    Changed,
}

/// Where a page of the newest-first listing starts: after this (created_at, id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MovieCursor {
    pub created_at: DateTime<Utc>,
    pub id: MovieId,
}

/// Filters and page of `GET /api/movies`; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MovieQuery {
    pub limit: u32,
    pub after: Option<MovieCursor>,
    /// Exact entry, case-insensitive.
    pub genre: Option<String>,
    /// Exact entry, case-insensitive.
    pub cast: Option<String>,
    /// Case-insensitive substring of the name, matched literally.
    pub name_contains: Option<String>,
    pub added_by: Option<UserId>,
}

/// One database: every aggregate's storage, and the upkeep of the connections. Services take the
/// narrower trait of the aggregate they work on ([`UserStore`], [`SessionStore`],
/// [`MovieStore`], [`MailStore`]); seeding has its own ([`SeedStore`]).
#[async_trait]
pub trait Store:
    UserStore + SessionStore + MovieStore + MailStore + SeedStore + ImportStore + LimitStore + 'static
{
    /// Answers when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;
    /// Connections in use and idle, for `/metrics`.
    fn pool_use(&self) -> PoolUse;
    /// Closes every connection, waiting for those in use to be returned.
    async fn close(&self);
}

/// Accounts and their credentials.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Conflict("email") when the address is taken, case-insensitively.
    async fn insert_user(&self, user: &NewUser<'_>) -> StoreResult<()>;
    /// Compared by [`Email::normalized`], the one folding of addresses for both databases.
    async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<Credentials>>;
    async fn credentials_by_id(&self, user_id: &UserId) -> StoreResult<Option<Credentials>>;
    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// `None` when there is no such user; Conflict([`LAST_ADMIN`]) when it would leave no admin.
    async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<Option<User>>;
    /// Deletes the user, their sessions and their movies. False when there was no such user;
    /// Conflict([`LAST_ADMIN`]) when it is the last admin.
    async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool>;
    /// Replaces the hash `old` with `new` (the same password, hashed anew), unless the password
    /// changed meanwhile. False when it did.
    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str) -> StoreResult<bool>;
    /// Replaces the password hash, revokes every session, voids pending reset tokens and queues
    /// `notice` to the user, atomically.
    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: &str,
        now: DateTime<Utc>,
        notice: &MailDraft,
    ) -> StoreResult<()>;
}

/// Sessions, their refresh tokens, and password-reset tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Creates the session only while the user's password hash is still
    /// [`NewSession::verified_hash`], checked in the insert itself: false when the password was
    /// changed or reset since the login verified it (and nothing was created). The check and a
    /// password change serialize on the user's row, so once a change has answered, no session
    /// of a login that verified the old password exists.
    async fn create_session(&self, session: &NewSession) -> StoreResult<bool>;
    /// The session and its user unless the session was revoked. One round trip.
    async fn unrevoked_session(&self, session_id: &SessionId) -> StoreResult<Option<UnrevokedSession>>;
    async fn refresh_token(&self, presented: &TokenHash) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Marks the presented token rotated and stores its replacement for the same session, in one
    /// transaction, only if it was not rotated already: false when another presentation of it
    /// won the race.
    async fn rotate_refresh_token(&self, rotation: &Rotation) -> StoreResult<bool>;
    async fn revoke_session(&self, session_id: &SessionId, now: DateTime<Utc>) -> StoreResult<()>;
    async fn revoke_user_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes at most `batch` sessions that ended (expired or revoked) before `before`, with
    /// their refresh tokens, and at most `batch` reset tokens that expired before it; how many
    /// sessions and reset tokens went.
    async fn prune_ended_sessions(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<(u64, u64)>;

    /// Stores a reset token hash, superseding every earlier token of the user, and queues `mail`
    /// (which carries the token) to the user in the same transaction.
    async fn replace_reset_token(
        &self,
        user_id: &UserId,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &MailDraft,
    ) -> StoreResult<()>;
    /// The user a live (unused, unexpired) reset token belongs to, without using it: the new
    /// password is checked against their account before it is hashed.
    async fn reset_token_owner(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<User>>;
    /// Uses a live reset token: marks it used, sets the password hash, revokes every session,
    /// queues `confirmation` to the user. Returns the user id, or `None` for an unknown, used or
    /// expired token.
    async fn consume_reset_token(
        &self,
        token_hash: &TokenHash,
        password_hash: &str,
        now: DateTime<Utc>,
        confirmation: &MailDraft,
    ) -> StoreResult<Option<UserId>>;
}

/// The outbox of emails (see [`crate::mail::outbox`]).
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Claims up to `limit` due emails until `lease_until`: no other sender gets them meanwhile.
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>>;
    /// The email was delivered: it is never sent again, and its body (a reset token) is erased.
    /// Delivered. False (and nothing recorded) when the claim `lease` no longer holds the row.
    async fn mail_sent(&self, mail_id: &str, lease: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Delivery failed: try again at `retry_at`, or give up when it is `None`. False (and
    /// nothing recorded) when the claim `lease` no longer holds the row.
    async fn mail_not_sent(
        &self,
        mail_id: &str,
        lease: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Emails waiting, delivered and given up, for `/metrics`.
    async fn mail_counts(&self) -> StoreResult<MailCounts>;
}

/// The catalogue.
#[async_trait]
pub trait MovieStore: Send + Sync {
    /// Conflict("name") when the name is taken.
    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()>;
    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>>;
    /// Applies the fields `change` names, in one statement, when `guard` holds; returns the
    /// movie as written. Conflict("name") when the new name is taken.
    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>>;
    /// Deletes the movie, in one statement, when `guard` holds.
    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>>;
    /// A page of the listing, rendered, with where the next one starts: what `GET /api/movies`
    /// sends. Backends answer it through their [`listing::Listings`], which caches pages.
    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<page_cache::MoviePage>>;
    /// Newest first; at most `query.limit` movies.
    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<Movie>>;
    /// The catalogue's change counter: raised by every committed movie write, in the write's own
    /// transaction, so an unchanged value means an unchanged catalogue (see [`listing`]).
    async fn catalogue_version(&self) -> StoreResult<i64>;
    /// Ids of the user's movies, newest first.
    async fn movie_ids_of(&self, user_id: &UserId) -> StoreResult<Vec<MovieId>>;
}

/// Synthetic data for demos and benchmarks (`movie-bag seed`).
#[async_trait]
pub trait SeedStore: Send + Sync {
    async fn count_users_other_than(&self, email: &Email) -> StoreResult<u64>;
    /// Generates `batch.count` movies inside the database (no round trip per row), numbered on
    /// from the synthetic movies already there; see [`SeedBatch`].
    async fn seed_movies(&self, batch: &SeedBatch) -> StoreResult<()>;
    /// Refreshes the query planner's statistics after a bulk load.
    async fn refresh_statistics(&self) -> StoreResult<()>;
    /// How many synthetic movies exist (their ids share the [`SEED_ID_PREFIX`]).
    async fn count_seeded_movies(&self) -> StoreResult<u64>;
}

/// A user from another system (`movie-bag import`), with the id and password hash it had there.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    pub id: UserId,
    pub email: Email,
    /// A bcrypt hash; login replaces it with argon2id on the first success.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// What the reader of an import's movies file hands the store.
#[derive(Debug)]
pub enum ImportBatch {
    Movies(Vec<Movie>),
    /// The file turned out malformed: roll everything back.
    Abort,
}

/// What an import wrote (counts; what it skipped went to [`ImportSkips`] as it was found).
#[derive(Debug, Default)]
pub struct ImportOutcome {
    pub users_added: u64,
    /// Already in the database with the same id (an earlier import): left as they are.
    pub users_present: u64,
    pub movies_added: u64,
    /// Already in the database with the same id: left as they are.
    pub movies_present: u64,
}

/// A user or movie an import did not add, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSkip {
    /// Another account has the user's email.
    EmailTaken(UserId),
    /// The movie's owner is not in the database (was not imported).
    MovieWithoutOwner(MovieId),
    /// Another movie has the movie's name.
    MovieNameTaken(MovieId),
}

/// Where a store hands each [`ImportSkip`] as it finds it: handed on, not collected, so that
/// skipping a million movies costs no memory per movie.
pub type ImportSkips = Arc<dyn Fn(ImportSkip) + Send + Sync>;

/// Bulk loading from another system (`movie-bag import`).
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// In one transaction: adds `users`, then the movies of every batch `movies` yields, each
    /// only when it is new (by id), its owner exists and its name is free; hands the others
    /// to `skipped`. Rolled back at the end with `dry_run`, or when the reader sends
    /// [`ImportBatch::Abort`] (then the outcome is meaningless).
    async fn import(
        &self,
        users: Vec<ImportedUser>,
        movies: tokio::sync::mpsc::Receiver<ImportBatch>,
        skipped: ImportSkips,
        dry_run: bool,
    ) -> StoreResult<ImportOutcome>;
}

/// Ids of synthetic movies start with this; the rest is the movie's number in hex.
pub const SEED_ID_PREFIX: &str = "00000000-5eed-7000-8000-";

/// One batch of synthetic movies, numbered `first ..= last`. Movie `i` gets a unique name made
/// of two [`SEED_WORDS`] and its number, two genres of [`SEED_GENRES`], two casts of 5,000
/// "Actor N", and `created_at = oldest + i milliseconds`.
#[derive(Debug, Clone)]
pub struct SeedBatch {
    pub owner_id: UserId,
    pub first: u64,
    pub last: u64,
    pub oldest: DateTime<Utc>,
}

pub const SEED_GENRES: [&str; 20] = [
    "Action",
    "Adventure",
    "Animation",
    "Biography",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Sport",
    "Thriller",
    "Western",
];

pub const SEED_WORDS: [&str; 64] = [
    "Midnight",
    "Silent",
    "Golden",
    "Broken",
    "Crimson",
    "Hidden",
    "Last",
    "Lost",
    "Burning",
    "Frozen",
    "Secret",
    "Wild",
    "Dark",
    "Bright",
    "Distant",
    "Electric",
    "Iron",
    "Velvet",
    "Paper",
    "Glass",
    "Stone",
    "Shadow",
    "River",
    "Mountain",
    "Ocean",
    "Desert",
    "City",
    "Garden",
    "Empire",
    "Kingdom",
    "Harbor",
    "Station",
    "Highway",
    "Island",
    "Forest",
    "Winter",
    "Summer",
    "Autumn",
    "Spring",
    "Storm",
    "Thunder",
    "Echo",
    "Dream",
    "Heart",
    "Promise",
    "Journey",
    "Return",
    "Escape",
    "Rebellion",
    "Legacy",
    "Horizon",
    "Signal",
    "Voyage",
    "Mirror",
    "Orchard",
    "Lantern",
    "Compass",
    "Carnival",
    "Requiem",
    "Serenade",
    "Odyssey",
    "Paradox",
    "Cipher",
    "Outpost",
];

pub const SEED_CASTS: u64 = 5000;

pub type DynStore = Arc<dyn Store>;

/// Bounds on a store's internal queues: past one, a write is refused with
/// [`StoreError::Overloaded`] instead of waiting in unbounded memory.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// Writes waiting for the SQLite writer thread, or creates waiting for the PostgreSQL batcher.
    pub write_queue: usize,
    /// How long a request waits for the database (a pooled connection, a lock) before it is
    /// refused with [`StoreError::Unavailable`].
    pub database_timeout: std::time::Duration,
    /// SQLite reads that may wait for a scan permit.
    pub scan_queue: usize,
    /// Read-only SQLite connections open at once.
    pub readers: u32,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self { write_queue: 1024, database_timeout: std::time::Duration::from_secs(2), scan_queue: 512, readers: 64 }
    }
}

/// Opens the database the URL names and applies pending migrations (default limits).
pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<DynStore> {
    connect_with(url, StoreLimits::default()).await
}

/// Opens the database the URL names, applies pending migrations, bounds queues by `limits`.
pub async fn connect_with(url: &DatabaseUrl, limits: StoreLimits) -> anyhow::Result<DynStore> {
    Ok(match url {
        DatabaseUrl::Sqlite(_) => Arc::new(SqliteStore::connect(url, limits).await?),
        DatabaseUrl::Postgres(raw) => Arc::new(PgStore::connect(raw, limits).await?),
    })
}

/// How a listing query is driven: which index range it walks, in (created_at, id) order.
///
/// A genre filter walks `movie_genres`, else a cast filter walks `movie_casts`, else the movies
/// table itself (by owner when `added_by` is given: the planner picks that index). Every other
/// filter is checked on the rows the walk yields. Both stores build their SQL from this plan.
pub(crate) struct ListingPlan<'a> {
    pub from: &'static str,
    pub driving_column: &'static str,
    pub driving_value: Option<&'a str>,
    pub order_at: &'static str,
    pub order_id: &'static str,
    /// A cast filter that is not driving the walk.
    pub cast_check: Option<&'a str>,
}

impl<'a> ListingPlan<'a> {
    pub fn for_query(query: &'a MovieQuery) -> Self {
        match (query.genre.as_deref(), query.cast.as_deref()) {
            (Some(genre), cast) => Self {
                from: "movie_genres t JOIN movies m ON m.id = t.movie_id",
                driving_column: "t.genre",
                driving_value: Some(genre),
                order_at: "t.created_at",
                order_id: "t.movie_id",
                cast_check: cast,
            },
            (None, Some(cast)) => Self {
                from: "movie_casts t JOIN movies m ON m.id = t.movie_id",
                driving_column: "t.cast_name",
                driving_value: Some(cast),
                order_at: "t.created_at",
                order_id: "t.movie_id",
                cast_check: None,
            },
            (None, None) => Self {
                from: "movies m",
                driving_column: "",
                driving_value: None,
                order_at: "m.created_at",
                order_id: "m.id",
                cast_check: None,
            },
        }
    }
}

/// Why a guarded write touched no row, read after the fact: the movie is gone, someone else's,
/// or (the guard's last condition) changed since the client's version.
pub fn refusal<T>(current: Option<&Movie>, guard: &MovieGuard) -> GuardedWrite<T> {
    match current {
        None => GuardedWrite::NotFound,
        Some(movie) if guard.owner.as_ref().is_some_and(|owner| *owner != movie.added_by) => GuardedWrite::NotOwner,
        Some(_) => GuardedWrite::Changed,
    }
}

/// Escapes `%`, `_` and `\` so a LIKE pattern matches them literally (with `ESCAPE '\'`).
pub(crate) fn escape_like(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
        assert_eq!(escape_like("plain"), "plain");
    }
}
