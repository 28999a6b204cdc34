//! `/api/genres`, `/api/casts`, `/api/directors`: the entries of each list with the number of
//! movies that list them, for autocomplete and genre pages.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::movies::{filter_value, parse_page_size};
use crate::service::movies;
use crate::state::SharedState;
use crate::store::{CatalogueEntry, EntryKind};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/genres", get(genres))
        .route("/api/casts", get(casts))
        .route("/api/directors", get(directors))
}

/// Query of the browsing endpoints.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryParams {
    /// Only entries that start with this, or one of whose words does ("pac" finds "Al
    /// Pacino"), ignoring case.
    pub q: Option<String>,
    /// How many: 1 to 100 (larger values are clamped), default 20.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

async fn entries(state: &SharedState, kind: EntryKind, raw: Option<&str>) -> ApiResult<Json<Vec<CatalogueEntry>>> {
    let params: EntryParams = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| ApiError::BadRequest("Malformed query string (is a parameter repeated?)".into()))?;
    let limit = parse_page_size(params.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let prefix = filter_value("q", params.q)?;
    let prefix = prefix.as_deref().map(str::trim);
    Ok(Json(movies::entries(state.store.as_ref(), kind, prefix, limit).await?))
}

/// Genres, most used first.
#[utoipa::path(get, path = "/api/genres", tag = "browse", params(EntryParams),
    responses(
        (status = 200, description = "Genres with the number of movies that list each (entries compare ignoring case), most used first, ties by name", body = Vec<CatalogueEntry>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn genres(State(state): State<SharedState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Vec<CatalogueEntry>>> {
    entries(&state, EntryKind::Genre, raw.as_deref()).await
}

/// Cast members, most used first.
#[utoipa::path(get, path = "/api/casts", tag = "browse", params(EntryParams),
    responses(
        (status = 200, description = "Cast members with the number of movies that list each, most used first, ties by name", body = Vec<CatalogueEntry>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn casts(State(state): State<SharedState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Vec<CatalogueEntry>>> {
    entries(&state, EntryKind::Cast, raw.as_deref()).await
}

/// Directors, most used first.
#[utoipa::path(get, path = "/api/directors", tag = "browse", params(EntryParams),
    responses(
        (status = 200, description = "Directors with the number of movies that list each, most used first, ties by name", body = Vec<CatalogueEntry>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn directors(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<CatalogueEntry>>> {
    entries(&state, EntryKind::Director, raw.as_deref()).await
}
