//! `/api/users/me/library` and `/api/users/me/export`: each person's library, private to them.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::cursor;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::AuthUser;
use super::json::AppJson;
use super::movies::parse_page_size;
use crate::domain::{LibraryEntry, LibraryStatus};
use crate::service::library::{self, EntryFields, Export, LibraryError};
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

pub fn router() -> Router<SharedState> {
    Router::new()
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
