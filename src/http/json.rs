//! `AppJson`: the JSON body extractor whose every rejection is the contract's error body.
//!
//! axum's own `Json` answers some failures with plain text and 422; clients of this API get
//! 415 for a wrong content type or a `Content-Encoding` the server does not decode, 413 for an
//! oversized body and 400 with a field map for everything else (malformed JSON, not an object,
//! missing, unknown, mistyped or repeated fields).
//!
//! The two strict rules close gaps where a proxy (a WAF, a logging gateway) and this server
//! could read one body two ways: a gzip-encoded body the proxy decodes but the server would
//! have read as it came, and a key given twice, where parsers disagree on which one wins.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::service::FieldErrors;

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
        if !has_identity_encoding(request.headers()) {
            return Err(ApiError::UnsupportedContentEncoding);
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

/// No `Content-Encoding`, or only `identity`: the body is the JSON as sent. The server decodes
/// no content coding, so any other one (`gzip`, `br`, a made-up name) would be read as if it
/// were not there.
pub(super) fn has_identity_encoding(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_ENCODING).iter().all(|value| {
        value.to_str().is_ok_and(|value| {
            value.split(',').map(str::trim).all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case("identity"))
        })
    })
}

/// Parses a JSON object into `T`, naming the offending field on failure.
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = parse_without_duplicates(bytes)?;
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

/// Parses JSON text, refusing an object (at any depth) that names a key twice: serde_json
/// would keep the last, another parser the first. The repeated key is named by its path
/// (`name`, `casts[0].x`), as the other field errors are.
fn parse_without_duplicates(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    use serde::de::DeserializeSeed as _;
    let duplicate = std::cell::RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Unique { at: None, duplicate: &duplicate }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (_, Some(field)) => {
            let mut errors = FieldErrors::new();
            errors.insert(field, vec!["is given more than once".into()]);
            Err(ApiError::Validation { message: "Request names a field more than once".into(), errors })
        }
        (Ok(value), None) => Ok(value),
        (Err(_), None) => Err(ApiError::BadRequest("Request body is not valid JSON".into())),
    }
}

/// Where a value sits in the document, as a chain to its parent; written out only when a
/// duplicate is found, so a well-formed body costs no path strings.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

struct Position<'a> {
    parent: Option<&'a Position<'a>>,
    step: Step<'a>,
}

impl Position<'_> {
    fn path(&self) -> String {
        let mut steps = vec![&self.step];
        let mut parent = self.parent;
        while let Some(position) = parent {
            steps.push(&position.step);
            parent = position.parent;
        }
        let mut path = String::new();
        for step in steps.into_iter().rev() {
            match step {
                Step::Key(key) if path.is_empty() => path.push_str(key),
                Step::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Step::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        path
    }
}

/// Builds a `serde_json::Value` like its own `Deserialize` does, but notes the first repeated
/// key in `duplicate` and stops there.
struct Unique<'a, 'p> {
    at: Option<&'p Position<'p>>,
    duplicate: &'a std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Unique<'_, '_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Unique<'_, '_> {
    type Value = serde_json::Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let position = Position { parent: self.at, step: Step::Index(items.len()) };
            match seq.next_element_seed(Unique { at: Some(&position), duplicate: self.duplicate })? {
                Some(item) => items.push(item),
                None => return Ok(serde_json::Value::Array(items)),
            }
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let position = Position { parent: self.at, step: Step::Key(&key) };
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(position.path());
                return Err(serde::de::Error::custom("a key is given twice"));
            }
            let value = map.next_value_seed(Unique { at: Some(&position), duplicate: self.duplicate })?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
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

/// `#[serde(default, deserialize_with = "nullable")]` for optional fields where `null` means
/// something ("clear it"): absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
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
    fn a_key_given_twice_is_named_by_its_path_at_any_depth() {
        let errors = field_errors(r#"{"email":"a@example.com","email":"b@example.com","password":"x"}"#);
        assert_eq!(errors["email"], ["is given more than once"]);
        // Nested, in objects and arrays: refused before the type is even looked at.
        let nested = field_errors(r#"{"email":"a","password":"b","x":[{"k":1},{"k":1,"k":2}]}"#);
        assert_eq!(nested["x[1].k"], ["is given more than once"]);
        let deeper = field_errors(r#"{"email":{"a":{"b":1,"b":1}},"password":"b"}"#);
        assert_eq!(deeper["email.a.b"], ["is given more than once"]);
        // The same key in two different objects is no duplicate.
        let value = parse_without_duplicates(br#"{"a":{"k":1},"b":{"k":1},"c":[1,1]}"#).unwrap();
        assert_eq!(value, serde_json::json!({"a":{"k":1},"b":{"k":1},"c":[1,1]}));
    }

    #[test]
    fn only_an_absent_or_identity_content_encoding_is_read() {
        let mut headers = HeaderMap::new();
        assert!(has_identity_encoding(&headers));
        for (value, ok) in [
            ("identity", true),
            ("Identity", true),
            ("gzip", false),
            ("identity, gzip", false),
            ("br", false),
            ("x", false),
        ] {
            headers.insert(header::CONTENT_ENCODING, value.parse().unwrap());
            assert_eq!(has_identity_encoding(&headers), ok, "{value}");
        }
        headers.insert(header::CONTENT_ENCODING, "identity".parse().unwrap());
        headers.append(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert!(!has_identity_encoding(&headers), "a second header line counts too");
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
