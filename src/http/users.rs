//! `/api/users/*`: the caller's account, and user administration for admins.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminUser, AuthRateLimit, AuthUser, Client};
use super::json::AppJson;
use crate::domain::User;
use crate::service::users::{self, Profile, UserError};
use crate::state::SharedState;

/// Account refusals as HTTP.
impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Invalid(invalid) => invalid.into(),
            UserError::NotFound => Self::NotFound("User with given id doesn't exist".into()),
            UserError::LastAdmin => Self::Conflict(
                "The last admin cannot give up the role or be deleted: promote another admin first".into(),
            ),
            UserError::OwnAccount => Self::Forbidden(
                "Delete your own account with DELETE /api/users/me, which asks for your password".into(),
            ),
            UserError::Throttled { retry_after } => Self::TooManyRequests { retry_after },
            UserError::Hashing(error) => error.into(),
            UserError::Store(error) => error.into(),
        }
    }
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/users", get(list_users))
        .route("/api/users/me", get(me).delete(delete_me))
        .route("/api/users/{id}", patch(set_role).delete(delete_user))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The account's current password.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    #[schema(example = "admin", pattern = "^(user|admin)$")]
    pub role: String,
}

/// The caller's account and the ids of their movies.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Profile),
    ))]
pub async fn me(State(state): State<SharedState>, AuthUser(actor): AuthUser) -> ApiResult<Json<Profile>> {
    let store = state.store.as_ref();
    Ok(Json(users::profile(store, store, &actor).await?))
}

/// Delete the caller's account and every movie it added; needs the password.
#[utoipa::path(delete, path = "/api/users/me", tag = "users", security(("bearer" = [])), request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Wrong or missing password", body = ErrorBody),
        (status = 409, description = "The last admin cannot delete their account", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn delete_me(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    AppJson(body): AppJson<DeleteAccountRequest>,
) -> ApiResult<StatusCode> {
    let gate = state.auth().password_gate(client);
    users::delete_own_account(state.store.as_ref(), &state.hasher, &gate, &actor, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user (admin only); never a password hash.
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "All users", body = [User]),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn list_users(State(state): State<SharedState>, _admin: AdminUser) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(users::list(state.store.as_ref()).await?))
}

/// Set a user's role (admin only).
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", security(("bearer" = [])), request_body = RoleRequest,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, description = "Invalid role", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It would leave no admin", body = ErrorBody),
    ))]
pub async fn set_role(
    State(state): State<SharedState>,
    AdminUser(admin): AdminUser,
    Client(seen): Client,
    Path(id): Path<String>,
    AppJson(body): AppJson<RoleRequest>,
) -> ApiResult<Json<User>> {
    let store = state.store.as_ref();
    Ok(Json(users::set_role(store, store, &admin, &id, &body.role, &seen).await?))
}

/// Delete a user and every movie they added (admin only).
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin, or the admin's own account (use DELETE /api/users/me)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It would leave no admin", body = ErrorBody),
    ))]
pub async fn delete_user(
    State(state): State<SharedState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    users::delete(state.store.as_ref(), &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
