//! The catalogue: create, read, list, replace, patch, delete; only the owner or an admin edits.

use std::sync::Arc;

use super::{Actor, Invalid, Validator};
use crate::domain::{Movie, MovieVersion, now};
use crate::domain::{
    MovieId, MovieName, Rating, TagList, optional_tag_list, parse_overview, parse_runtime, parse_year,
};
use crate::store::{
    CatalogueEntry, Conflict, EntryKind, GuardedWrite, MovieChange, MovieFilters, MovieGuard, MoviePage, MovieQuery,
    MovieStore, StoreError,
};

/// Why a catalogue request was refused.
#[derive(Debug, thiserror::Error)]
pub enum MovieError {
    #[error("{0}")]
    Invalid(Invalid),
    #[error("no movie has that id")]
    NotFound,
    /// Only its owner or an admin may make the change.
    #[error("the movie was added by someone else")]
    NotOwner(WriteKind),
    /// `If-Match` named a version the movie no longer has.
    #[error("the movie changed since the version given")]
    Changed,
    #[error("a movie has that name already")]
    NameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The kind of write refused to someone who does not own the movie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Update,
    Delete,
}

type MovieResult<T> = Result<T, MovieError>;

/// Raw fields of a create, replace or patch; `None` means "not given", and for the fields that
/// may be empty, `Some(None)` means "given as `null`" (clear it).
#[derive(Debug, Default)]
pub struct MovieFields {
    pub name: Option<String>,
    pub casts: Option<Vec<String>>,
    pub genres: Option<Vec<String>>,
    pub year: Option<Option<i64>>,
    pub runtime: Option<Option<i64>>,
    pub directors: Option<Vec<String>>,
    pub overview: Option<Option<String>>,
}

/// Validated changes: each `Some` replaces the stored value.
struct ValidMovieFields {
    name: Option<String>,
    casts: Option<Vec<String>>,
    genres: Option<Vec<String>>,
    year: Option<Option<i32>>,
    runtime: Option<Option<i32>>,
    directors: Option<Vec<String>>,
    overview: Option<Option<String>>,
}

/// Checks `value` when given (and not `null`), recording why not under `field`. The outer
/// `Option` of the answer is "given", the inner "null"; `Err(())` is "given, but invalid".
fn check_nullable<T, U>(
    v: &mut Validator,
    field: &str,
    value: Option<&Option<T>>,
    parse: impl FnOnce(&T) -> Result<Option<U>, String>,
) -> Result<Option<Option<U>>, ()> {
    match value {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(raw)) => v.check(field, parse(raw)).map(Some).ok_or(()),
    }
}

fn validate(fields: &MovieFields) -> MovieResult<ValidMovieFields> {
    let mut v = Validator::default();
    let name = fields.name.as_deref().map(|n| v.check("name", MovieName::parse(n).map(MovieName::into_inner)));
    let casts = fields.casts.as_deref().map(|c| v.check("casts", TagList::parse(c).map(TagList::into_inner)));
    let genres = fields.genres.as_deref().map(|g| v.check("genres", TagList::parse(g).map(TagList::into_inner)));
    let directors = fields.directors.as_deref().map(|d| v.check("directors", optional_tag_list(d)));
    let year = check_nullable(&mut v, "year", fields.year.as_ref(), |y| parse_year(*y).map(Some));
    let runtime = check_nullable(&mut v, "runtime", fields.runtime.as_ref(), |r| parse_runtime(*r).map(Some));
    let overview = check_nullable(&mut v, "overview", fields.overview.as_ref(), |o| parse_overview(o));
    // Each outer Option is "given", each inner one "valid"; only all-valid passes.
    let lists_valid = [
        name.as_ref().map(Option::is_some),
        casts.as_ref().map(Option::is_some),
        genres.as_ref().map(Option::is_some),
        directors.as_ref().map(Option::is_some),
    ]
    .iter()
    .all(|valid| valid.unwrap_or(true));
    let valid = match (lists_valid, year, runtime, overview) {
        (true, Ok(year), Ok(runtime), Ok(overview)) => Some(ValidMovieFields {
            name: name.flatten(),
            casts: casts.flatten(),
            genres: genres.flatten(),
            directors: directors.flatten(),
            year,
            runtime,
            overview,
        }),
        _ => None,
    };
    v.finish(valid).map_err(MovieError::Invalid)
}

fn map_conflict(error: StoreError) -> MovieError {
    match error {
        StoreError::Conflict(Conflict::MovieNameTaken) => MovieError::NameTaken,
        other => MovieError::Store(other),
    }
}

#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn create(store: &dyn MovieStore, actor: &Actor, fields: &MovieFields) -> MovieResult<MovieId> {
    let changes = validate(fields)?;
    let (Some(name), Some(casts), Some(genres)) = (changes.name, changes.casts, changes.genres) else {
        return Err(MovieError::Invalid(Invalid::field("request", "a new movie needs name, casts and genres")));
    };
    let at = now();
    let movie = Movie {
        id: MovieId::generate(),
        name,
        year: changes.year.flatten(),
        runtime: changes.runtime.flatten(),
        casts,
        directors: changes.directors.unwrap_or_default(),
        genres,
        overview: changes.overview.flatten(),
        poster: None,
        rating: Rating::default(),
        added_by: actor.user.id.clone(),
        created_at: at,
        updated_at: at,
    };
    store.insert_movie(&movie).await.map_err(map_conflict)?;
    tracing::info!(movie_id = %movie.id, "movie created");
    Ok(movie.id)
}

pub async fn get(store: &dyn MovieStore, movie_id: &str) -> MovieResult<Movie> {
    let movie_id = parse_id(movie_id)?;
    store.movie(&movie_id).await?.ok_or(MovieError::NotFound)
}

/// A movie id from a client: one that could never name a movie is not found, without a query.
pub(super) fn parse_id(raw: &str) -> MovieResult<MovieId> {
    MovieId::parse(raw).ok_or(MovieError::NotFound)
}

/// A page of the listing, in the query's order.
pub async fn list(store: &dyn MovieStore, query: &MovieQuery) -> MovieResult<Arc<MoviePage>> {
    Ok(store.movie_page(query).await?)
}

/// How many movies `filters` hold.
pub async fn count(store: &dyn MovieStore, filters: &MovieFilters) -> MovieResult<u64> {
    Ok(store.count_movies(filters).await?)
}

/// The entries of a list with how many movies list each, most used first; with `prefix`, those
/// it or any of whose words starts with (ignoring case).
pub async fn entries(
    store: &dyn MovieStore,
    kind: EntryKind,
    prefix: Option<&str>,
    limit: u32,
) -> MovieResult<Vec<CatalogueEntry>> {
    Ok(store.catalogue_entries(kind, prefix, limit).await?)
}

/// The versions (see [`MovieVersion`]) a client's `If-Match` accepts; `None` when it sent none
/// (or `*`, which any existing movie matches).
pub type ExpectedVersions = Option<Vec<MovieVersion>>;

/// The guard for a write by `actor`: their own movie unless an admin, and, with `If-Match`,
/// still at a version the client named. With several versions named, the current one is read
/// to pick the one to hold the write to (the write itself still checks it); when none is
/// current, the answer is the refusal (404, 403 or 412) without a write.
pub(super) async fn guard_for(
    store: &dyn MovieStore,
    actor: &Actor,
    movie_id: &MovieId,
    expected: &ExpectedVersions,
    change: WriteKind,
) -> MovieResult<MovieGuard> {
    let owner = (!actor.is_admin()).then(|| actor.user.id.clone());
    let unchanged_since = match expected.as_deref() {
        None => None,
        Some([version]) => Some(*version),
        Some(versions) => {
            let current = store.movie(movie_id).await?;
            let guard = MovieGuard { owner: owner.clone(), unchanged_since: None };
            match current {
                Some(movie) if versions.contains(&movie.version()) => Some(movie.version()),
                current => return Err(refusal_error(current.as_ref(), &guard, change)),
            }
        }
    };
    Ok(MovieGuard { owner, unchanged_since })
}

/// Why a guarded write (a `change`) was refused, read from the movie as it stands after the
/// fact: gone, someone else's, or (the guard's last condition) changed since the client's version.
pub(super) fn refusal_error(current: Option<&Movie>, guard: &MovieGuard, change: WriteKind) -> MovieError {
    match current {
        None => MovieError::NotFound,
        Some(movie) if guard.owner.as_ref().is_some_and(|owner| *owner != movie.added_by) => {
            // The span of the write names the actor and the movie.
            tracing::warn!("refused: a movie change asked for by a user who does not own it");
            MovieError::NotOwner(change)
        }
        Some(_) => MovieError::Changed,
    }
}

/// Applies a replace (every field given) or a patch (some fields given), in one statement that
/// also checks ownership and `If-Match`: two clients patching different fields at once both
/// keep their change.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, movie_id = %movie_id))]
pub async fn update(
    store: &dyn MovieStore,
    actor: &Actor,
    movie_id: &str,
    fields: &MovieFields,
    expected: &ExpectedVersions,
) -> MovieResult<Movie> {
    let changes = validate(fields)?;
    let movie_id = &parse_id(movie_id)?;
    let guard = guard_for(store, actor, movie_id, expected, WriteKind::Update).await?;
    let change = MovieChange {
        name: changes.name,
        casts: changes.casts,
        genres: changes.genres,
        year: changes.year,
        runtime: changes.runtime,
        directors: changes.directors,
        overview: changes.overview,
        at: now(),
    };
    match store.update_movie(movie_id, &change, &guard).await.map_err(map_conflict)? {
        GuardedWrite::Done(movie) => {
            tracing::info!("movie updated");
            Ok(movie)
        }
        GuardedWrite::Refused { current } => Err(refusal_error(current.as_deref(), &guard, WriteKind::Update)),
    }
}

#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, movie_id = %movie_id))]
pub async fn delete(
    store: &dyn MovieStore,
    actor: &Actor,
    movie_id: &str,
    expected: &ExpectedVersions,
) -> MovieResult<()> {
    let movie_id = &parse_id(movie_id)?;
    let guard = guard_for(store, actor, movie_id, expected, WriteKind::Delete).await?;
    match store.delete_movie(movie_id, &guard).await? {
        GuardedWrite::Done(()) => {
            tracing::info!("movie deleted");
            Ok(())
        }
        GuardedWrite::Refused { current } => Err(refusal_error(current.as_deref(), &guard, WriteKind::Delete)),
    }
}
