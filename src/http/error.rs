//! The one error type every handler returns, and the contract's JSON error body.
//!
//! Each variant names its HTTP status. Server-side failures carry their cause, which is logged
//! once, where the response is made ([`IntoResponse`]), and never sent: a client reads "Something
//! went wrong" or "Service unavailable" only, with no SQL, no stack, no paths. Converting an error
//! into an `ApiError` logs nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::password::HashError;
use crate::service::FieldErrors;
use crate::store::StoreError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// For people; may change between versions.
    #[schema(example = "Request is missing required fields")]
    pub message: String,
    /// The HTTP status, repeated for clients that only see the body.
    #[schema(example = 400)]
    pub status: u16,
    /// Stable, for programs: `validation_failed`, `bad_request`, `unauthorized`, `forbidden`,
    /// `insufficient_scope`, `email_unverified`, `not_found`, `method_not_allowed`, `conflict`, `precondition_failed`,
    /// `request_timeout`, `payload_too_large`,
    /// `unsupported_media_type`, `rate_limited`, `internal_error`, `unavailable`, `timeout`.
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    /// Per-field reasons, on validation failures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::schemas::field_errors)]
    pub errors: Option<FieldErrors>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or query parsed but broke an input rule.
    #[error("{message}")]
    Validation { message: String, errors: FieldErrors },
    /// 400: the request could not be understood at all.
    #[error("{0}")]
    BadRequest(String),
    /// 401 with `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`: a personal access token
    /// asked for what its scopes do not cover (RFC 6750 3.1).
    #[error("{0}")]
    InsufficientScope(String),
    /// 403 `email_unverified`: `REQUIRE_VERIFIED_EMAIL` is on and the account has not verified
    /// its address; it may read and manage itself, nothing else.
    #[error("Verify your email address first: open the link emailed to you, or ask for a new one")]
    EmailUnverified,
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with existing data.
    #[error("{0}")]
    Conflict(String),
    /// 412: `If-Match` names a version the resource no longer has; nothing was changed.
    #[error("The movie was changed since the version given in If-Match")]
    PreconditionFailed,
    /// 408 with `Connection: close`: the body did not arrive whole within `BODY_READ_TIMEOUT`;
    /// nothing was done.
    #[error("The request body did not arrive in time")]
    BodyTimeout,
    /// 413.
    #[error("Request body is too large")]
    PayloadTooLarge,
    /// 413: an archive within the body limit that unpacks past what an import reads.
    #[error("{0}")]
    UnpackedTooLarge(String),
    /// 415.
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// 415: a poster upload that is not JPEG, PNG or WebP.
    #[error("Content-Type must be image/jpeg, image/png or image/webp")]
    UnsupportedImageType,
    /// 415: a library import that is neither a zip nor a CSV.
    #[error("Content-Type must be application/zip or text/csv")]
    UnsupportedExportType,
    /// 415 with `Accept-Encoding: identity`: the body has a content coding the server does not
    /// decode (RFC 9110 15.5.16); it was not read.
    #[error("Content-Encoding is not supported: send the request body unencoded")]
    UnsupportedContentEncoding,
    /// 429 with `Retry-After`.
    #[error("Too many requests, try again later")]
    TooManyRequests { retry_after: Duration },
    /// 503 with `Retry-After`: a dependency (the database) does not answer. The cause, when
    /// there is one, is logged, not sent.
    #[error("Service unavailable")]
    Unavailable(Option<Arc<dyn std::error::Error + Send + Sync>>),
    /// 503 with `Retry-After`: an internal queue is at its bound; nothing was done.
    #[error("The server is busy, try again shortly")]
    Overloaded(Overload),
    /// 503: the request took longer than `REQUEST_TIMEOUT`; its work was cancelled.
    #[error("The request took too long")]
    Timeout,
    /// 500: logged in full, answered without detail.
    #[error("Something went wrong")]
    Internal(#[source] anyhow::Error),
}

/// What was at its bound when a request was answered [`ApiError::Overloaded`]; for the log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// An internal queue of the store, by name.
    Queue(&'static str),
    /// The password hashing queue.
    PasswordHashing,
    /// The client left while its password hash waited: nobody reads the answer, which only has
    /// to be something other than success; not logged.
    ClientGone,
}

impl ApiError {
    pub fn validation(field: &str, reason: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![reason.into()]);
        Self::Validation { message: "Request has invalid fields".to_owned(), errors }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::InsufficientScope(_) | Self::EmailUnverified => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge | Self::UnpackedTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType
            | Self::UnsupportedImageType
            | Self::UnsupportedExportType
            | Self::UnsupportedContentEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Overloaded(_) | Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The one log line of a server-side failure, with what the client is not told; nothing for
    /// the client's own mistakes.
    fn log(&self) {
        match self {
            Self::Unavailable(Some(cause)) => tracing::error!(error = %cause, "database unavailable"),
            Self::Overloaded(Overload::Queue(queue)) => tracing::warn!(queue = *queue, "request refused: queue full"),
            Self::Overloaded(Overload::PasswordHashing) => {
                tracing::warn!("request refused: password hashing queue full");
            }
            Self::Internal(source) => tracing::error!(error = ?source, "request failed"),
            _ => {}
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation_failed",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::EmailUnverified => "email_unverified",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::BodyTimeout => "request_timeout",
            Self::PayloadTooLarge | Self::UnpackedTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType
            | Self::UnsupportedImageType
            | Self::UnsupportedExportType
            | Self::UnsupportedContentEncoding => "unsupported_media_type",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Unavailable(_) | Self::Overloaded(_) => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            // Callers that expect a conflict map it to their own message first; one that
            // reaches here is still the client's doing, not a server fault.
            StoreError::Conflict(conflict) => Self::Conflict(conflict.to_string()),
            StoreError::Unavailable(e) => Self::Unavailable(Some(e)),
            StoreError::Overloaded(queue) => Self::Overloaded(Overload::Queue(queue)),
            StoreError::Other(e) => Self::Internal(anyhow::anyhow!("{e:#}")),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Overloaded(Overload::PasswordHashing),
            HashError::ClientGone => Self::Overloaded(Overload::ClientGone),
            HashError::Failed(e) => Self::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log();
        let errors = match &self {
            Self::Validation { errors, .. } => Some(errors.clone()),
            _ => None,
        };
        let body = ErrorBody { message: self.to_string(), status: status.as_u16(), code: self.code(), errors };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::InsufficientScope(_) => {
                headers
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"insufficient_scope\""));
            }
            Self::TooManyRequests { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            Self::Unavailable(_) | Self::Overloaded(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // The rest of the body may still be on its way: the connection cannot carry another
            // request, so it ends after this answer.
            Self::BodyTimeout => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Self::UnsupportedContentEncoding => {
                headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_or_hashing_refusal_keeps_its_cause_for_the_log_and_answers_503_with_retry_after() {
        let cases = [
            ApiError::from(StoreError::unavailable("connection refused")),
            ApiError::from(StoreError::Overloaded("write")),
            ApiError::from(HashError::Busy),
            ApiError::from(HashError::ClientGone),
        ];
        for error in cases {
            let shown = error.to_string();
            assert!(!shown.contains("connection refused") && !shown.contains("write"), "{shown}");
            let response = error.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
        assert!(matches!(
            ApiError::from(StoreError::unavailable("connection refused")),
            ApiError::Unavailable(Some(cause)) if cause.to_string() == "connection refused"
        ));
        assert!(matches!(
            ApiError::from(StoreError::Overloaded("write")),
            ApiError::Overloaded(Overload::Queue("write"))
        ));
    }
}
