//! `/api/auth/verify`, `/api/auth/verify/resend`, `/api/auth/email`: verifying the account's
//! address and changing it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::MessageResponse;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AuthRateLimit, AuthUser, Client};
use super::json::AppJson;
use crate::service::verification::{self, VerificationError};
use crate::state::SharedState;

impl From<VerificationError> for ApiError {
    fn from(error: VerificationError) -> Self {
        match error {
            VerificationError::Invalid(invalid) => invalid.into(),
            VerificationError::InvalidToken => Self::BadRequest("Invalid, used or expired verification token".into()),
            VerificationError::EmailTaken => Self::Conflict("User with given email address already exists".into()),
            VerificationError::AlreadyVerified => Self::Conflict("Your email address is verified already".into()),
            VerificationError::Throttled { retry_after } => Self::TooManyRequests { retry_after },
            VerificationError::Account(error) => error.into(),
            VerificationError::Store(error) => error.into(),
        }
    }
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/auth/verify", post(verify))
        .route("/api/auth/verify/resend", post(resend))
        .route("/api/auth/email", put(change_email))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The token from the link (`/verify?token=...`) in the email.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    #[schema(example = "ann@example.org", max_length = 254)]
    pub new_email: String,
    /// The account's current password.
    pub password: String,
}

/// Use the link from a verification email: it proves the account's address, or (sent for a
/// change of address) makes its address the account's, verified. Single use; expires after
/// `VERIFY_TOKEN_TTL`. Needs no token: the link is the proof.
#[utoipa::path(post, path = "/api/auth/verify", tag = "auth", request_body = VerifyRequest,
    responses(
        (status = 200, description = "Verified, or the address changed", body = MessageResponse),
        (status = 400, description = "Bad, used or expired token, or a missing field", body = ErrorBody),
        (status = 409, description = "A change of address whose address another account took meanwhile: nothing changed", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn verify(
    _rate_limit: AuthRateLimit,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<VerifyRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let message = verification::verify(&state.auth(), state.store.as_ref(), &body.token, &seen).await?;
    Ok(Json(MessageResponse { message: message.into() }))
}

/// Email the account a new verification link (earlier ones stop working). At most 3 an hour
/// per account, together with changes of address, on every server process.
#[utoipa::path(post, path = "/api/auth/verify/resend", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way"),
        (status = 409, description = "The address is verified already: nothing was sent", body = ErrorBody),
        (status = 429, description = "3 links this hour already; see Retry-After", body = ErrorBody),
    ))]
pub async fn resend(State(state): State<SharedState>, AuthUser(actor): AuthUser) -> ApiResult<StatusCode> {
    verification::resend(&state.auth(), state.store.as_ref(), &actor).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Change the account's address: a link goes to the new address, and the change is made when
/// it is used (`POST /api/auth/verify`); the current address is told at once. Needs the
/// password. Counts against the same 3 links an hour as a resend.
#[utoipa::path(put, path = "/api/auth/email", tag = "auth", security(("bearer" = [])), request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "The link is on its way to the new address"),
        (status = 400, description = "Invalid new address, wrong or missing password", body = ErrorBody),
        (status = 409, description = "Another account has that address", body = ErrorBody),
        (status = 429, description = "Rate limited (the password checks, or 3 links this hour)", body = ErrorBody),
    ))]
pub async fn change_email(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    AppJson(body): AppJson<ChangeEmailRequest>,
) -> ApiResult<StatusCode> {
    let deps = state.auth();
    verification::request_change(&deps, state.store.as_ref(), &actor, client, &seen, &body.new_email, &body.password)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
