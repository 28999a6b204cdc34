//! `/api/auth/*`: signup, login, refresh, logout, password change and reset.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AuthRateLimit, AuthUser, Client, ClientAddr};
use super::json::AppJson;
use crate::service::access_tokens::{self, AccessTokenView, CreatedAccessToken};
use crate::service::auth::{self, AuthError, LoginOutcome, TokenPair};
use crate::service::sessions::{self, SessionView};
use crate::state::SharedState;

/// Credential and session refusals as HTTP, in the tutorial's words where it had them.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Invalid(invalid) => invalid.into(),
            AuthError::EmailTaken => Self::Conflict("User with given email address already exists".into()),
            AuthError::InvalidCredentials => Self::Unauthorized("Invalid username or password".into()),
            AuthError::Throttled { retry_after } => Self::TooManyRequests { retry_after },
            AuthError::InvalidRefreshToken => Self::Unauthorized("Invalid or expired refresh token".into()),
            AuthError::InvalidResetToken => Self::BadRequest("Invalid, used or expired reset token".into()),
            AuthError::InvalidAccessToken => Self::Unauthorized("Invalid or expired token".into()),
            AuthError::NoSuchSession => Self::NotFound("Session not found".into()),
            AuthError::NoSuchAccessToken => Self::NotFound("Access token not found".into()),
            AuthError::TooManyAccessTokens { cap } => {
                Self::Conflict(format!("An account holds at most {cap} access tokens: revoke one first"))
            }
            AuthError::Account(error) => error.into(),
            AuthError::Hashing(error) => error.into(),
            AuthError::Store(error) => error.into(),
            AuthError::Signing(error) => Self::internal(error),
        }
    }
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/logout-all", post(logout_all))
        .route("/api/auth/password", put(change_password))
        .route("/api/auth/forgot", post(forgot))
        .route("/api/auth/reset", post(reset))
        .route("/api/auth/sessions", get(list_sessions))
        .route("/api/auth/sessions/{id}", delete(end_session))
        .route("/api/auth/tokens", get(list_tokens).post(create_token))
        .route("/api/auth/tokens/{id}", delete(revoke_token))
}

// The body of signup and login; in the document its schema keeps the name `Credentials`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = Credentials)]
#[serde(deny_unknown_fields)]
pub struct EmailAndPassword {
    #[schema(example = "ann@example.com", max_length = 254)]
    pub email: String,
    #[schema(example = "correct horse battery staple", min_length = 1, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdResponse {
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    #[schema(example = "ann@example.com")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The token from the reset email.
    pub reset_token: String,
    pub password: String,
}

/// Create an account.
#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = EmailAndPassword,
    responses(
        (status = 200, description = "Account created", body = IdResponse),
        (status = 400, description = "Invalid or missing fields", body = ErrorBody),
        (status = 409, description = "Email already taken", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn signup(
    _rate_limit: AuthRateLimit,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<EmailAndPassword>,
) -> ApiResult<Json<IdResponse>> {
    let id = auth::signup(&state.auth(), &body.email, &body.password, &seen).await?;
    Ok(Json(IdResponse { id: id.to_string() }))
}

/// Log in: starts a session and returns its access and refresh tokens; with two-step sign-in
/// on, returns the token of the second step instead.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = EmailAndPassword,
    responses(
        (status = 200, description = "Logged in: the tokens, or, when the account has two-step sign-in on, \
            `mfa_required` and the `mfa_token` for `POST /api/auth/login/mfa` (no tokens yet)", body = LoginOutcome),
        (status = 400, description = "Missing or mistyped fields", body = ErrorBody),
        (status = 401, description = "Invalid username or password", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn login(
    // The address's limit is counted by the service, with the account's, in one round trip.
    ClientAddr(client): ClientAddr,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<EmailAndPassword>,
) -> ApiResult<Json<LoginOutcome>> {
    Ok(Json(auth::login(&state.auth(), &body.email, &body.password, client, &seen).await?))
}

/// Trade a refresh token for a new token pair; the old refresh token stops working. Presenting
/// a refresh token that was already traded (a copy, stolen or replayed) revokes its whole
/// session: every token of it is refused from then on, and the answer is 401.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 400, description = "Missing or mistyped fields", body = ErrorBody),
        (status = 401, description = "Unknown, used, revoked or expired refresh token", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn refresh(
    _rate_limit: AuthRateLimit,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(auth::refresh(&state.auth(), &body.refresh_token, &seen).await?))
}

/// End this session: its access and refresh tokens stop working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
    ))]
pub async fn logout(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
) -> ApiResult<StatusCode> {
    auth::logout(&state.auth(), &actor, &seen).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of this user.
#[utoipa::path(post, path = "/api/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
    ))]
pub async fn logout_all(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
) -> ApiResult<StatusCode> {
    auth::logout_all(&state.auth(), &actor, &seen).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password; every session (this one too) ends, so the client logs in again.
#[utoipa::path(put, path = "/api/auth/password", tag = "auth", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Wrong current password or invalid new one", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn change_password(
    AuthRateLimit(client): AuthRateLimit,
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    AppJson(body): AppJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    auth::change_password(&state.auth(), &actor, client, &seen, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a password reset email. The answer is the same whether or not the account exists.
#[utoipa::path(post, path = "/api/auth/forgot", tag = "auth", request_body = ForgotRequest,
    responses(
        (status = 202, description = "Accepted; an email is sent if the account exists", body = MessageResponse),
        (status = 400, description = "Invalid email", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn forgot(
    _rate_limit: AuthRateLimit,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<ForgotRequest>,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    let message = auth::forgot(&state.auth(), &body.email, &seen).await?;
    Ok((StatusCode::ACCEPTED, Json(MessageResponse { message: message.into() })))
}

/// Set a new password with the token from the reset email; every session ends.
#[utoipa::path(post, path = "/api/auth/reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 200, description = "Password reset", body = MessageResponse),
        (status = 400, description = "Bad, used or expired token, or invalid password", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
pub async fn reset(
    _rate_limit: AuthRateLimit,
    State(state): State<SharedState>,
    Client(seen): Client,
    AppJson(body): AppJson<ResetRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let message = auth::reset(&state.auth(), &body.reset_token, &body.password, &seen).await?;
    Ok(Json(MessageResponse { message: message.into() }))
}

/// This user's live sessions, newest first: where each signed in from, when it was last used,
/// and which one this request came with.
#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions", body = [SessionView]),
    ))]
pub async fn list_sessions(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(sessions::list(&state.auth(), &actor).await?))
}

/// End one of this user's sessions: its access and refresh tokens stop working at once, on
/// every server process.
#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 404, description = "No live session of this user has that id", body = ErrorBody),
    ))]
pub async fn end_session(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    sessions::end(&state.auth(), &actor, &id, &seen).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// For the owner's list, e.g. the machine it is for.
    #[schema(example = "backup script", min_length = 1, max_length = 100)]
    pub name: String,
    /// What it may write besides reading: `movies:write` (its user's own movies and posters),
    /// `library:write` (the library). Empty: a read-only token.
    #[schema(example = json!(["movies:write"]))]
    pub scopes: Vec<String>,
    /// Seconds until it stops working, 60 to 31622400 (366 days); omitted: never.
    #[schema(minimum = 60, maximum = 31622400)]
    pub expires_in: Option<u64>,
}

/// Create a personal access token, for `Authorization: Bearer mbp_...`. The token is in this
/// answer only. Needs a signed-in session: an access token cannot make another (403).
#[utoipa::path(post, path = "/api/auth/tokens", tag = "auth", security(("bearer" = [])), request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; `token` is shown this once", body = CreatedAccessToken),
        (status = 400, description = "Invalid name, scopes or expires_in", body = ErrorBody),
        (status = 403, description = "Called with an access token", body = ErrorBody),
        (status = 409, description = "The account holds 50 tokens already", body = ErrorBody),
    ))]
pub async fn create_token(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    AppJson(body): AppJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedAccessToken>)> {
    let created =
        access_tokens::create(&state.auth(), &actor, &body.name, &body.scopes, body.expires_in, &seen).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// This user's personal access tokens, newest first (never the tokens themselves).
#[utoipa::path(get, path = "/api/auth/tokens", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens", body = [AccessTokenView]),
        (status = 403, description = "Called with an access token", body = ErrorBody),
    ))]
pub async fn list_tokens(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
) -> ApiResult<Json<Vec<AccessTokenView>>> {
    Ok(Json(access_tokens::list(&state.auth(), &actor).await?))
}

/// Revoke a personal access token: refused from the next request on, by every server process.
#[utoipa::path(delete, path = "/api/auth/tokens/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Called with an access token", body = ErrorBody),
        (status = 404, description = "No token of this user has that id", body = ErrorBody),
    ))]
pub async fn revoke_token(
    State(state): State<SharedState>,
    AuthUser(actor): AuthUser,
    Client(seen): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    access_tokens::revoke(&state.auth(), &actor, &id, &seen).await?;
    Ok(StatusCode::NO_CONTENT)
}
