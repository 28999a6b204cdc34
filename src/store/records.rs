//! What goes in and out of a store: records as stored, the writes to make, the queries to answer.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::limits::CheckSucceeded;
use crate::domain::TokenHash;
use crate::domain::{AccessTokenId, Email, MovieId, Role, Scopes, SessionId, UserId};
use crate::domain::{HalfStars, LibraryStatus, Movie, MovieVersion, User};
use chrono::NaiveDate;

/// An account to create. Its address is kept as typed and, for uniqueness and lookups, in the
/// folded form [`Email::normalized`] gives.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a Email,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub password_hash: &'a str,
    /// Whether its address counts as verified from the start (a signup's does not).
    pub email_verified: bool,
    /// The link that verifies the address, stored and emailed in the insert's transaction.
    pub verification: Option<&'a NewEmailToken>,
}

/// A user together with their password hash: only the auth service sees this.
#[derive(Debug, Clone)]
pub struct UserWithHash {
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
    pub check_succeeded: Option<CheckSucceeded>,
    /// Where and with what the sign-in came (see [`ClientInfo`]).
    pub client: ClientInfo,
}

/// The client a session signed in from, shown to its owner in the list of sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address, as `http/extract.rs` finds it (trusted proxies honoured).
    pub ip: Option<String>,
    /// At most [`ClientInfo::USER_AGENT_MAX`] characters of the `User-Agent` header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// A user agent is the client's to choose: kept short so a row stays small.
    pub const USER_AGENT_MAX: usize = 256;

    pub fn new(ip: Option<std::net::IpAddr>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|agent| agent.trim().chars().take(Self::USER_AGENT_MAX).collect::<String>())
            .filter(|agent| !agent.is_empty());
        Self { ip: ip.map(|ip| ip.to_string()), user_agent }
    }
}

/// A live session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub client: ClientInfo,
}

/// A new password hash for a signed-in user, and the notice to queue with it.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub user_id: UserId,
    pub password_hash: String,
    pub at: DateTime<Utc>,
    pub notice: MailDraft,
}

/// A reset token to store (its hash) and the email that carries it.
#[derive(Debug, Clone)]
pub struct NewResetToken {
    pub user_id: UserId,
    pub token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub mail: MailDraft,
}

/// Using a reset token: the presented token's hash, the new password's hash, the confirmation.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    pub token_hash: TokenHash,
    pub password_hash: String,
    pub at: DateTime<Utc>,
    pub confirmation: MailDraft,
}

/// An email to a user, queued in the outbox by the write that calls for it; the recipient is
/// the user's address as stored at that moment.
#[derive(Debug, Clone)]
pub struct MailDraft {
    pub id: String,
    pub subject: String,
    pub body: String,
}

/// What an emailed link (an `email_tokens` row) does when it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    /// Proves the account's current address.
    Verify,
    /// Makes the link's address the account's new, verified address.
    Change,
}

impl EmailPurpose {
    /// As the database keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Change => "change",
        }
    }

    /// Read back from the database; `None` for a value this version never writes.
    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Verify, Self::Change].into_iter().find(|purpose| purpose.as_str() == stored)
    }
}

/// An emailed link to store (its hash only), with the emails that go out with it, in one
/// transaction that first deletes the user's earlier links of the same purpose.
#[derive(Debug, Clone)]
pub struct NewEmailToken {
    pub user_id: UserId,
    pub token_hash: TokenHash,
    pub purpose: EmailPurpose,
    /// Where the link goes: the account's address, or the new one of a change.
    pub address: Email,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// To `address`: carries the link.
    pub mail: MailDraft,
    /// To the account's current address (a change tells the old address).
    pub notice: Option<MailDraft>,
    /// Recorded in the same transaction.
    pub event: Option<NewSecurityEvent>,
}

/// A live link as stored: whose it is and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTokenRecord {
    pub user_id: UserId,
    pub purpose: EmailPurpose,
}

/// Using a link: its hash, now, and the event to record with what it changes.
#[derive(Debug, Clone)]
pub struct EmailTokenUse {
    pub token_hash: TokenHash,
    pub at: DateTime<Utc>,
    pub event: NewSecurityEvent,
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

/// A delivery that failed, for the claim `lease` names: try again at `retry_at`, or give up
/// when it is `None`.
#[derive(Debug, Clone)]
pub struct FailedDelivery {
    pub mail_id: String,
    pub lease: DateTime<Utc>,
    pub error: String,
    pub retry_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// Who may change a movie and in which state: both are checked by the write statement itself,
/// so no other write can slip in between a check and the change.
#[derive(Debug, Clone, Default)]
pub struct MovieGuard {
    /// The movie must have been added by this user (`None`: an admin, anyone's movie).
    pub owner: Option<UserId>,
    /// The movie must still be at this version (the client's `If-Match`): its `updated_at` and
    /// the rating it shows.
    pub unchanged_since: Option<MovieVersion>,
}

/// The fields a replace or patch sets; `None` keeps the stored value.
#[derive(Debug, Clone)]
pub struct MovieChange {
    pub name: Option<String>,
    pub casts: Option<Vec<String>>,
    pub genres: Option<Vec<String>>,
    /// `Some(None)` clears the year.
    pub year: Option<Option<i32>>,
    pub runtime: Option<Option<i32>>,
    pub directors: Option<Vec<String>>,
    pub overview: Option<Option<String>>,
    /// The new `updated_at`: at least this, and always later than the stored one, so that each
    /// change gives the movie a new version.
    pub at: DateTime<Utc>,
}

impl MovieChange {
    /// A change of nothing but the version: a new `updated_at`.
    pub fn touch(at: DateTime<Utc>) -> Self {
        Self { name: None, casts: None, genres: None, year: None, runtime: None, directors: None, overview: None, at }
    }
}

/// What a guarded write did. Why a refused write was refused (the movie is gone, someone
/// else's, or changed since the client's version) is the service's reading of `current`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardedWrite<T> {
    Done(T),
    /// The guard did not hold; `current` is the movie as it stands (`None`: no such movie).
    Refused {
        current: Option<Box<Movie>>,
    },
}

/// The orders of `GET /api/movies`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MovieSort {
    /// Latest added first (the tutorial's order).
    #[default]
    Newest,
    Oldest,
    /// A to Z, ignoring case.
    Title,
    /// Latest year first, movies without a year last.
    Year,
    /// Highest average first, then most ratings; unrated last.
    Rating,
}

impl MovieSort {
    pub const ALL: [Self; 5] = [Self::Newest, Self::Oldest, Self::Title, Self::Year, Self::Rating];

    pub fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Title => "title",
            Self::Year => "year",
            Self::Rating => "rating",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.name() == raw)
    }
}

/// A movie's place in one order, ahead of its (created_at, id): the stored sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `newest` and `oldest`: the time alone.
    Time,
    /// The lowercased name, as the database lowercases it.
    Title(String),
    /// The year, 0 for none.
    Year(i64),
    /// The average in tenths (-1 unrated), then the number of ratings.
    Rating(i64, i64),
}

/// Where a page of the listing starts: after this movie's place in the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MovieCursor {
    pub key: SortKey,
    pub created_at: DateTime<Utc>,
    pub id: MovieId,
}

/// Filters and page of `GET /api/movies`; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MovieQuery {
    pub limit: u32,
    pub sort: MovieSort,
    pub after: Option<MovieCursor>,
    pub filters: MovieFilters,
}

/// Which movies a listing (or its count) holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MovieFilters {
    /// Exact entry, case-insensitive.
    pub genre: Option<String>,
    /// Exact entry, case-insensitive.
    pub cast: Option<String>,
    /// Exact entry, case-insensitive.
    pub director: Option<String>,
    /// Case-insensitive substring of the name, matched literally.
    pub name_contains: Option<String>,
    pub added_by: Option<UserId>,
    /// Inclusive; a movie without a year is outside every range.
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
}

/// The lists a movie's entries come from, for the browsing endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    Genre,
    Cast,
    Director,
}

impl EntryKind {
    /// As the store's `catalogue_entries.kind` says it.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Genre => "genre",
            Self::Cast => "cast",
            Self::Director => "director",
        }
    }
}

/// An entry of a list with the number of movies that list it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CatalogueEntry {
    /// A spelling of the entry (entries compare ignoring case).
    #[schema(example = "Al Pacino")]
    pub name: String,
    /// Movies that list it.
    #[schema(example = 12)]
    pub count: u64,
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

/// Ids of synthetic movies start with this; the rest is the movie's number in hex.
pub const SEED_ID_PREFIX: &str = "00000000-5eed-7000-8000-";

/// One batch of synthetic movies, numbered `first ..= last`. Movie `i` gets a unique name made
/// of two [`super::seed_words::SEED_WORDS`] and its number, two genres of
/// [`super::seed_words::SEED_GENRES`], two casts of 5,000 "Actor N", one director of 1,000
/// "Director N", a year from 1920 to 2024 (none for one movie in 20), a runtime of 70 to 189
/// minutes, a one-line overview of three more words, and `created_at = oldest + i
/// milliseconds`.
#[derive(Debug, Clone)]
pub struct SeedBatch {
    pub owner_id: UserId,
    pub first: u64,
    pub last: u64,
    pub oldest: DateTime<Utc>,
}

pub const SEED_CASTS: u64 = 5000;
pub const SEED_DIRECTORS: u64 = 1000;

/// One stored poster image: a rendition, named by `key` (the digest its URL carries).
#[derive(Debug, Clone)]
pub struct PosterImage {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub bytes: bytes::Bytes,
}

/// A new poster for a movie: the `poster` JSON the movie's row keeps (what `Movie.poster`
/// reads back), its images, and the new `updated_at` (at least this, always later than the
/// stored one, as [`MovieChange::at`]).
#[derive(Debug, Clone)]
pub struct PosterWrite {
    pub poster_json: String,
    pub images: Vec<PosterImage>,
    pub at: DateTime<Utc>,
}

/// An image as `GET /api/posters/{key}.{ext}` answers it.
#[derive(Debug, Clone)]
pub struct StoredPosterImage {
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

/// A library entry to create or replace (the whole entry: `PUT`), at `at`. An entry created
/// keeps `at` as its `created_at`; a replaced one keeps its own.
#[derive(Debug, Clone)]
pub struct EntryWrite {
    pub user_id: UserId,
    pub movie_id: MovieId,
    pub status: LibraryStatus,
    pub rating: Option<HalfStars>,
    pub watched_on: Option<NaiveDate>,
    pub at: DateTime<Utc>,
}

/// The orders of `GET /api/users/me/library`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LibrarySort {
    /// Latest added first.
    #[default]
    Added,
    /// Latest watched first; entries without a day last.
    WatchedOn,
    /// Highest rating first; unrated entries last.
    Rating,
    /// A to Z by the movie's name, ignoring case.
    Title,
}

impl LibrarySort {
    pub const ALL: [Self; 4] = [Self::Added, Self::WatchedOn, Self::Rating, Self::Title];

    pub fn name(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::WatchedOn => "watched_on",
            Self::Rating => "rating",
            Self::Title => "title",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.name() == raw)
    }
}

/// An entry's place in one order of the library, ahead of its (created_at, movie_id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryKey {
    /// `added`: the time alone.
    Time,
    /// `watched_on`: the day as stored (`YYYY-MM-DD`, empty for none).
    Day(String),
    /// `rating`: half stars, 0 for none.
    Halves(i64),
    /// `title`: the movie's `title_key`, as the database lowercases it.
    Title(String),
}

/// Where a page of a library starts: after this entry's place in the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryCursor {
    pub key: EntryKey,
    pub created_at: DateTime<Utc>,
    pub movie_id: MovieId,
}

/// A page of someone's library.
#[derive(Debug, Clone)]
pub struct LibraryQuery {
    pub user_id: UserId,
    pub status: Option<LibraryStatus>,
    pub sort: LibrarySort,
    pub limit: u32,
    pub after: Option<EntryCursor>,
}

/// A library import (`POST /api/users/me/library/import`), written in one transaction: one
/// entry per movie it names, each matched to the catalogue or created.
#[derive(Debug, Clone)]
pub struct LibraryImport {
    pub user_id: UserId,
    pub at: DateTime<Utc>,
    pub entries: Vec<ImportedEntry>,
}

/// One movie of an import and the entry it gets. No two entries of an import share a `key` and
/// `year`.
#[derive(Debug, Clone)]
pub struct ImportedEntry {
    /// [`crate::domain::name_key`] of the name: a catalogue movie whose name has the same key,
    /// and the same year (or none when `year` is none), is this movie.
    pub key: String,
    /// The movie to create when the catalogue has none that matches (owned by the importer, at
    /// the import's time); its name and year are the entry's.
    pub movie: Movie,
    pub status: LibraryStatus,
    pub rating: Option<HalfStars>,
    pub watched_on: Option<NaiveDate>,
}

/// What an import did: how many of its movies the catalogue had, how many it created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LibraryImportOutcome {
    pub matched: u64,
    pub created: u64,
}

/// A security event to record (see `service/security_events.rs`).
#[derive(Debug, Clone)]
pub struct NewSecurityEvent {
    pub id: String,
    pub user_id: UserId,
    /// The event's type, as the API names it.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub client: ClientInfo,
    /// Repeats with the same key (for the same user) count on one row; `None` for a row each.
    pub fold_key: Option<String>,
}

/// A security event as stored: the first of its bucket, with how many it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEventRecord {
    pub id: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub client: ClientInfo,
    pub occurrences: i64,
}

/// Where a page of an account's events ends: the last event's (at, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

/// A page of an account's events, newest first.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub user_id: UserId,
    pub limit: u32,
    pub after: Option<EventCursor>,
}

/// A personal access token to store: its hash, never the token.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub id: AccessTokenId,
    pub user_id: UserId,
    pub name: String,
    pub token_hash: TokenHash,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The most tokens the user may hold: at it, nothing is stored.
    pub cap: u32,
}

/// A personal access token as its owner sees it listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    pub id: AccessTokenId,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a presented access token resolves to; whether it is still live is the service's rule.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub token_id: AccessTokenId,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub user: User,
}

/// A TOTP enrolment as stored (see `auth::totp` for the sealing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCredential {
    /// The secret, sealed: only `auth::totp::TotpKey` opens it.
    pub secret_sealed: String,
    /// Confirmed with a first code; false while pending.
    pub enabled: bool,
}

/// A pending enrolment, replacing a pending one before it.
#[derive(Debug, Clone)]
pub struct NewTotpEnrolment {
    pub user_id: UserId,
    pub secret_sealed: String,
    pub at: DateTime<Utc>,
}

/// Turning a pending enrolment on, in one transaction: only while it is still the one whose
/// secret is `secret_sealed` (a newer enrolment replaced it otherwise), with its first accepted
/// step, fresh recovery codes replacing any old ones, its event and the owner's notice.
#[derive(Debug, Clone)]
pub struct TotpActivation {
    pub user_id: UserId,
    pub secret_sealed: String,
    pub step: i64,
    pub at: DateTime<Utc>,
    pub recovery_code_hashes: Vec<TokenHash>,
    pub event: NewSecurityEvent,
    pub notice: MailDraft,
}

/// Turning two-step sign-in off, in one transaction: the enrolment, its recovery codes and
/// pending sign-ins go, with its event and the owner's notice.
#[derive(Debug, Clone)]
pub struct MfaRemoval {
    pub user_id: UserId,
    pub at: DateTime<Utc>,
    pub event: NewSecurityEvent,
    pub notice: MailDraft,
}

/// A sign-in waiting for its second step.
#[derive(Debug, Clone)]
pub struct NewMfaChallenge {
    pub token_hash: TokenHash,
    pub user_id: UserId,
    /// The password hash the login verified (a session starts only while it is current).
    pub verified_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live (unused, unexpired, not yet failed out) sign-in waiting for its second step.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    pub user_id: UserId,
    pub email: String,
    pub verified_hash: String,
}

/// What `GET /api/users/me` shows of an account's two-step sign-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MfaState {
    pub totp: bool,
    pub recovery_codes_left: u32,
}
