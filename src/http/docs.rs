//! `/docs`: Swagger UI for the OpenAPI document, served from the binary, under a strict policy.
//!
//! The page shares its origin with the web app, whose tokens live in this origin's
//! `localStorage`: a script running in `/docs` could read them. So `/docs` gets a policy as
//! strict as the app's, save for the `data:` images Swagger UI's stylesheet draws its icons
//! with: scripts and styles from this origin only, nothing inline, no framing, no referrer.
//! That holds because the page and the script that starts Swagger UI are ours
//! (`web/docs/index.html`, `web/docs/docs.js`); only Swagger UI's bundle, stylesheet and icons
//! come from the vendored distribution (`utoipa-swagger-ui`), and only those few files.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::web::Asset;
use crate::state::SharedState;

/// Swagger UI's React code sets styles through the DOM (which a policy does not restrict), and
/// its stylesheet's icons are `data:` URLs; everything else is the web app's policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'; object-src 'none'";

static PAGE: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(include_bytes!("../../web/docs/index.html"), "text/html; charset=utf-8"));

/// The files under `/docs/`: ours, and the vendored ones the page loads (no other file of the
/// distribution is reachable: its own `index.html` and initializer are replaced by ours).
static FILES: LazyLock<Vec<(&str, Asset)>> = LazyLock::new(|| {
    let mut files =
        vec![("docs.js", Asset::new(include_bytes!("../../web/docs/docs.js"), "text/javascript; charset=utf-8"))];
    for (name, content_type) in [
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
        ("favicon-32x32.png", "image/png"),
        ("favicon-16x16.png", "image/png"),
    ] {
        files.push((name, Asset::new(vendored(name), content_type)));
    }
    files
});

/// A file of the vendored Swagger UI, as it is embedded in the binary.
fn vendored(name: &str) -> &'static [u8] {
    let config = Arc::new(utoipa_swagger_ui::Config::default());
    let file = utoipa_swagger_ui::serve(name, config)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("Swagger UI's {name} is embedded"));
    // utoipa-swagger-ui's `gzip` feature is off, so files are embedded as they are.
    assert!(!file.gzpipped, "Swagger UI's {name} is embedded uncompressed");
    match file.bytes {
        std::borrow::Cow::Borrowed(bytes) => bytes,
        std::borrow::Cow::Owned(bytes) => Vec::leak(bytes),
    }
}

/// The OpenAPI document is at `/api/openapi.json`, beside the API it describes.
pub fn router(openapi: &utoipa::openapi::OpenApi) -> Router<SharedState> {
    // Serialised once: it only changes with the binary.
    let document = axum::body::Bytes::from(serde_json::to_vec(openapi).expect("the OpenAPI document serialises"));
    let json = || async move { ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], document) };
    let docs = Router::new()
        .route("/docs", get(page))
        .route("/docs/", get(page))
        .route("/docs/index.html", get(page))
        .route("/docs/{name}", get(file))
        .layer(axum::middleware::map_response(with_docs_headers));
    docs.route("/api/openapi.json", get(json))
}

async fn page(request_headers: HeaderMap) -> Response {
    PAGE.respond(&request_headers, StatusCode::OK)
}

async fn file(Path(name): Path<String>, request_headers: HeaderMap) -> Response {
    match FILES.iter().find(|(file, _)| *file == name) {
        Some((_, asset)) => asset.respond(&request_headers, StatusCode::OK),
        None => ApiError::NotFound("Resource not found".into()).into_response(),
    }
}

/// On every `/docs` response, the page, its files and its 404s alike.
async fn with_docs_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
