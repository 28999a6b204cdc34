//! `AppJson`: the JSON body extractor whose every rejection is the contract's error body.
//!
//! axum's own `Json` answers some failures with plain text and 422; clients of this API get
//! 415 for a wrong content type, 413 for an oversized body and 400 with a field map for
//! everything else (malformed JSON, not an object, missing, unknown or mistyped fields).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldErrors};

pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("Could not read the request body".into())
            }
        })?;
        parse_object(&bytes).map(AppJson)
    }
}

/// `application/json`, with or without parameters, or any `application/*+json`.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON object into `T`, naming the offending field on failure.
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::BadRequest("Request body is not valid JSON".into()))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest("Request body must be a JSON object".into()));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let (field, reason) = describe(&path, &inner);
        // The tutorial's own tests (Part 6) pin this message for missing and unknown fields.
        let message = if inner.starts_with("missing field") || inner.starts_with("unknown field") {
            "Request is missing required fields"
        } else {
            "Request has a field of the wrong type"
        };
        let mut errors = FieldErrors::new();
        errors.insert(field, vec![reason]);
        ApiError::Validation { message: message.into(), errors }
    })
}

/// Turns serde's message into (field, reason): missing and unknown fields are named inside the
/// message, type errors by the path.
fn describe(path: &str, message: &str) -> (String, String) {
    let quoted = message.split('`').nth(1).map(str::to_owned);
    if message.starts_with("missing field") {
        return (quoted.unwrap_or_default(), "is required".into());
    }
    if message.starts_with("unknown field") {
        return (quoted.unwrap_or_default(), "is not allowed".into());
    }
    let field = if path == "." { String::new() } else { path.to_owned() };
    // serde says "invalid type: integer `1`, expected a string"; keep only what was expected.
    let reason = match message.split_once(", expected ") {
        Some((_, expected)) => format!("must be {}", expected.split(" at line").next().unwrap_or(expected)),
        None => message.split(" at line").next().unwrap_or(message).to_owned(),
    };
    (field, reason)
}

/// `#[serde(deserialize_with = "present")]` for optional fields where `null` is a type error,
/// not "absent".
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Signup {
        email: String,
        password: String,
    }

    fn field_errors(body: &str) -> FieldErrors {
        match parse_object::<Signup>(body.as_bytes()) {
            Err(ApiError::Validation { errors, .. }) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn missing_unknown_and_mistyped_fields_are_named() {
        assert_eq!(field_errors(r#"{"password":"x"}"#)["email"], ["is required"]);
        assert_eq!(field_errors(r#"{"email":"a","password":"b","role":"admin"}"#)["role"], ["is not allowed"]);
        assert_eq!(field_errors(r#"{"email":1,"password":"b"}"#)["email"], ["must be a string"]);
    }

    #[test]
    fn non_objects_and_malformed_json_are_bad_requests() {
        for body in ["[]", "\"x\"", "null", "{", ""] {
            assert!(matches!(parse_object::<Signup>(body.as_bytes()), Err(ApiError::BadRequest(_))), "{body}");
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        for (value, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(has_json_content_type(&headers), ok, "{value}");
        }
    }
}
