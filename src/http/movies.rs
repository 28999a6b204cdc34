//! `/api/movies`: the catalogue.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::IdResponse;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::AuthUser;
use super::json::{AppJson, nullable, present};
use super::page_body::{self, ContentCoding};
use super::{conditional, cursor, schemas};
use crate::domain::Movie;
use crate::domain::UserId;
use crate::service::movies::{self, MovieError, MovieFields, WriteKind};
use crate::state::SharedState;
use crate::store::MoviePage;
use crate::store::{MovieCursor, MovieFilters, MovieQuery, MovieSort};

/// The catalogue's refusals as HTTP, in the tutorial's words where it had them.
impl From<MovieError> for ApiError {
    fn from(error: MovieError) -> Self {
        match error {
            MovieError::Invalid(invalid) => invalid.into(),
            MovieError::NotFound => Self::NotFound("Movie with given id doesn't exist".into()),
            MovieError::NotOwner(WriteKind::Update) => {
                Self::Forbidden("Updating movie added by other is forbidden".into())
            }
            MovieError::NotOwner(WriteKind::Delete) => {
                Self::Forbidden("Deleting movie added by other is forbidden".into())
            }
            MovieError::Changed => Self::PreconditionFailed,
            MovieError::NameTaken => Self::Conflict("Movie with given name already exists".into()),
            MovieError::Store(error) => error.into(),
        }
    }
}

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/movies", get(list_movies).post(create_movie))
        .route("/api/movies/{id}", get(get_movie).put(replace_movie).patch(patch_movie).delete(delete_movie))
}

/// A whole movie, for create and replace: the tutorial's three fields, and any of the others.
/// On replace, a field not sent keeps its value (a tutorial client erases nothing it does not
/// know) and `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovieInput {
    #[schema(example = "Heat", min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(schema_with = schemas::tag_list, example = json!(["Al Pacino", "Robert De Niro"]))]
    pub casts: Vec<String>,
    #[schema(schema_with = schemas::tag_list, example = json!(["Crime", "Drama"]))]
    pub genres: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, required = false, minimum = 1870, maximum = 2100, example = 1995)]
    pub year: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, required = false, minimum = 1, maximum = 1440, example = 170)]
    pub runtime: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::optional_tag_list, required = false)]
    pub directors: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, required = false, max_length = 2000)]
    pub overview: Option<Option<String>>,
}

impl From<MovieInput> for MovieFields {
    fn from(input: MovieInput) -> Self {
        Self {
            name: Some(input.name),
            casts: Some(input.casts),
            genres: Some(input.genres),
            year: input.year,
            runtime: input.runtime,
            directors: input.directors,
            overview: input.overview,
        }
    }
}

/// Some of a movie's fields, for patch: at least one. `null` clears `year`, `runtime` and
/// `overview` (`[]` clears `directors`); `name`, `casts` and `genres` cannot be `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct MoviePatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::tag_list, required = false)]
    pub casts: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::tag_list, required = false)]
    pub genres: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, required = false, minimum = 1870, maximum = 2100)]
    pub year: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, required = false, minimum = 1, maximum = 1440)]
    pub runtime: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::optional_tag_list, required = false)]
    pub directors: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, required = false, max_length = 2000)]
    pub overview: Option<Option<String>>,
}

impl MoviePatch {
    fn into_fields(self) -> Option<MovieFields> {
        let fields = MovieFields {
            name: self.name,
            casts: self.casts,
            genres: self.genres,
            year: self.year,
            runtime: self.runtime,
            directors: self.directors,
            overview: self.overview,
        };
        let names_one = fields.name.is_some()
            || fields.casts.is_some()
            || fields.genres.is_some()
            || fields.year.is_some()
            || fields.runtime.is_some()
            || fields.directors.is_some()
            || fields.overview.is_some();
        names_one.then_some(fields)
    }
}

/// Query of `GET /api/movies`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size: 1 to 1000 (larger values are clamped), default 100.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
    /// Cursor from the previous page's `Link: rel="next"` header (of the same `sort`).
    pub after: Option<String>,
    /// The order: `newest` (default: latest added first), `oldest`, `title` (A to Z, ignoring
    /// case), `year` (latest first, movies without a year last) or `rating` (highest average
    /// first, then most ratings; unrated last). Every order pages by `Link`.
    #[param(value_type = Option<String>, pattern = "^(newest|oldest|title|year|rating)$")]
    pub sort: Option<String>,
    /// Only movies with this genre (exact entry, case-insensitive).
    pub genre: Option<String>,
    /// Only movies with this cast member (exact entry, case-insensitive).
    pub cast: Option<String>,
    /// Only movies with this director (exact entry, case-insensitive).
    pub director: Option<String>,
    /// Only movies whose name contains this text (case-insensitive, taken literally).
    pub q: Option<String>,
    /// Only movies added by this user id.
    pub added_by: Option<String>,
    /// Only movies of this year or later (movies without a year are outside every range).
    #[param(value_type = Option<i32>)]
    pub year_from: Option<String>,
    /// Only movies of this year or earlier.
    #[param(value_type = Option<i32>)]
    pub year_to: Option<String>,
    /// `true`: the answer carries `X-Total-Count`, the number of movies the filters hold
    /// (whatever `limit` and `after`).
    #[param(value_type = Option<bool>)]
    pub count: Option<String>,
}

fn parse_limit(raw: Option<&str>) -> ApiResult<u32> {
    parse_page_size(raw, DEFAULT_LIMIT, MAX_LIMIT)
}

/// A page size: a positive integer, `default` when absent, clamped to `max`.
pub fn parse_page_size(raw: Option<&str>, default: u32, max: u32) -> ApiResult<u32> {
    let Some(raw) = raw else { return Ok(default) };
    let digits_only = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    match raw.parse::<u64>() {
        Ok(n) if n >= 1 && digits_only => Ok(u32::try_from(n.min(u64::from(max))).unwrap_or(max)),
        // More digits than u64 holds is still a positive integer: clamp it.
        Err(_) if digits_only && raw.trim_start_matches('0').len() > 1 => Ok(max),
        _ => Err(ApiError::validation("limit", "must be a positive integer")),
    }
}

/// A filter value: an empty one would match nothing useful, and PostgreSQL cannot hold a NUL.
pub fn filter_value(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    match value {
        Some(v) if v.trim().is_empty() => Err(ApiError::validation(field, "must not be empty")),
        Some(v) if v.chars().count() > 200 => Err(ApiError::validation(field, "must be at most 200 characters")),
        Some(v) if v.contains('\0') => Err(ApiError::validation(field, "must not contain NUL")),
        other => Ok(other),
    }
}

fn year_param(field: &str, raw: Option<&str>) -> ApiResult<Option<i32>> {
    let Some(raw) = raw else { return Ok(None) };
    let year: i64 = raw.parse().map_err(|_| ApiError::validation(field, "must be a year (an integer)"))?;
    crate::domain::parse_year(year).map(Some).map_err(|reason| ApiError::validation(field, &reason))
}

fn count_param(raw: Option<&str>) -> ApiResult<bool> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::validation("count", "must be true or false")),
    }
}

/// A listing request: the query, whether to count, and the parameters its links repeat.
struct ListRequest {
    query: MovieQuery,
    count: bool,
    params: ListParams,
}

fn parse_query(raw: Option<&str>) -> ApiResult<ListRequest> {
    let params: ListParams = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| ApiError::BadRequest("Malformed query string (is a parameter repeated?)".into()))?;
    let sort = match params.sort.as_deref() {
        None => MovieSort::Newest,
        Some(raw) => MovieSort::parse(raw)
            .ok_or_else(|| ApiError::validation("sort", "must be one of newest, oldest, title, year, rating"))?,
    };
    let after = match params.after.as_deref() {
        Some(raw) => Some(
            cursor::decode(sort, raw)
                .ok_or_else(|| ApiError::validation("after", "is not a valid cursor for this sort"))?,
        ),
        None => None,
    };
    let filters = MovieFilters {
        genre: filter_value("genre", params.genre.clone())?,
        cast: filter_value("cast", params.cast.clone())?,
        director: filter_value("director", params.director.clone())?,
        name_contains: filter_value("q", params.q.clone())?,
        // Compared as given: a value no user has as id matches nothing.
        added_by: filter_value("added_by", params.added_by.clone())?.map(UserId::from_stored),
        year_from: year_param("year_from", params.year_from.as_deref())?,
        year_to: year_param("year_to", params.year_to.as_deref())?,
    };
    if let (Some(from), Some(to)) = (filters.year_from, filters.year_to)
        && from > to
    {
        return Err(ApiError::validation("year_to", "must not be before year_from"));
    }
    let query = MovieQuery { limit: parse_limit(params.limit.as_deref())?, sort, after, filters };
    Ok(ListRequest { count: count_param(params.count.as_deref())?, query, params })
}

/// `</api/movies?...&after=...>; rel="next"`, keeping the order, every filter, `count` and the
/// page size.
fn next_link(request: &ListRequest, last: &MovieCursor) -> Option<HeaderValue> {
    let (query, params) = (&request.query, &request.params);
    let limit = query.limit.to_string();
    let after = cursor::encode(query.sort, last);
    let mut pairs: Vec<(&str, &str)> = vec![("limit", &limit)];
    if query.sort != MovieSort::Newest {
        pairs.push(("sort", query.sort.name()));
    }
    for (key, value) in [
        ("genre", &params.genre),
        ("cast", &params.cast),
        ("director", &params.director),
        ("q", &params.q),
        ("added_by", &params.added_by),
        ("year_from", &params.year_from),
        ("year_to", &params.year_to),
    ] {
        if let Some(value) = value {
            pairs.push((key, value));
        }
    }
    if request.count {
        pairs.push(("count", "true"));
    }
    pairs.push(("after", &after));
    let encoded = serde_urlencoded::to_string(pairs).ok()?;
    HeaderValue::from_str(&format!("</api/movies?{encoded}>; rel=\"next\"")).ok()
}

const TOTAL_COUNT: header::HeaderName = header::HeaderName::from_static("x-total-count");

/// List movies, a page at a time, in the order `sort` names (newest first by default).
#[utoipa::path(get, path = "/api/movies", tag = "movies",
    params(ListParams, ("If-None-Match" = Option<String>, Header, description = "The page's last ETag: 304 while unchanged")),
    responses(
        (status = 200, description = "A page of movies; a `Link: <...>; rel=\"next\"` header when more exist", body = MoviePage,
            headers(("ETag" = String, description = "Weak validator of the page (and of its count): send it back in If-None-Match"),
                ("Link" = String, description = "`</api/movies?...&after=...>; rel=\"next\"`: the next page, when there is one"),
                ("X-Total-Count" = u64, description = "With `count=true`: how many movies the filters hold, on every page"))),
        (status = 304, description = "Not modified: the page is what `If-None-Match` names"),
        (status = 400, description = "Bad query parameter (an unknown `sort`, a cursor of another sort, a year out of 1870 to 2100...)", body = ErrorBody),
    ))]
pub async fn list_movies(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
    request_headers: HeaderMap,
) -> ApiResult<Listing> {
    let request = parse_query(raw.as_deref())?;
    let page = movies::list(state.store.as_ref(), &request.query).await?;
    let total = match request.count {
        true => Some(movies::count(state.store.as_ref(), &request.query.filters).await?),
        false => None,
    };
    let digest = page_body::digest(&page);
    // The count is part of what the client holds: a 304 must not hide a new total.
    let etag = conditional::page_etag(&match total {
        Some(total) => format!("{digest}-{total}"),
        None => digest,
    });
    if conditional::if_none_match_matches(&request_headers, &etag) {
        return Ok(Listing::NotModified { etag });
    }
    let next = page.next.as_ref().and_then(|last| next_link(&request, last));
    Ok(Listing::Page { coding: conditional::preferred_coding(&request_headers), page, etag, next, total })
}

/// The answer of `GET /api/movies`: the page (its body is a [`MoviePage`], the JSON array of
/// movies the documentation declares), or 304.
pub enum Listing {
    Page {
        page: Arc<MoviePage>,
        coding: ContentCoding,
        etag: HeaderValue,
        next: Option<HeaderValue>,
        total: Option<u64>,
    },
    NotModified {
        etag: HeaderValue,
    },
}

impl IntoResponse for Listing {
    fn into_response(self) -> Response {
        let (page, coding, etag, next, total) = match self {
            Self::NotModified { etag } => return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response(),
            Self::Page { page, coding, etag, next, total } => (page, coding, etag, next, total),
        };
        // Compressed here, once per page, rather than by the compression layer once per request.
        let (coding, body) = page_body::body_in(&page, coding);
        let mut response = (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (header::ETAG, etag),
                (header::VARY, HeaderValue::from_static("accept-encoding")),
            ],
            body,
        )
            .into_response();
        if let Some(encoding) = coding.header_value() {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        if let Some(link) = next {
            response.headers_mut().insert(header::LINK, link);
        }
        if let Some(total) = total {
            response.headers_mut().insert(TOTAL_COUNT, HeaderValue::from(total));
        }
        response
    }
}

/// A page's body is the JSON array of its movies, so its schema is an array of `Movie`
/// references (inlined, generated clients would name a second, identical movie type).
impl utoipa::PartialSchema for MoviePage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let movie = utoipa::openapi::Ref::from_schema_name(<Movie as utoipa::ToSchema>::name());
        utoipa::openapi::schema::ArrayBuilder::new().items(movie).into()
    }
}

impl utoipa::ToSchema for MoviePage {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <Vec<Movie> as utoipa::ToSchema>::schemas(schemas);
    }
}

/// Add a movie; the caller becomes its owner.
#[utoipa::path(post, path = "/api/movies", tag = "movies", security(("bearer" = [])), request_body = MovieInput,
    responses(
        (status = 200, description = "Created", body = IdResponse),
        (status = 400, description = "Invalid, missing or unknown fields", body = ErrorBody),
        (status = 409, description = "Movie with given name already exists", body = ErrorBody),
    ))]
pub async fn create_movie(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    AppJson(input): AppJson<MovieInput>,
) -> ApiResult<Json<IdResponse>> {
    let id = movies::create(state.store.as_ref(), &actor, &input.into()).await?;
    Ok(Json(IdResponse { id: id.to_string() }))
}

/// One movie.
#[utoipa::path(get, path = "/api/movies/{id}", tag = "movies",
    params(("id" = String, Path, description = "Movie id"),
        ("If-None-Match" = Option<String>, Header, description = "The movie's last ETag: 304 while unchanged")),
    responses(
        (status = 200, description = "The movie", body = Movie,
            headers(("ETag" = String, description = "Strong validator: send it in If-None-Match, or in If-Match to update or delete only this version"))),
        (status = 304, description = "Not modified: the movie is the version `If-None-Match` names"),
        (status = 404, description = "No such movie", body = ErrorBody),
    ))]
pub async fn get_movie(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let movie = movies::get(state.store.as_ref(), &id).await?;
    let etag = conditional::movie_etag(&movie);
    if conditional::if_none_match_matches(&request_headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(([(header::ETAG, etag)], Json(movie)).into_response())
}

/// A movie answer with its validator.
pub(super) fn with_etag(movie: Movie) -> Response {
    let etag = conditional::movie_etag(&movie);
    ([(header::ETAG, etag)], Json(movie)).into_response()
}

/// Replace a movie (owner or admin): name, casts and genres are required; a field not sent keeps its value.
#[utoipa::path(put, path = "/api/movies/{id}", tag = "movies", security(("bearer" = [])), request_body = MovieInput,
    params(("id" = String, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version (an ETag); `*` for any")),
    responses(
        (status = 200, description = "The updated movie", body = Movie,
            headers(("ETag" = String, description = "The new version's validator"))),
        (status = 400, description = "Invalid, missing or unknown fields", body = ErrorBody),
        (status = 403, description = "Updating movie added by other is forbidden", body = ErrorBody),
        (status = 404, description = "No such movie", body = ErrorBody),
        (status = 409, description = "Movie with given name already exists", body = ErrorBody),
        (status = 412, description = "`If-Match` names a version the movie no longer has; nothing changed", body = ErrorBody),
    ))]
pub async fn replace_movie(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
    request_headers: HeaderMap,
    AppJson(input): AppJson<MovieInput>,
) -> ApiResult<Response> {
    let expected = conditional::if_match(&request_headers);
    Ok(with_etag(movies::update(state.store.as_ref(), &actor, &id, &input.into(), &expected).await?))
}

/// Change some of a movie's fields (owner or admin).
#[utoipa::path(patch, path = "/api/movies/{id}", tag = "movies", security(("bearer" = [])), request_body = MoviePatch,
    params(("id" = String, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version (an ETag); `*` for any")),
    responses(
        (status = 200, description = "The updated movie", body = Movie,
            headers(("ETag" = String, description = "The new version's validator"))),
        (status = 400, description = "Invalid or unknown fields, or none given", body = ErrorBody),
        (status = 403, description = "Updating movie added by other is forbidden", body = ErrorBody),
        (status = 404, description = "No such movie", body = ErrorBody),
        (status = 409, description = "Movie with given name already exists", body = ErrorBody),
        (status = 412, description = "`If-Match` names a version the movie no longer has; nothing changed", body = ErrorBody),
    ))]
pub async fn patch_movie(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
    request_headers: HeaderMap,
    AppJson(patch): AppJson<MoviePatch>,
) -> ApiResult<Response> {
    let Some(fields) = patch.into_fields() else {
        return Err(ApiError::BadRequest(
            "Give at least one of name, year, runtime, casts, directors, genres, overview".into(),
        ));
    };
    let expected = conditional::if_match(&request_headers);
    Ok(with_etag(movies::update(state.store.as_ref(), &actor, &id, &fields, &expected).await?))
}

/// Delete a movie (owner or admin).
#[utoipa::path(delete, path = "/api/movies/{id}", tag = "movies", security(("bearer" = [])),
    params(("id" = String, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Delete only this version (an ETag); `*` for any")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Deleting movie added by other is forbidden", body = ErrorBody),
        (status = 404, description = "No such movie", body = ErrorBody),
        (status = 412, description = "`If-Match` names a version the movie no longer has; nothing changed", body = ErrorBody),
    ))]
pub async fn delete_movie(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
    request_headers: HeaderMap,
) -> ApiResult<StatusCode> {
    movies::delete(state.store.as_ref(), &actor, &id, &conditional::if_match(&request_headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_clamp_and_reject_non_positive_values() {
        assert_eq!(parse_limit(None).unwrap(), 100);
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("5000")).unwrap(), 1000);
        assert_eq!(parse_limit(Some("99999999999999999999999")).unwrap(), 1000);
        for bad in ["0", "-1", "abc", "", "1.5", "+3", " 2", "000"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
