//! The traits a store implements, one per aggregate, and [`Store`], which is all of them.
//! Services take the narrowest trait that serves them.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::limits::{CheckReservation, LoginReservation, LoginReserved, PasswordCheck, WindowCount, WindowHit};
use super::records::*;
use super::{MailCounts, MoviePage, PoolUse, StoreResult};
use crate::domain::TokenHash;
use crate::domain::{AccessTokenId, Email, MovieId, Role, SessionId, UserId};
use crate::domain::{LibraryEntry, Movie, User};

/// One database: every aggregate's storage, and the upkeep of the connections. Services take the
/// narrower trait of the aggregate they work on ([`UserStore`], [`SessionStore`],
/// [`MovieStore`], [`MailStore`]); seeding has its own ([`SeedStore`]).
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + MovieStore
    + PosterStore
    + LibraryStore
    + MailStore
    + SeedStore
    + ImportStore
    + LimitStore
    + SecurityEventStore
    + AccessTokenStore
    + MfaStore
    + EmailTokenStore
    + 'static
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
    /// [`Conflict::EmailTaken`](super::Conflict::EmailTaken) when the address is taken, case-insensitively.
    /// With [`NewUser::verification`], its link is stored and its email queued in the same
    /// transaction (as [`EmailTokenStore::replace_email_token`] does).
    async fn insert_user(&self, user: &NewUser<'_>) -> StoreResult<()>;
    /// Compared by [`Email::normalized`], the one folding of addresses for both databases.
    async fn user_with_hash_by_email(&self, email: &Email) -> StoreResult<Option<UserWithHash>>;
    async fn user_with_hash_by_id(&self, user_id: &UserId) -> StoreResult<Option<UserWithHash>>;
    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.user_with_hash_by_id(user_id).await?.map(|found| found.user))
    }
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        Ok(self.user_with_hash_by_email(email).await?.map(|found| found.user))
    }
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// `None` when there is no such user; [`Conflict::LastAdmin`](super::Conflict::LastAdmin) when it would leave no admin.
    async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<Option<User>>;
    /// Deletes the user, their sessions and their movies. False when there was no such user;
    /// [`Conflict::LastAdmin`](super::Conflict::LastAdmin) when it is the last admin.
    async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool>;
    /// Replaces the hash `old` with `new` (the same password, hashed anew), unless the password
    /// changed meanwhile. False when it did.
    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str) -> StoreResult<bool>;
    /// Replaces the password hash, revokes every session, voids pending reset tokens and queues
    /// `notice` to the user, atomically.
    async fn set_password(&self, change: &PasswordChange) -> StoreResult<()>;
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
    /// The user's live (unrevoked, unexpired) sessions, newest first.
    async fn live_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>>;
    /// Revokes the session if it is the user's and live: false when it is not (unknown,
    /// another user's, or ended already).
    /// `event` is written in the same transaction, when the session was revoked.
    async fn revoke_own_session(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        now: DateTime<Utc>,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool>;
    async fn revoke_user_sessions(&self, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes at most `batch` sessions that ended (expired or revoked) before `before`, with
    /// their refresh tokens, and at most `batch` reset tokens that expired before it; how many
    /// sessions and reset tokens went.
    async fn prune_ended_sessions(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<(u64, u64)>;

    /// Stores a reset token hash, superseding every earlier token of the user, and queues `mail`
    /// (which carries the token) to the user in the same transaction.
    async fn replace_reset_token(&self, token: &NewResetToken) -> StoreResult<()>;
    /// The user a live (unused, unexpired) reset token belongs to, without using it: the new
    /// password is checked against their account before it is hashed.
    async fn reset_token_owner(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<User>>;
    /// Uses a live reset token: marks it used, sets the password hash, revokes every session,
    /// queues `confirmation` to the user. Returns the user id, or `None` for an unknown, used or
    /// expired token.
    async fn consume_reset_token(&self, reset: &PasswordReset) -> StoreResult<Option<UserId>>;
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
    async fn mail_not_sent(&self, failure: &FailedDelivery) -> StoreResult<bool>;
    /// Emails waiting, delivered and given up, for `/metrics`.
    async fn mail_counts(&self) -> StoreResult<MailCounts>;
}

/// The catalogue.
#[async_trait]
pub trait MovieStore: Send + Sync {
    /// [`Conflict::MovieNameTaken`](super::Conflict::MovieNameTaken) when the name is taken.
    async fn insert_movie(&self, movie: &Movie) -> StoreResult<()>;
    async fn movie(&self, movie_id: &MovieId) -> StoreResult<Option<Movie>>;
    /// Applies the fields `change` names, in one statement, when `guard` holds; returns the
    /// movie as written. [`Conflict::MovieNameTaken`](super::Conflict::MovieNameTaken) when the new
    /// name is taken.
    async fn update_movie(
        &self,
        movie_id: &MovieId,
        change: &MovieChange,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>>;
    /// Deletes the movie, in one statement, when `guard` holds.
    async fn delete_movie(&self, movie_id: &MovieId, guard: &MovieGuard) -> StoreResult<GuardedWrite<()>>;
    /// A page of the listing, rendered, with where the next one starts: what `GET /api/movies`
    /// sends. Backends answer it through their [`super::listing::Listings`], which caches pages.
    async fn movie_page(&self, query: &MovieQuery) -> StoreResult<Arc<MoviePage>>;
    /// In `query.sort`'s order, at most `query.limit` movies, each with its place in the order
    /// (for the cursor of a page that ends with it).
    async fn list_movies(&self, query: &MovieQuery) -> StoreResult<Vec<(Movie, MovieCursor)>>;
    /// How many movies `filters` hold: a kept count where one is kept (none, one genre, cast,
    /// director or owner), else the matches counted.
    async fn count_movies(&self, filters: &MovieFilters) -> StoreResult<u64>;
    /// The entries of a list, most used first (ties by entry); with `prefix`, those it or any of
    /// whose words starts with it, ignoring case.
    async fn catalogue_entries(
        &self,
        kind: EntryKind,
        prefix: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<CatalogueEntry>>;
    /// The catalogue's change counter: raised by every committed movie write, in the write's own
    /// transaction, so an unchanged value means an unchanged catalogue (see [`listing`]).
    async fn catalogue_version(&self) -> StoreResult<i64>;
    /// Ids of the user's movies, newest first.
    async fn movie_ids_of(&self, user_id: &UserId) -> StoreResult<Vec<MovieId>>;
}

/// Posters: the images of each movie's current poster, kept beside the movie (see
/// [`crate::posters`]). Both writes are guarded as [`MovieStore::update_movie`] is and change the
/// movie's `updated_at` (a new ETag, a new catalogue version) in the same transaction as its
/// images.
#[async_trait]
pub trait PosterStore: Send + Sync {
    /// When `guard` holds, in one transaction: deletes the movie's images, inserts
    /// `poster.images`, sets `movies.poster` to `poster.poster_json` and moves `updated_at` to
    /// `poster.at` or later; returns the movie as written.
    async fn set_poster(
        &self,
        movie_id: &MovieId,
        poster: &PosterWrite,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>>;
    /// When `guard` holds and the movie has a poster, in one transaction: clears
    /// `movies.poster`, deletes its images, moves `updated_at` to `at` or later. Refused (with
    /// the movie as it stands) when it has none.
    async fn remove_poster(
        &self,
        movie_id: &MovieId,
        at: DateTime<Utc>,
        guard: &MovieGuard,
    ) -> StoreResult<GuardedWrite<Movie>>;
    /// One image by its key: from memory while the catalogue version is the one it was read
    /// at (every change that can remove an image raises it), else one indexed lookup.
    async fn poster_image(&self, key: &str) -> StoreResult<Option<StoredPosterImage>>;
}

/// Each person's library. The movies' ratings follow every change of an entry, in the change's
/// own transaction (the database's triggers), and so do account and movie deletions.
#[async_trait]
pub trait LibraryStore: Send + Sync {
    /// Creates or replaces the entry, and answers it as stored; `None` when there is no such movie.
    async fn put_entry(&self, entry: &EntryWrite) -> StoreResult<Option<LibraryEntry>>;
    async fn entry(&self, user_id: &UserId, movie_id: &MovieId) -> StoreResult<Option<LibraryEntry>>;
    /// False when there was no such entry.
    async fn delete_entry(&self, user_id: &UserId, movie_id: &MovieId) -> StoreResult<bool>;
    /// In `query.sort`'s order, at most `query.limit` entries, each with its place in the order.
    async fn list_entries(&self, query: &LibraryQuery) -> StoreResult<Vec<(LibraryEntry, EntryCursor)>>;
    /// Every movie the user added, oldest first.
    async fn movies_of(&self, user_id: &UserId) -> StoreResult<Vec<Movie>>;
    /// In one transaction: finds each entry's movie (the oldest whose name has the entry's key
    /// and whose year is the entry's), creates the ones not found, and writes the entries. An
    /// entry already there keeps what the import leaves out (a rating, a day) and stays watched
    /// when the import says watchlist; an entry the import does not change is not written
    /// (its `updated_at` stays).
    async fn import_library(&self, import: &LibraryImport) -> StoreResult<LibraryImportOutcome>;
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

/// The abuse limits' counters (see [`super::limits`]).
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one hit in its window (a new window starts when the last one has ended).
    async fn count_hit(&self, hit: &WindowHit) -> StoreResult<WindowCount>;
    /// Reserves a password check, atomically with its decision.
    async fn reserve_check(&self, check: &PasswordCheck) -> StoreResult<CheckReservation>;
    /// Counts a login's address and reserves its password check in one round trip.
    async fn reserve_login(&self, login: &LoginReservation) -> StoreResult<LoginReserved>;
    /// Forgets at most `batch` windows unseen since `windows_before_ms` and at most `batch`
    /// accounts' counters unseen since `accounts_before_ms`; how many went.
    async fn prune_limits(&self, windows_before_ms: i64, accounts_before_ms: i64, batch: u32) -> StoreResult<u64>;
}

/// What happened to each account (see `service/security_events.rs`).
#[async_trait]
pub trait SecurityEventStore: Send + Sync {
    /// Adds the event, or counts it on its bucket's row when its fold key has one already.
    async fn record_event(&self, event: &NewSecurityEvent) -> StoreResult<()>;
    /// At most `query.limit` events of the user, newest first, after `query.after`.
    async fn security_events(&self, query: &EventQuery) -> StoreResult<Vec<SecurityEventRecord>>;
    /// Deletes at most `batch` events older than `before`; how many went.
    async fn prune_security_events(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<u64>;
}

/// Personal access tokens, by hash.
#[async_trait]
pub trait AccessTokenStore: Send + Sync {
    /// Stores the token unless the user holds [`NewAccessToken::cap`] already (false then),
    /// the count and the insert serialized per user.
    /// `event` is written in the same transaction, when the token was stored.
    async fn insert_access_token(&self, token: &NewAccessToken, event: &NewSecurityEvent) -> StoreResult<bool>;
    /// The token with that hash and its user. One round trip.
    async fn access_token(&self, token_hash: &TokenHash) -> StoreResult<Option<TokenOwner>>;
    /// Sets `last_used_at` to `now` if it is unset or before `stale_before`.
    async fn touch_access_token(
        &self,
        token_id: &AccessTokenId,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The user's tokens, newest first.
    async fn access_tokens_of(&self, user_id: &UserId) -> StoreResult<Vec<AccessTokenRecord>>;
    /// Deletes the token if it is the user's: false when it is not.
    /// `event` is written in the same transaction, when the token was deleted.
    async fn delete_access_token(
        &self,
        user_id: &UserId,
        token_id: &AccessTokenId,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool>;
}

/// Two-step sign-in: TOTP enrolments, recovery codes, sign-ins waiting for their second step.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The user's enrolment, pending or on.
    async fn totp_credential(&self, user_id: &UserId) -> StoreResult<Option<TotpCredential>>;
    /// Stores a pending enrolment, replacing a pending one; false (nothing written) when
    /// two-step sign-in is on already.
    async fn begin_totp_enrolment(&self, enrolment: &NewTotpEnrolment) -> StoreResult<bool>;
    /// Turns the pending enrolment on (see [`TotpActivation`]); false when it is no longer the
    /// pending one (replaced, removed, or on already).
    async fn enable_totp(&self, activation: &TotpActivation) -> StoreResult<bool>;
    /// Records `step` as the last accepted one when it is later than the last: the
    /// compare-and-set that makes a code work once across processes. False when it is not
    /// later (the code was used) or two-step sign-in is not on.
    async fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool>;
    /// Uses an unused recovery code of the user, with `event` in the same transaction; false
    /// when the user has no such unused code.
    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &TokenHash,
        at: DateTime<Utc>,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool>;
    /// Turns two-step sign-in off (see [`MfaRemoval`]); a pending enrolment goes too. False
    /// (and no event or notice) when it was not on.
    async fn remove_totp(&self, removal: &MfaRemoval) -> StoreResult<bool>;
    async fn mfa_state(&self, user_id: &UserId) -> StoreResult<MfaState>;
    /// Stores a sign-in waiting for its second step; the user's expired or used ones go.
    async fn insert_mfa_challenge(&self, challenge: &NewMfaChallenge) -> StoreResult<()>;
    /// The sign-in with that token hash while it is unused, unexpired at `now` and has fewer
    /// than `max_failures` wrong codes.
    async fn mfa_challenge(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> StoreResult<Option<MfaChallenge>>;
    /// Counts one wrong code against the sign-in.
    async fn count_mfa_failure(&self, token_hash: &TokenHash) -> StoreResult<()>;
    /// Uses the sign-in, once: false when it was used, expired or failed out meanwhile.
    async fn use_mfa_challenge(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> StoreResult<bool>;
}

/// The links emailed to prove an address (see `service/verification.rs`), by hash.
#[async_trait]
pub trait EmailTokenStore: Send + Sync {
    /// In one transaction: deletes the user's earlier links of the token's purpose, stores it,
    /// queues its email to its address and its notice to the user's current address, and
    /// records its event.
    async fn replace_email_token(&self, token: &NewEmailToken) -> StoreResult<()>;
    /// A live (unused, unexpired) link, without using it.
    async fn email_token(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<EmailTokenRecord>>;
    /// Uses a live link and applies it, with its event, in one transaction: a `verify` link
    /// marks the address verified while it is still the account's; a `change` link makes its
    /// address the account's (verified), voids the user's other links and reset tokens.
    /// `None` for an unknown, used or expired link, or a `verify` link whose address the
    /// account no longer has (it is used up all the same);
    /// [`Conflict::EmailTaken`](super::Conflict::EmailTaken), and nothing changed, when another
    /// account took the new address meanwhile.
    async fn consume_email_token(&self, token: &EmailTokenUse) -> StoreResult<Option<UserId>>;
    /// Deletes at most `batch` links that expired before `before`; how many went.
    async fn prune_email_tokens(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<u64>;
}
