//! Two-step sign-in: `/api/auth/mfa/totp` (enrol, confirm, turn off), the second step of a
//! login (`/api/auth/login/mfa`) and an admin's reset (`/api/users/{id}/mfa`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminUser, AuthRateLimit, AuthUser, Client};
use super::json::AppJson;
use crate::service::auth::TokenPair;
use crate::service::mfa::{self, MfaError, RecoveryCodes, TotpEnrolment};
use crate::state::SharedState;

/// One answer for every refused second step: it tells nothing of why (unknown, used, expired
/// or failed-out token; wrong or reused code).
const INVALID_SECOND_STEP: &str = "Invalid code, or the sign-in expired: log in again";

impl From<MfaError> for ApiError {
    fn from(error: MfaError) -> Self {
        match error {
            MfaError::Invalid(invalid) => invalid.into(),
            MfaError::AlreadyOn => Self::Conflict("Two-step sign-in is on already: turn it off first".into()),
            MfaError::NotPending => Self::BadRequest(
                "No two-step sign-in is waiting for a first code: start with POST /api/auth/mfa/totp".into(),
            ),
            MfaError::NotOn => Self::BadRequest("Two-step sign-in is not on".into()),
            MfaError::InvalidSecondStep => Self::Unauthorized(INVALID_SECOND_STEP.into()),
            MfaError::NoSuchUser => Self::NotFound("User with given id doesn't exist".into()),
            MfaError::Throttled { retry_after } => Self::TooManyRequests { retry_after },
            MfaError::Auth(error) => error.into(),
            MfaError::Store(error) => error.into(),
        }
    }
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/auth/mfa/totp", post(enrol).delete(disable))
        .route("/api/auth/mfa/totp/confirm", post(confirm))
        .route("/api/auth/login/mfa", post(login_second_step))
        .route("/api/users/{id}/mfa", delete(reset_by_admin))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The account's current password.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The six digits the authenticator app shows now.
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpRequest {
    pub password: String,
    /// A code from the app, or one of the recovery codes.
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondStepRequest {
    /// From the login's `mfa_required` answer.
    pub mfa_token: String,
    /// A code from the app, or one of the recovery codes.
    #[schema(example = "123456")]
    pub code: String,
}

/// Start two-step sign-in with TOTP: a new secret for an authenticator app, pending until
/// `POST /api/auth/mfa/totp/confirm` sends its first code (calling this again meanwhile replaces
/// the pending secret). The secret is in this answer only. Needs a signed-in session.
#[utoipa::path(post, path = "/api/auth/mfa/totp", tag = "auth", security(("bearer" = [])), request_body = PasswordRequest,
    responses(
        (status = 200, description = "The pending secret (RFC 6238: SHA-1, 6 digits, 30 s)", body = TotpEnrolment),
        (status = 400, description = "Wrong or missing password (`errors.password`)", body = ErrorBody),
        (status = 403, description = "Called with a personal access token", body = ErrorBody),
        (status = 409, description = "Two-step sign-in is on already", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn enrol(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    AppJson(body): AppJson<PasswordRequest>,
) -> ApiResult<Json<TotpEnrolment>> {
    Ok(Json(mfa::enrol(&state.auth(), &actor, &body.password, client).await?))
}

/// Turn two-step sign-in on with the pending secret's current code. The answer holds ten
/// recovery codes, shown this once; the owner is told by email.
#[utoipa::path(post, path = "/api/auth/mfa/totp/confirm", tag = "auth", security(("bearer" = [])), request_body = CodeRequest,
    responses(
        (status = 200, description = "On; the recovery codes", body = RecoveryCodes),
        (status = 400, description = "Wrong code (`errors.code`), or no enrolment pending", body = ErrorBody),
        (status = 403, description = "Called with a personal access token", body = ErrorBody),
        (status = 409, description = "Two-step sign-in is on already", body = ErrorBody),
        (status = 429, description = "Rate limited, or the account's failed checks are over the limit", body = ErrorBody),
    ))]
pub async fn confirm(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    AppJson(body): AppJson<CodeRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(mfa::confirm(&state.auth(), &actor, &body.code, client, &seen).await?))
}

/// Turn two-step sign-in off, with the password and a code (or a recovery code); the owner is
/// told by email.
#[utoipa::path(delete, path = "/api/auth/mfa/totp", tag = "auth", security(("bearer" = [])), request_body = DisableTotpRequest,
    responses(
        (status = 204, description = "Off"),
        (status = 400, description = "Wrong password (`errors.password`) or code (`errors.code`), or not on", body = ErrorBody),
        (status = 403, description = "Called with a personal access token", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn disable(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    AppJson(body): AppJson<DisableTotpRequest>,
) -> ApiResult<StatusCode> {
    mfa::disable(&state.auth(), &actor, &body.password, &body.code, client, &seen).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The second step of a login on an account with two-step sign-in: the `mfa_token` of the
/// login's answer and a code (or a recovery code) start the session, as a login does. A code
/// works once; five wrong codes end the `mfa_token`; wrong codes count in the account's
/// failed-login limit.
#[utoipa::path(post, path = "/api/auth/login/mfa", tag = "auth", request_body = SecondStepRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 400, description = "Missing or mistyped fields", body = ErrorBody),
        (status = 401, description = "Wrong or reused code, or an unknown, used or expired mfa_token", body = ErrorBody),
        (status = 429, description = "Rate limited, or the account's failed sign-ins are over the limit", body = ErrorBody),
    ))]
pub async fn login_second_step(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<SecondStepRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(mfa::login_second_step(&state.auth(), &body.mfa_token, &body.code, client, &seen).await?))
}

/// Turn a user's two-step sign-in off (admin only): for a lost phone and lost recovery codes,
/// or after `JWT_SECRET_KEY` was rotated (which makes enrolled secrets unreadable). The user is
/// told by email.
#[utoipa::path(delete, path = "/api/users/{id}/mfa", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Off (or was not on)"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn reset_by_admin(
    State(state): State<SharedState>,
    AdminUser(admin): AdminUser,
    Client(seen): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    mfa::reset_by_admin(&state.auth(), &admin, &id, &seen).await?;
    Ok(StatusCode::NO_CONTENT)
}
