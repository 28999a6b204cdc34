//! `/api/users/me/library` and `/api/users/me/export`: each person's library, private to them.
//!
//! The import route has a body limit of its own (`IMPORT_MAX_BYTES`, see [`super::received`]);
//! every other route keeps `BODY_LIMIT_BYTES`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::cursor;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::AuthUser;
use super::json::AppJson;
use super::movies::parse_page_size;
use crate::domain::{LibraryEntry, LibraryStatus};
use crate::service::letterboxd::{ExportError, LetterboxdFile};
use crate::service::library::{self, EntryFields, Export, LibraryError};
use crate::service::library_import::{self, ExportBody, ImportError, ImportReport};
use crate::state::SharedState;
use crate::store::{EntryCursor, LibraryQuery, LibrarySort};

impl From<LibraryError> for ApiError {
    fn from(error: LibraryError) -> Self {
        match error {
            LibraryError::Invalid(invalid) => invalid.into(),
            LibraryError::NoSuchMovie => Self::NotFound("Movie with given id doesn't exist".into()),
            LibraryError::NotInLibrary => Self::NotFound("Movie with given id is not in your library".into()),
            LibraryError::Store(error) => error.into(),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Export(ExportError::NotAnExport(why)) => Self::BadRequest(why),
            ImportError::Export(ExportError::TooLarge(why)) => Self::UnpackedTooLarge(why),
            ImportError::Store(error) => error.into(),
        }
    }
}

/// The import route, which [`super::received::read_whole_body`] gives `IMPORT_MAX_BYTES`.
pub const IMPORT_ROUTE: &str = "/api/users/me/library/import";

/// Whether a request is a library import, the one request read up to `IMPORT_MAX_BYTES`.
pub fn is_library_import(method: &Method, path: &str) -> bool {
    method == Method::POST && path == IMPORT_ROUTE
}

pub fn router(import_max_bytes: usize) -> Router<SharedState> {
    Router::new()
        .route(IMPORT_ROUTE, post(import_library).layer(DefaultBodyLimit::max(import_max_bytes)))
        .route("/api/users/me/library", get(list_library))
        .route("/api/users/me/library/{movie_id}", get(get_entry).put(put_entry).delete(delete_entry))
        .route("/api/users/me/export", get(export))
}

/// A whole entry (`PUT` replaces it): a rating and a day only with `status: "watched"`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    #[schema(example = "watched", pattern = "^(watchlist|watched)$")]
    pub status: String,
    /// Stars, 0.5 to 5.0 in steps of 0.5; `null` or absent for none.
    #[serde(default)]
    #[schema(required = false, minimum = 0.5, maximum = 5.0, example = 4.5)]
    pub rating: Option<f64>,
    /// The day it was watched, `YYYY-MM-DD`; `null` or absent for none.
    #[serde(default)]
    #[schema(required = false, format = Date, example = "2024-05-17")]
    pub watched_on: Option<String>,
}

/// Create or replace a library entry of the caller's.
#[utoipa::path(put, path = "/api/users/me/library/{movie_id}", tag = "library", security(("bearer" = [])),
    request_body = EntryInput,
    params(("movie_id" = String, Path, description = "Movie id")),
    responses(
        (status = 200, description = "The entry, created or replaced", body = LibraryEntry),
        (status = 400, description = "Invalid fields (a rating or a day without status watched, a rating not in halves...); nothing written", body = ErrorBody),
        (status = 404, description = "No such movie", body = ErrorBody),
    ))]
pub async fn put_entry(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(movie_id): Path<String>,
    AppJson(input): AppJson<EntryInput>,
) -> ApiResult<Json<LibraryEntry>> {
    let fields = EntryFields { status: input.status, rating: input.rating, watched_on: input.watched_on };
    Ok(Json(library::put(state.store.as_ref(), &actor, &movie_id, &fields).await?))
}

/// One entry of the caller's library.
#[utoipa::path(get, path = "/api/users/me/library/{movie_id}", tag = "library", security(("bearer" = [])),
    params(("movie_id" = String, Path, description = "Movie id")),
    responses(
        (status = 200, description = "The entry", body = LibraryEntry),
        (status = 404, description = "The movie is not in the caller's library", body = ErrorBody),
    ))]
pub async fn get_entry(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(movie_id): Path<String>,
) -> ApiResult<Json<LibraryEntry>> {
    Ok(Json(library::get(state.store.as_ref(), &actor, &movie_id).await?))
}

/// Remove a movie from the caller's library (its rating leaves the movie's average).
#[utoipa::path(delete, path = "/api/users/me/library/{movie_id}", tag = "library", security(("bearer" = [])),
    params(("movie_id" = String, Path, description = "Movie id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "The movie is not in the caller's library", body = ErrorBody),
    ))]
pub async fn delete_entry(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(movie_id): Path<String>,
) -> ApiResult<StatusCode> {
    library::delete(state.store.as_ref(), &actor, &movie_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query parameters of `GET /api/users/me/library`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LibraryParams {
    /// Only entries of this status.
    #[param(value_type = Option<String>, pattern = "^(watchlist|watched)$")]
    pub status: Option<String>,
    /// `added` (default: latest added first), `watched_on` (latest first, entries without a
    /// day last), `rating` (highest first, unrated last) or `title` (A to Z, ignoring case).
    #[param(value_type = Option<String>, pattern = "^(added|watched_on|rating|title)$")]
    pub sort: Option<String>,
    /// Page size: default 100, at most 1000 (larger is clamped).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
    /// Cursor from the previous page's `Link: rel="next"` header (of the same `sort`).
    pub after: Option<String>,
}

fn parse_library_query(raw: Option<&str>, user_id: crate::domain::UserId) -> ApiResult<LibraryQuery> {
    let params: LibraryParams = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| ApiError::BadRequest("Malformed query string (is a parameter repeated?)".into()))?;
    let status = params
        .status
        .as_deref()
        .map(LibraryStatus::parse)
        .transpose()
        .map_err(|reason| ApiError::validation("status", reason))?;
    let sort = match params.sort.as_deref() {
        None => LibrarySort::Added,
        Some(raw) => LibrarySort::parse(raw)
            .ok_or_else(|| ApiError::validation("sort", "must be one of added, watched_on, rating, title"))?,
    };
    let after = match params.after.as_deref() {
        Some(raw) => Some(
            cursor::decode_entry(sort, raw)
                .ok_or_else(|| ApiError::validation("after", "is not a valid cursor for this sort"))?,
        ),
        None => None,
    };
    let limit = parse_page_size(params.limit.as_deref(), super::movies::DEFAULT_LIMIT, super::movies::MAX_LIMIT)?;
    Ok(LibraryQuery { user_id, status, sort, limit, after })
}

/// `</api/users/me/library?...&after=...>; rel="next"`, keeping the status, order and page size.
fn next_link(query: &LibraryQuery, last: &EntryCursor) -> Option<HeaderValue> {
    let limit = query.limit.to_string();
    let after = cursor::encode_entry(last);
    let mut pairs: Vec<(&str, &str)> = vec![("limit", &limit)];
    if let Some(status) = query.status {
        pairs.push(("status", status.as_str()));
    }
    if query.sort != LibrarySort::Added {
        pairs.push(("sort", query.sort.name()));
    }
    pairs.push(("after", &after));
    let encoded = serde_urlencoded::to_string(pairs).ok()?;
    HeaderValue::from_str(&format!("</api/users/me/library?{encoded}>; rel=\"next\"")).ok()
}

/// The caller's library, a page at a time, in the order `sort` names.
#[utoipa::path(get, path = "/api/users/me/library", tag = "library", security(("bearer" = [])),
    params(LibraryParams),
    responses(
        (status = 200, description = "A page of entries; a `Link: <...>; rel=\"next\"` header when more may follow", body = [LibraryEntry],
            headers(("Link" = String, description = "`</api/users/me/library?...&after=...>; rel=\"next\"`: the next page"))),
        (status = 400, description = "Bad query parameter (an unknown `status` or `sort`, a cursor of another sort...)", body = ErrorBody),
    ))]
pub async fn list_library(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = parse_library_query(raw.as_deref(), actor.user.id.clone())?;
    let (entries, next) = library::list(state.store.as_ref(), &query).await?;
    let mut response = Json(entries).into_response();
    if let Some(link) = next.as_ref().and_then(|last| next_link(&query, last)) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// Everything the caller's account owns, as one JSON document to keep.
#[utoipa::path(get, path = "/api/users/me/export", tag = "library", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account, its movies and its library", body = Export,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"movie-bag-export.json\"`"))),
    ))]
pub async fn export(State(state): State<SharedState>, AuthUser(actor): AuthUser) -> ApiResult<Response> {
    let export = library::export(state.store.as_ref(), &actor).await?;
    let disposition = HeaderValue::from_static("attachment; filename=\"movie-bag-export.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(export)).into_response())
}

/// Query parameters of `POST /api/users/me/library/import`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Which file a lone CSV is: needed for `watched` and `watchlist`, whose header rows are the
    /// same; when given, the CSV's header must be that file's. Not used with a zip.
    #[param(value_type = Option<String>, pattern = "^(watchlist|watched|ratings|diary)$")]
    pub file: Option<String>,
}

/// A Letterboxd export's zip or one of its CSV files, as the OpenAPI document describes the body.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ExportBytes(#[allow(dead_code)] Vec<u8>); // only its schema is used

/// What the body is, from its `Content-Type` (parameters such as `charset` aside) and `?file=`.
fn export_body(headers: &HeaderMap, raw_query: Option<&str>) -> ApiResult<ExportBody> {
    let params: ImportParams = serde_urlencoded::from_str(raw_query.unwrap_or_default())
        .map_err(|_| ApiError::BadRequest("Malformed query string (is a parameter repeated?)".into()))?;
    let named = match params.file.as_deref() {
        None => None,
        Some(raw) => Some(
            LetterboxdFile::parse(raw)
                .ok_or_else(|| ApiError::validation("file", "must be one of watchlist, watched, ratings, diary"))?,
        ),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        // Windows browsers label a zip `application/x-zip-compressed`.
        "application/zip" | "application/x-zip-compressed" => Ok(ExportBody::Zip),
        "text/csv" => Ok(ExportBody::Csv(named)),
        _ => Err(ApiError::UnsupportedExportType),
    }
}

/// Import a Letterboxd export into the caller's library.
#[utoipa::path(post, path = "/api/users/me/library/import", tag = "library", security(("bearer" = [])),
    request_body(description = "A Letterboxd export: its zip (`diary.csv`, `ratings.csv`, `watched.csv` and \
        `watchlist.csv` are read; `profile.csv`, `reviews.csv`, `comments.csv`, `lists/`, `likes/`, `deleted/` and \
        anything else are ignored), or one of those four CSV files, told apart by its header row (`watched.csv` \
        and `watchlist.csv` share theirs: name a lone one with `?file=`). At most `IMPORT_MAX_BYTES` (default \
        8 MiB); a zip may have at most 2,000 entries, and the files read may unpack to at most 16 MiB each and \
        32 MiB together. Each row is matched to a catalogue movie by name (ignoring case and surrounding spaces) \
        and year (an empty Year matches a movie without one), else a movie is created, owned by the caller, \
        with no casts, genres or directors. `ratings.csv`'s rating wins over a diary row's; the latest diary \
        `Watched Date` becomes `watched_on`; a watchlist row never downgrades a watched entry, and an entry \
        keeps the rating and day the export does not give. One transaction: importing the same export again \
        changes nothing.",
        content((ExportBytes = "application/zip"), (ExportBytes = "text/csv"))),
    params(ImportParams),
    responses(
        (status = 200, description = "What the import did", body = ImportReport),
        (status = 400, description = "Not a Letterboxd export or one of its CSV files (a damaged zip, an unknown header, bytes that are not UTF-8, a lone watched/watchlist CSV without `?file=`, ...); nothing written", body = ErrorBody),
        (status = 413, description = "Body over `IMPORT_MAX_BYTES`, or a zip of over 2,000 entries or whose files unpack past the limits; nothing written", body = ErrorBody),
        (status = 415, description = "`Content-Type` is not application/zip or text/csv, or the body has a Content-Encoding", body = ErrorBody),
    ))]
pub async fn import_library(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    if !super::json::has_identity_encoding(&headers) {
        return Err(ApiError::UnsupportedContentEncoding);
    }
    let kind = export_body(&headers, raw.as_deref())?;
    Ok(Json(library_import::import(state.store.as_ref(), &actor, kind, body).await?))
}
