//! `POST /api/users/me/library/import`: a Letterboxd export into the caller's library.
//!
//! The rules, once for both databases: each row names a movie by name and year; rows of the
//! same movie merge into one entry (watched if any row but a watchlist one says so; the
//! rating of `ratings.csv`, Letterboxd's current one, over a diary row's; the latest diary
//! `Watched Date` as `watched_on`); a row without a usable name, year, rating or day is skipped
//! and reported with its line. The store then matches, creates and writes everything in one
//! transaction, so a refused file writes nothing and a second import of the same export
//! changes nothing.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::Actor;
use super::letterboxd::{self, ExportError, LetterboxdFile, Row};
use crate::domain::{
    HalfStars, LibraryStatus, Movie, MovieId, MovieName, Rating, name_key, now, parse_watched_on, parse_year,
};
use crate::store::{ImportedEntry, LibraryImport, LibraryStore, StoreError};

/// What was sent: a zip, or one CSV (named by `?file=` or by its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportBody {
    Zip,
    Csv(Option<LetterboxdFile>),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SkippedRow {
    /// The file it is in (`diary.csv`, ...).
    #[schema(example = "diary.csv")]
    pub file: &'static str,
    /// Its line in that file, the header being line 1.
    #[schema(example = 7)]
    pub line: u64,
    /// Its `Name` field as written (empty when it has none; past 200 characters, cut there and
    /// ended with "…").
    pub name: String,
    #[schema(example = "the row has no name")]
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Movies of the export the catalogue had already.
    pub matched: u64,
    /// Movies the import added to the catalogue (owned by the caller).
    pub created: u64,
    /// Rows not imported.
    pub skipped: Vec<SkippedRow>,
    /// Library entries the export holds (one per movie): `matched` + `created`.
    pub entries: u64,
}

/// One movie of the export, as its rows merged so far.
#[derive(Debug)]
struct Merged {
    name: String,
    year: Option<i32>,
    watched: bool,
    /// From `ratings.csv`: the last row's (Letterboxd writes one per movie).
    rating: Option<HalfStars>,
    /// From the diary: the rating of its latest viewing that has one, with that viewing's day
    /// and line (later lines win a tie of days, as later diary rows are later entries).
    diary_rating: Option<(Option<NaiveDate>, u64, HalfStars)>,
    watched_on: Option<NaiveDate>,
}

/// A row's fields, checked.
struct CheckedRow {
    name: String,
    year: Option<i32>,
    rating: Option<HalfStars>,
    watched_on: Option<NaiveDate>,
}

fn check(row: &Row) -> Result<CheckedRow, String> {
    if row.name.trim().is_empty() {
        return Err("the row has no name".to_owned());
    }
    let name = MovieName::parse(&row.name).map_err(|why| format!("name {why}"))?.into_inner();
    let year = match row.year.trim() {
        "" => None,
        raw => Some(
            raw.parse::<i64>()
                .map_err(|_| "year must be a number".to_owned())
                .and_then(|year| parse_year(year).map_err(|why| format!("year {why}")))?,
        ),
    };
    let rating = match row.rating.trim() {
        "" => None,
        raw => Some(
            raw.parse::<f64>()
                .map_err(|_| "rating must be a number".to_owned())
                .and_then(|stars| HalfStars::from_stars(stars).map_err(|why| format!("rating {why}")))?,
        ),
    };
    let watched_on = match row.watched_date.trim() {
        "" => None,
        raw => Some(parse_watched_on(raw).map_err(|why| format!("Watched Date {why}"))?),
    };
    Ok(CheckedRow { name, year, rating, watched_on })
}

/// The export's movies, one per (name key, year), in the order they first appear, and the rows
/// skipped.
fn merge(rows: &[Row]) -> (Vec<(String, Merged)>, Vec<SkippedRow>) {
    let mut movies: Vec<(String, Merged)> = Vec::new();
    let mut index: HashMap<(String, Option<i32>), usize> = HashMap::new();
    let mut skipped = Vec::new();
    for row in rows {
        let checked = match check(row) {
            Ok(checked) => checked,
            Err(reason) => {
                let name = reported_name(&row.name);
                skipped.push(SkippedRow { file: row.file.file_name(), line: row.line, name, reason });
                continue;
            }
        };
        let key = name_key(&checked.name);
        let at = *index.entry((key.clone(), checked.year)).or_insert_with(|| {
            movies.push((
                key,
                Merged {
                    name: checked.name.clone(),
                    year: checked.year,
                    watched: false,
                    rating: None,
                    diary_rating: None,
                    watched_on: None,
                },
            ));
            movies.len() - 1
        });
        let movie = &mut movies[at].1;
        match row.file {
            LetterboxdFile::Watchlist => {}
            LetterboxdFile::Watched => movie.watched = true,
            LetterboxdFile::Ratings => {
                movie.watched = true;
                movie.rating = checked.rating.or(movie.rating);
            }
            LetterboxdFile::Diary => {
                movie.watched = true;
                movie.watched_on = movie.watched_on.max(checked.watched_on);
                if let Some(stars) = checked.rating {
                    let viewing = (checked.watched_on, row.line, stars);
                    if movie.diary_rating.is_none_or(|(day, line, _)| (day, line) <= (viewing.0, viewing.1)) {
                        movie.diary_rating = Some(viewing);
                    }
                }
            }
        }
    }
    (movies, skipped)
}

/// The entry and the movie to create (if the catalogue has none) of one merged movie.
fn entry_of(actor: &Actor, at: chrono::DateTime<chrono::Utc>, key: String, merged: Merged) -> ImportedEntry {
    let (status, rating, watched_on) = match merged.watched {
        true => (
            LibraryStatus::Watched,
            merged.rating.or(merged.diary_rating.map(|(_, _, stars)| stars)),
            merged.watched_on,
        ),
        false => (LibraryStatus::Watchlist, None, None),
    };
    // An API create needs a cast and a genre; an import has neither to give (the contract).
    let movie = Movie {
        id: MovieId::generate(),
        name: merged.name,
        year: merged.year,
        runtime: None,
        casts: Vec::new(),
        directors: Vec::new(),
        genres: Vec::new(),
        overview: None,
        poster: None,
        rating: Rating::default(),
        added_by: actor.user.id.clone(),
        created_at: at,
        updated_at: at,
    };
    ImportedEntry { key, movie, status, rating, watched_on }
}

/// Imports read at once. Each holds up to `letterboxd::MAX_UNPACKED_BYTES` of unpacked text and
/// its rows; the rest wait their turn (within the request's time), so memory stays bounded
/// however many arrive together, and the blocking pool is not filled with inflating.
static READING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// How much of a skipped row's name the report repeats (a name is at most 200 characters; a
/// skipped one may be anything up to the file's size).
const REPORTED_NAME_CHARS: usize = 200;

fn reported_name(name: &str) -> String {
    match name.char_indices().nth(REPORTED_NAME_CHARS) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// Reads the export off the async runtime (inflating and parsing are CPU work), then writes it.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, bytes = body.len()))]
pub async fn import(
    store: &dyn LibraryStore,
    actor: &Actor,
    kind: ExportBody,
    body: bytes::Bytes,
) -> Result<ImportReport, ImportError> {
    let reading = READING.acquire().await.map_err(StoreError::other)?;
    let rows = tokio::task::spawn_blocking(move || match kind {
        ExportBody::Zip => letterboxd::read_zip(&body),
        ExportBody::Csv(named) => letterboxd::read_csv(&body, named),
    })
    .await
    .map_err(StoreError::other)??;
    let (movies, skipped) = merge(&rows);
    drop(rows);
    drop(reading);
    let at = now();
    let entries: Vec<ImportedEntry> =
        movies.into_iter().map(|(key, merged)| entry_of(actor, at, key, merged)).collect();
    let count = entries.len() as u64;
    let outcome = store.import_library(&LibraryImport { user_id: actor.user.id.clone(), at, entries }).await?;
    tracing::info!(matched = outcome.matched, created = outcome.created, skipped = skipped.len(), "library imported");
    Ok(ImportReport { matched: outcome.matched, created: outcome.created, skipped, entries: count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: LetterboxdFile, line: u64, name: &str, year: &str, rating: &str, watched: &str) -> Row {
        Row {
            file,
            line,
            name: name.to_owned(),
            year: year.to_owned(),
            rating: rating.to_owned(),
            watched_date: watched.to_owned(),
        }
    }

    #[test]
    fn rows_of_one_movie_merge_ratings_over_the_diary_and_the_latest_day() {
        use LetterboxdFile::*;
        let rows = [
            row(Diary, 2, "Heat", "1995", "3", "2020-01-01"),
            row(Diary, 3, "heat ", "1995", "4", "2023-06-01"),
            row(Diary, 4, "HEAT", "1995", "", "2021-01-01"),
            row(Ratings, 2, "Heat", "1995", "4.5", ""),
            row(Watchlist, 2, "Heat", "1995", "", ""),
            row(Diary, 5, "Alien", "1979", "2.5", "2022-02-02"),
            row(Watchlist, 3, "Ran", "", "", ""),
        ];
        let (movies, skipped) = merge(&rows);
        assert!(skipped.is_empty());
        assert_eq!(movies.len(), 3);
        let heat = &movies[0].1;
        assert_eq!((heat.watched, heat.rating.map(HalfStars::stars)), (true, Some(4.5)));
        assert_eq!(heat.watched_on, NaiveDate::from_ymd_opt(2023, 6, 1));
        assert_eq!(heat.diary_rating.map(|(_, _, s)| s.stars()), Some(4.0));
        let alien = &movies[1].1;
        assert_eq!((alien.rating, alien.diary_rating.map(|(_, _, s)| s.stars())), (None, Some(2.5)));
        let ran = &movies[2].1;
        assert_eq!((ran.watched, ran.year), (false, None));
    }

    #[test]
    fn rows_without_a_name_or_with_a_bad_field_are_skipped_with_their_line() {
        use LetterboxdFile::*;
        let rows = [
            row(Watched, 2, "  ", "1995", "", ""),
            row(Watched, 3, "Heat", "nineteen", "", ""),
            row(Ratings, 4, "Heat", "1995", "4.2", ""),
            row(Diary, 5, "Heat", "1995", "", "yesterday"),
        ];
        let (movies, skipped) = merge(&rows);
        assert!(movies.is_empty());
        assert_eq!(
            skipped.iter().map(|s| (s.file, s.line)).collect::<Vec<_>>(),
            [("watched.csv", 2), ("watched.csv", 3), ("ratings.csv", 4), ("diary.csv", 5)]
        );
        assert_eq!(skipped[0].reason, "the row has no name");
    }

    #[test]
    fn a_long_name_is_reported_cut_at_200_characters() {
        let long = "é".repeat(5000);
        let (_, skipped) = merge(&[row(LetterboxdFile::Watched, 2, &long, "", "", "")]);
        assert_eq!(skipped[0].name.chars().count(), 201);
        assert!(skipped[0].name.ends_with('…') && skipped[0].reason.starts_with("name "));
    }
}
