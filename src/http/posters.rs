//! Posters: `PUT` and `DELETE /api/movies/{id}/poster`, and the images at
//! `/api/posters/{key}.{jpg|webp}`.
//!
//! The upload route has a body limit of its own (`POSTER_MAX_BYTES`, see [`super::received`]),
//! every other route keeps `BODY_LIMIT_BYTES`. Images are immutable: a URL names one content
//! (its key is the content's digest), so it is cached for a year, and a replaced or removed
//! poster's URLs answer 404.

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use utoipa::ToSchema;

use super::conditional;
use super::error::{ApiError, ApiResult, ErrorBody, Overload};
use super::extract::AuthUser;
use super::json::has_identity_encoding;
use crate::domain::Movie;
use crate::posters::UploadPermit;
use crate::posters::pipeline::PosterError;
use crate::service::posters::{self, PosterChangeError};
use crate::state::SharedState;

/// The upload route, which [`super::received::read_whole_body`] gives `POSTER_MAX_BYTES`.
pub const POSTER_ROUTE: &str = "/api/movies/{id}/poster";

/// Whether a request is a poster upload, the one request read up to `POSTER_MAX_BYTES`.
pub fn is_poster_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::PUT
        && path
            .strip_prefix("/api/movies/")
            .and_then(|rest| rest.strip_suffix("/poster"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Cached for a year, by anyone: the URL's content never changes.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

pub fn router(poster_max_bytes: usize) -> Router<SharedState> {
    Router::new()
        .route(POSTER_ROUTE, put(set_poster).delete(delete_poster).layer(DefaultBodyLimit::max(poster_max_bytes)))
        .route("/api/posters/{name}", get(poster_image))
}

impl From<PosterChangeError> for ApiError {
    fn from(error: PosterChangeError) -> Self {
        match error {
            PosterChangeError::Movie(error) => error.into(),
            PosterChangeError::UnsupportedType => Self::UnsupportedImageType,
            PosterChangeError::Image(PosterError::Internal(error)) => Self::internal(error),
            PosterChangeError::Image(error) => Self::BadRequest(error.to_string()),
            PosterChangeError::Busy => Self::Overloaded(Overload::Queue("poster")),
            PosterChangeError::NoPoster => Self::NotFound("The movie has no poster".into()),
        }
    }
}

/// An image's bytes, as the OpenAPI document describes an upload's body and an image answer.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageBytes(#[allow(dead_code)] Vec<u8>); // only its schema is used

/// Upload or replace a movie's poster (owner or admin).
#[utoipa::path(put, path = "/api/movies/{id}/poster", tag = "movies", security(("bearer" = [])),
    request_body(description = "The image, at most `POSTER_MAX_BYTES` (default 10 MiB) and 50 megapixels. \
        It is re-encoded at the widths 160, 320, 640 and 1280 that are not wider than it (an image narrower \
        than 160 at its own width), aspect ratio kept: JPEG, or lossless WebP when it has transparency. \
        No metadata of the upload (EXIF, GPS, XMP, ICC, comments) is kept; an EXIF orientation is applied.",
        content((ImageBytes = "image/jpeg"), (ImageBytes = "image/png"), (ImageBytes = "image/webp"))),
    params(("id" = String, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version (an ETag); `*` for any")),
    responses(
        (status = 200, description = "The movie, `poster` set; the old poster's URLs answer 404 from now on", body = Movie,
            headers(("ETag" = String, description = "The new version's validator"))),
        (status = 400, description = "Not a decodable image of the declared type, or over 50 megapixels (refused from its header, before any pixel is decoded)", body = ErrorBody),
        (status = 403, description = "Updating movie added by other is forbidden", body = ErrorBody),
        (status = 404, description = "No such movie", body = ErrorBody),
        (status = 412, description = "`If-Match` names a version the movie no longer has; nothing changed", body = ErrorBody),
        (status = 413, description = "Body over `POSTER_MAX_BYTES`", body = ErrorBody),
        (status = 415, description = "`Content-Type` is not image/jpeg, image/png or image/webp, or the body has a Content-Encoding", body = ErrorBody),
        (status = 503, description = "The poster queue is full (`code: unavailable`, with `Retry-After`); nothing changed", body = ErrorBody),
    ))]
pub async fn set_poster(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
    // Held until the answer: see `received::read_whole_body`.
    _admitted: Option<Extension<UploadPermit>>,
    request_headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if !has_identity_encoding(&request_headers) {
        return Err(ApiError::UnsupportedContentEncoding);
    }
    let content_type = request_headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let expected = conditional::if_match(&request_headers);
    let movie = posters::set(
        state.store.as_ref(),
        state.store.as_ref(),
        &state.posters,
        &actor,
        &id,
        posters::Upload { content_type, body },
        &expected,
    )
    .await?;
    Ok(super::movies::with_etag(movie))
}

/// Remove a movie's poster (owner or admin).
#[utoipa::path(delete, path = "/api/movies/{id}/poster", tag = "movies", security(("bearer" = [])),
    params(("id" = String, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version (an ETag); `*` for any")),
    responses(
        (status = 204, description = "Removed: `poster` is null and the poster's URLs answer 404"),
        (status = 403, description = "Updating movie added by other is forbidden", body = ErrorBody),
        (status = 404, description = "No such movie, or it has no poster", body = ErrorBody),
        (status = 412, description = "`If-Match` names a version the movie no longer has; nothing changed", body = ErrorBody),
    ))]
pub async fn delete_poster(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
    request_headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let expected = conditional::if_match(&request_headers);
    posters::remove(state.store.as_ref(), state.store.as_ref(), &actor, &id, &expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A poster image: a URL from a movie's `poster.sources`.
#[utoipa::path(get, path = "/api/posters/{name}", tag = "movies",
    params(("name" = String, Path, description = "`{key}.jpg` or `{key}.webp`, as `poster.sources[].url` names it"),
        ("If-None-Match" = Option<String>, Header, description = "The image's ETag: 304 while it is served")),
    responses(
        (status = 200, description = "The image", content((ImageBytes = "image/jpeg"), (ImageBytes = "image/webp")),
            headers(("ETag" = String, description = "Strong validator (the image's key)"),
                ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"))),
        (status = 304, description = "Not modified: the image is the one `If-None-Match` names"),
        (status = 404, description = "No such image: never one, or its poster was replaced or removed, or its movie deleted", body = ErrorBody),
    ))]
pub async fn poster_image(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let Some((key, image)) = posters::image(state.store.as_ref(), &name).await? else {
        return Err(ApiError::NotFound("No such poster image".into()));
    };
    let etag = HeaderValue::from_str(&format!("\"{key}\"")).map_err(ApiError::internal)?;
    if conditional::if_none_match_matches(&request_headers, &etag) {
        return Ok(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, IMMUTABLE)]).into_response()
        );
    }
    let content_type = HeaderValue::from_str(&image.content_type).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::ETAG, etag), (header::CACHE_CONTROL, IMMUTABLE)], image.bytes)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn only_a_put_to_a_movies_poster_is_a_poster_upload() {
        assert!(is_poster_upload(&Method::PUT, "/api/movies/0190-abc/poster"));
        assert!(!is_poster_upload(&Method::DELETE, "/api/movies/0190-abc/poster"));
        assert!(!is_poster_upload(&Method::PUT, "/api/movies/0190-abc"));
        assert!(!is_poster_upload(&Method::PUT, "/api/movies//poster"));
        assert!(!is_poster_upload(&Method::PUT, "/api/movies/a/b/poster"));
        assert!(!is_poster_upload(&Method::POST, "/api/movies"));
    }
}
