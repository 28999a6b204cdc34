//! Moving from the Flask tutorial: its MongoDB collections `user` and `movie`, as `mongoexport`
//! writes them, into this database, in one transaction.
//!
//! The rules, for what the tutorial's data can hold:
//! - A user keeps their ObjectId (as 24-hex id), email and flask-bcrypt hash; login accepts the
//!   hash and replaces it with argon2id on the first success. A user whose email is not an
//!   address, or whose password is not a bcrypt hash, is skipped. A second user with the same
//!   email in another case is skipped and their movies go to the first (same address, same
//!   person).
//! - A movie keeps its ObjectId, so old links work, and its `created_at` is the ObjectId's
//!   time. One whose owner is not in the users file (or was skipped) is skipped. The API's
//!   rules for a movie apply (the domain's `MovieName` and `TagList`): what can be fixed is
//!   (trimmed, blank, non-text and repeated list entries dropped, numbers as their text, see
//!   `import_fields`), and a movie that would still break one is skipped with the rule it
//!   breaks: nothing is stored that the API would refuse. A name or id already in the
//!   database is skipped (so a second run adds nothing).
//! - A bcrypt hash whose cost is outside 4 to 14 is imported, but login never checks it (one
//!   check of `$2b$31$` takes a day and a half): the account and its movies come along, its
//!   owner sets a new password by a reset, and the report says so.
//! - A user's `movies` naming a movie not in the movies file is reported; the list itself is
//!   not stored (here it is the movies whose `added_by` is the user).
//!
//! Every skip and fix is reported by id. A malformed file, or a document over 16 MiB, stops
//! everything: nothing is written.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::auth::bcrypt_hash::{VERIFIED_COSTS, bcrypt_cost};
use crate::domain::{Email, MovieId, MovieName, UserId};
use crate::domain::{Movie, Rating};
use crate::mongo_export::{Documents, FileError, ObjectId, object_id};
use crate::service::import_fields::tag_list;
use crate::store::{ImportBatch, ImportSkip, ImportStore, ImportedUser, StoreError};

/// Movies per batch handed to the store.
const BATCH: usize = 2_000;
/// Batches read ahead of the store at most (the reader waits past it): bounds memory.
const BATCHES_AHEAD: usize = 4;
/// Progress goes to the listener every this many movies.
const PROGRESS_EVERY: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}; nothing was written")]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the movies file reader stopped unexpectedly")]
    ReaderFailed,
}

pub struct ImportFiles {
    pub users: PathBuf,
    pub movies: PathBuf,
    pub dry_run: bool,
}

/// Where an import's findings go as they are made. Notes are handed on, not collected: a file
/// where every movie needs one would otherwise hold them all in memory.
pub trait ImportListener: Send + Sync {
    /// One skip or fix, by id: `user <id>: skipped: ...`, `movie <id>: fixed: ...`. Called
    /// from the file reader's thread and the store's, possibly at the same time.
    fn note(&self, line: &str);
    /// How many movies have been read so far; now and then, for large files.
    fn progress(&self, movies_read: u64);
}

/// What an import did (its notes went to the [`ImportListener`]).
#[derive(Debug, Default)]
pub struct ImportReport {
    /// How many notes the listener was given.
    pub notes: u64,
    pub users_added: u64,
    pub users_present: u64,
    pub movies_added: u64,
    pub movies_present: u64,
    pub movies_read: u64,
    pub dry_run: bool,
    pub seconds: f64,
}

/// Passes notes on to the listener, counting them for the report.
struct Notes {
    listener: Arc<dyn ImportListener>,
    count: AtomicU64,
}

impl Notes {
    fn add(&self, line: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.listener.note(&line);
    }
}

/// The note for what the store skipped.
fn skip_note(skip: &ImportSkip) -> String {
    match skip {
        ImportSkip::EmailTaken(id) => {
            format!("user {id}: skipped: another account already has its email; its movies are skipped")
        }
        ImportSkip::MovieWithoutOwner(id) => format!("movie {id}: skipped: its owner was not imported"),
        ImportSkip::MovieNameTaken(id) => format!("movie {id}: skipped: a movie with its name already exists"),
    }
}

/// Imports the two files, telling `listener` each skip and fix as it is found.
pub async fn import(
    store: Arc<dyn ImportStore>,
    files: ImportFiles,
    listener: Arc<dyn ImportListener>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let notes = Arc::new(Notes { listener, count: AtomicU64::new(0) });
    let users = read_users(&files.users, &notes)?;

    let (batches, received) = mpsc::channel(BATCHES_AHEAD);
    let reader = {
        let (owners, references, notes) = (users.owners.clone(), users.references.clone(), notes.clone());
        let movies_path = files.movies.clone();
        std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || read_movies(&movies_path, &owners, &references, &batches, &notes))
            .map_err(|_| ImportError::ReaderFailed)?
    };

    let skipped = {
        let notes = notes.clone();
        Arc::new(move |skip: ImportSkip| notes.add(skip_note(&skip)))
    };
    let outcome = store.import(users.accepted, received, skipped, files.dry_run).await;
    let read = reader.join().map_err(|_| ImportError::ReaderFailed)?;
    let read = read?; // a malformed movies file: the store rolled back
    let outcome = outcome?;

    for (user, movie) in users.references.missing(&read.found) {
        notes.add(format!(
            "user {}: fixed: its `movies` names {}, which is not in the movies file; the reference is dropped",
            user.to_hex(),
            movie.to_hex()
        ));
    }
    Ok(ImportReport {
        notes: notes.count.load(Ordering::Relaxed),
        users_added: outcome.users_added,
        users_present: outcome.users_present,
        movies_added: outcome.movies_added,
        movies_present: outcome.movies_present,
        movies_read: read.movies_read,
        dry_run: files.dry_run,
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct Users {
    accepted: Vec<ImportedUser>,
    /// Every ObjectId of the users file whose movies are imported -> the user they go to.
    owners: Arc<HashMap<ObjectId, UserId>>,
    references: Arc<References>,
}

/// Every entry of the users' `movies` lists, for reporting those the movies file lacks. The
/// tutorial lists each movie in its owner's `movies`, so there are as many as movies: kept as
/// sorted (movie, user) pairs, 24 bytes each, which the movies' reader searches.
struct References {
    pairs: Vec<(ObjectId, ObjectId)>,
}

impl References {
    fn new(mut pairs: Vec<(ObjectId, ObjectId)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup();
        pairs.shrink_to_fit();
        Self { pairs }
    }

    /// The positions of the pairs naming `movie`.
    fn naming(&self, movie: &ObjectId) -> std::ops::Range<usize> {
        let start = self.pairs.partition_point(|(named, _)| named < movie);
        start..start + self.pairs[start..].partition_point(|(named, _)| named == movie)
    }

    /// (user, movie) for each pair not marked `found`, in user order.
    fn missing(&self, found: &[bool]) -> Vec<(ObjectId, ObjectId)> {
        let mut missing: Vec<_> = self
            .pairs
            .iter()
            .zip(found)
            .filter(|(_, found)| !**found)
            .map(|(&(movie, user), _)| (user, movie))
            .collect();
        missing.sort_unstable();
        missing
    }
}

fn read_users(path: &std::path::Path, notes: &Notes) -> Result<Users, FileError> {
    let mut documents = Documents::open(path)?;
    let mut accepted = Vec::new();
    let mut owners = HashMap::new();
    let mut references = Vec::new();
    let mut by_email: HashMap<String, (ObjectId, UserId)> = HashMap::new();
    while let Some((line, document)) = documents.next_document()? {
        let id = required_id(&documents, line, &document)?;
        let hex = id.to_hex();
        let email = match document.get("email").and_then(Value::as_str).map(Email::parse) {
            Some(Ok(email)) => email,
            Some(Err(reason)) => {
                notes.add(format!("user {hex}: skipped: its email {reason}; its movies are skipped"));
                continue;
            }
            None => {
                notes.add(format!("user {hex}: skipped: it has no email; its movies are skipped"));
                continue;
            }
        };
        let password = document.get("password").and_then(Value::as_str);
        let Some((hash, cost)) = password.and_then(|hash| Some((hash, bcrypt_cost(hash)?))) else {
            notes.add(format!("user {hex}: skipped: its password is not a bcrypt hash; its movies are skipped"));
            continue;
        };
        if !VERIFIED_COSTS.contains(&cost) {
            notes.add(format!(
                "user {hex}: imported without a usable password: its bcrypt cost is {cost}, outside {} to {}, \
                 too slow to check at login; it logs in after a password reset",
                VERIFIED_COSTS.start(),
                VERIFIED_COSTS.end()
            ));
        }
        if let Some(Value::Array(movies)) = document.get("movies") {
            references.extend(movies.iter().filter_map(object_id).map(|movie| (movie, id)));
        }
        if let Some((first, kept)) = by_email.get(&email.normalized()) {
            notes.add(format!(
                "user {hex}: skipped: its email differs only in case from user {}'s; its movies are imported as that user's",
                first.to_hex()
            ));
            owners.insert(id, kept.clone());
            continue;
        }
        let user_id = UserId::from_stored(hex);
        by_email.insert(email.normalized(), (id, user_id.clone()));
        owners.insert(id, user_id.clone());
        accepted.push(ImportedUser { id: user_id, email, password_hash: hash.to_owned(), created_at: id.created_at() });
    }
    Ok(Users { accepted, owners: Arc::new(owners), references: Arc::new(References::new(references)) })
}

fn required_id(documents: &Documents, line: u64, document: &Map<String, Value>) -> Result<ObjectId, FileError> {
    document.get("_id").and_then(object_id).ok_or_else(|| FileError {
        file: documents.file_name().to_owned(),
        line,
        problem: "the document has no `_id` ObjectId".into(),
    })
}

struct MoviesRead {
    /// Which of the [`References`] pairs name a movie the file holds, by position.
    found: Vec<bool>,
    movies_read: u64,
}

/// Reads the movies file on its own thread, handing batches to the store as they fill; on a
/// malformed document tells the store to abort (so nothing is written) and returns the error.
fn read_movies(
    path: &std::path::Path,
    owners: &HashMap<ObjectId, UserId>,
    references: &References,
    batches: &mpsc::Sender<ImportBatch>,
    notes: &Notes,
) -> Result<MoviesRead, FileError> {
    let abort = |error: FileError| {
        let _ = batches.blocking_send(ImportBatch::Abort);
        error
    };
    let mut documents = Documents::open(path).map_err(abort)?;
    let mut read = MoviesRead { found: vec![false; references.pairs.len()], movies_read: 0 };
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let (line, document) = match documents.next_document() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(error) => return Err(abort(error)),
        };
        let id = required_id(&documents, line, &document).map_err(abort)?;
        read.movies_read += 1;
        if read.movies_read.is_multiple_of(PROGRESS_EVERY) {
            notes.listener.progress(read.movies_read);
        }
        read.found[references.naming(&id)].fill(true);
        if let Some(movie) = movie_from(id, &document, owners, notes) {
            batch.push(movie);
        }
        if batch.len() == BATCH && batches.blocking_send(ImportBatch::Movies(std::mem::take(&mut batch))).is_err() {
            break; // the store stopped (its error is reported)
        }
    }
    if !batch.is_empty() {
        let _ = batches.blocking_send(ImportBatch::Movies(batch));
    }
    Ok(read)
}

/// The movie a document describes, fixed where it can be; `None` (with a note) when skipped.
fn movie_from(
    id: ObjectId,
    document: &Map<String, Value>,
    owners: &HashMap<ObjectId, UserId>,
    notes: &Notes,
) -> Option<Movie> {
    let hex = id.to_hex();
    let name = match document.get("name").and_then(Value::as_str).map(MovieName::parse) {
        Some(Ok(name)) => name.into_inner(),
        Some(Err(reason)) => {
            notes.add(format!("movie {hex}: skipped: its name {reason}"));
            return None;
        }
        None => {
            notes.add(format!("movie {hex}: skipped: it has no name"));
            return None;
        }
    };
    let owner = document.get("added_by").and_then(object_id);
    let Some(added_by) = owner.and_then(|owner| owners.get(&owner)) else {
        let owner = owner.map_or_else(|| "none".to_owned(), ObjectId::to_hex);
        notes.add(format!("movie {hex}: skipped: its owner ({owner}) is not among the imported users"));
        return None;
    };
    let (casts, genres) = match (tag_list("casts", document.get("casts")), tag_list("genres", document.get("genres"))) {
        (Ok(casts), Ok(genres)) => (casts, genres),
        (Err(reason), _) | (_, Err(reason)) => {
            notes.add(format!("movie {hex}: skipped: {reason}"));
            return None;
        }
    };
    for fix in casts.fixes.iter().chain(&genres.fixes) {
        notes.add(format!("movie {hex}: fixed: {fix}"));
    }
    let (casts, genres) = (casts.entries, genres.entries);
    let created_at = id.created_at();
    // The tutorial's movies have a name, casts and genres only.
    Some(Movie {
        id: MovieId::from_stored(hex),
        name,
        year: None,
        runtime: None,
        casts,
        directors: Vec::new(),
        genres,
        overview: None,
        poster: None,
        rating: Rating::default(),
        added_by: added_by.clone(),
        created_at,
        updated_at: created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn an_id(n: u8) -> ObjectId {
        object_id(&serde_json::json!({ "$oid": format!("{n:024x}") })).unwrap()
    }

    #[test]
    fn references_missing_from_the_movies_file_are_found_whoever_names_them() {
        let (ann, bob) = (an_id(1), an_id(2));
        let (heat, ronin, gone) = (an_id(10), an_id(11), an_id(12));
        // Heat is named by both users, and twice by Ann; Gone by both.
        let references =
            References::new(vec![(heat, ann), (ronin, bob), (heat, bob), (gone, bob), (heat, ann), (gone, ann)]);
        assert_eq!(references.pairs.len(), 5, "repeats count once");
        let mut found = vec![false; references.pairs.len()];
        for movie in [heat, ronin, an_id(99)] {
            found[references.naming(&movie)].fill(true);
        }
        assert_eq!(references.naming(&an_id(99)).len(), 0);
        assert_eq!(references.missing(&found), vec![(ann, gone), (bob, gone)]);
    }
}
