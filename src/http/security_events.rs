//! `/api/users/me/security-events` and an admin's `/api/users/{id}/security-events`: what
//! happened to an account, newest first, a page at a time.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;

use super::cursor;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminUser, AuthUser};
use super::movies::{DEFAULT_LIMIT, MAX_LIMIT, parse_page_size};
use crate::domain::UserId;
use crate::service::security_events::{self, SecurityEvent};
use crate::service::users::UserError;
use crate::state::SharedState;
use crate::store::{EventCursor, EventQuery};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/users/me/security-events", get(my_events))
        .route("/api/users/{id}/security-events", get(user_events))
}

/// Query parameters of the security events' pages.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Page size: default 100, at most 1000 (larger is clamped).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
    /// Cursor from the previous page's `Link: rel="next"` header.
    pub after: Option<String>,
}

fn parse_event_query(raw: Option<&str>, user_id: UserId) -> ApiResult<EventQuery> {
    let params: EventParams = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| ApiError::BadRequest("Malformed query string (is a parameter repeated?)".into()))?;
    let after = match params.after.as_deref() {
        Some(raw) => {
            Some(cursor::decode_event(raw).ok_or_else(|| ApiError::validation("after", "is not a valid cursor"))?)
        }
        None => None,
    };
    let limit = parse_page_size(params.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    Ok(EventQuery { user_id, limit, after })
}

/// The page as JSON, with `Link: <path?limit=..&after=..>; rel="next"` when more may follow.
fn page_response(path: &str, query: &EventQuery, events: Vec<SecurityEvent>, next: Option<EventCursor>) -> Response {
    let mut response = Json(events).into_response();
    let link = next.and_then(|last| {
        let (limit, after) = (query.limit.to_string(), cursor::encode_event(&last));
        let encoded = serde_urlencoded::to_string([("limit", limit.as_str()), ("after", after.as_str())]).ok()?;
        HeaderValue::from_str(&format!("<{path}?{encoded}>; rel=\"next\"")).ok()
    });
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// The caller's security events (sign-ins, failed ones, sessions ended, password and role
/// changes, tokens), newest first. Failed logins fold into one event per hour, with a `count`.
#[utoipa::path(get, path = "/api/users/me/security-events", tag = "users", security(("bearer" = [])),
    params(EventParams),
    responses(
        (status = 200, description = "A page of events; a `Link: <...>; rel=\"next\"` header when more may follow", body = [SecurityEvent],
            headers(("Link" = String, description = "`</api/users/me/security-events?limit=...&after=...>; rel=\"next\"`: the next page"))),
        (status = 400, description = "Bad `limit` or `after`", body = ErrorBody),
    ))]
pub async fn my_events(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = parse_event_query(raw.as_deref(), actor.user.id.clone())?;
    let (events, next) = security_events::page(state.store.as_ref(), &query).await?;
    Ok(page_response("/api/users/me/security-events", &query, events, next))
}

/// A user's security events (admin only), as `GET /api/users/me/security-events` shows them.
#[utoipa::path(get, path = "/api/users/{id}/security-events", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id"), EventParams),
    responses(
        (status = 200, description = "A page of events; a `Link: <...>; rel=\"next\"` header when more may follow", body = [SecurityEvent],
            headers(("Link" = String, description = "`</api/users/{id}/security-events?limit=...&after=...>; rel=\"next\"`: the next page"))),
        (status = 400, description = "Bad `limit` or `after`", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn user_events(
    State(state): State<SharedState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let user_id = UserId::parse(&id).ok_or(UserError::NotFound)?;
    let query = parse_event_query(raw.as_deref(), user_id)?;
    let store = state.store.as_ref();
    let (events, next) = security_events::page_of_user(store, store, &query).await?;
    let path = format!("/api/users/{}/security-events", query.user_id);
    Ok(page_response(&path, &query, events, next))
}
