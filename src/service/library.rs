//! Each person's library: entries only their owner reads or writes, the movies' public ratings
//! (kept by the store with every change), and the export of everything an account owns.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Actor, Invalid, Validator};
use crate::domain::{HalfStars, LibraryEntry, LibraryStatus, Movie, MovieId, User, now, parse_watched_on};
use crate::store::{EntryCursor, EntryWrite, LibraryQuery, LibraryStore, StoreError};

/// Why a library request was refused.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{0}")]
    Invalid(Invalid),
    /// `PUT` of a movie the catalogue does not have.
    #[error("no movie has that id")]
    NoSuchMovie,
    /// The movie is not in the caller's library.
    #[error("the movie is not in the library")]
    NotInLibrary,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type LibraryResult<T> = Result<T, LibraryError>;

/// A `PUT`'s raw fields: the whole entry.
#[derive(Debug, Default)]
pub struct EntryFields {
    pub status: String,
    pub rating: Option<f64>,
    pub watched_on: Option<String>,
}

/// The entry's rules: a status; a rating (0.5 to 5.0 in halves) and a day only when watched.
fn validate(fields: &EntryFields) -> Result<(LibraryStatus, Option<HalfStars>, Option<chrono::NaiveDate>), Invalid> {
    let mut v = Validator::default();
    let status = v.check("status", LibraryStatus::parse(&fields.status));
    let rating = fields.rating.map(|stars| v.check("rating", HalfStars::from_stars(stars)));
    let watched_on = fields.watched_on.as_deref().map(|day| v.check("watched_on", parse_watched_on(day)));
    if status == Some(LibraryStatus::Watchlist) {
        if fields.rating.is_some() {
            v.check::<()>("rating", Err("needs status watched".to_owned()));
        }
        if fields.watched_on.is_some() {
            v.check::<()>("watched_on", Err("needs status watched".to_owned()));
        }
    }
    let valid = match (status, rating, watched_on) {
        (Some(status), None | Some(Some(_)), None | Some(Some(_))) => {
            Some((status, rating.flatten(), watched_on.flatten()))
        }
        _ => None,
    };
    v.finish(valid)
}

/// An id that names no movie is a movie not found (no such movie, or not in the library).
fn parse_id(raw: &str, missing: LibraryError) -> LibraryResult<MovieId> {
    MovieId::parse(raw).ok_or(missing)
}

#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, movie_id = %movie_id))]
pub async fn put(
    store: &dyn LibraryStore,
    actor: &Actor,
    movie_id: &str,
    fields: &EntryFields,
) -> LibraryResult<LibraryEntry> {
    let (status, rating, watched_on) = validate(fields).map_err(LibraryError::Invalid)?;
    let movie_id = parse_id(movie_id, LibraryError::NoSuchMovie)?;
    let write = EntryWrite { user_id: actor.user.id.clone(), movie_id, status, rating, watched_on, at: now() };
    let entry = store.put_entry(&write).await?.ok_or(LibraryError::NoSuchMovie)?;
    tracing::info!("library entry written");
    Ok(entry)
}

pub async fn get(store: &dyn LibraryStore, actor: &Actor, movie_id: &str) -> LibraryResult<LibraryEntry> {
    let movie_id = parse_id(movie_id, LibraryError::NotInLibrary)?;
    store.entry(&actor.user.id, &movie_id).await?.ok_or(LibraryError::NotInLibrary)
}

#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, movie_id = %movie_id))]
pub async fn delete(store: &dyn LibraryStore, actor: &Actor, movie_id: &str) -> LibraryResult<()> {
    let movie_id = parse_id(movie_id, LibraryError::NotInLibrary)?;
    match store.delete_entry(&actor.user.id, &movie_id).await? {
        true => {
            tracing::info!("library entry deleted");
            Ok(())
        }
        false => Err(LibraryError::NotInLibrary),
    }
}

/// A page of the caller's library (the query's `user_id` is theirs), and where the next starts
/// when more may follow.
pub async fn list(
    store: &dyn LibraryStore,
    query: &LibraryQuery,
) -> LibraryResult<(Vec<LibraryEntry>, Option<EntryCursor>)> {
    let mut rows = store.list_entries(query).await?;
    let next = match rows.len() == query.limit as usize {
        true => rows.last().map(|(_, cursor)| cursor.clone()),
        false => None,
    };
    let entries = rows.drain(..).map(|(entry, _)| entry).collect();
    Ok((entries, next))
}

/// `GET /api/users/me/export`: everything the account owns.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    /// The account (never its password hash).
    pub account: User,
    /// Every movie the account added, oldest first.
    pub movies: Vec<Movie>,
    /// Every entry of its library, latest added first.
    pub library: Vec<LibraryEntry>,
}

/// Pages read at a time while exporting a library.
const EXPORT_PAGE: u32 = 1000;

pub async fn export(store: &dyn LibraryStore, actor: &Actor) -> LibraryResult<Export> {
    let movies = store.movies_of(&actor.user.id).await?;
    let mut library = Vec::new();
    let mut query = LibraryQuery {
        user_id: actor.user.id.clone(),
        status: None,
        sort: Default::default(),
        limit: EXPORT_PAGE,
        after: None,
    };
    loop {
        let (page, next) = list(store, &query).await?;
        library.extend(page);
        match next {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    Ok(Export { account: actor.user.clone(), movies, library })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(status: &str, rating: Option<f64>, watched_on: Option<&str>) -> EntryFields {
        EntryFields { status: status.to_owned(), rating, watched_on: watched_on.map(str::to_owned) }
    }

    #[test]
    fn a_rating_and_a_day_need_status_watched() {
        assert!(validate(&fields("watched", Some(4.5), Some("2024-05-17"))).is_ok());
        assert!(validate(&fields("watchlist", None, None)).is_ok());
        let refused = validate(&fields("watchlist", Some(4.0), Some("2024-05-17"))).unwrap_err();
        assert_eq!(refused.0.keys().collect::<Vec<_>>(), ["rating", "watched_on"]);
        let refused = validate(&fields("seen", Some(4.2), Some("yesterday"))).unwrap_err();
        assert_eq!(refused.0.keys().collect::<Vec<_>>(), ["rating", "status", "watched_on"]);
    }
}
