//! The web app: its pages and assets, embedded in the binary and served at `/`.
//!
//! The app is a client of the public JSON API only (`web/app.js`); the server's part is to hand
//! out one HTML shell for every page path (the script draws the page from the URL) and the
//! assets, each with an ETag so a browser revalidates instead of downloading again. Nothing
//! comes from another origin, and the shell carries a Content-Security-Policy that allows no
//! inline script or style, so a string that slipped into the page as markup still could not run.
//! Paths under `/api/` never get HTML.

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::conditional::if_none_match_matches;
use super::error::ApiError;
use crate::state::SharedState;

/// Scripts, styles, connections and images from this origin only; no inline code, no plugins,
/// no framing (clickjacking), no `<base>` rewriting, forms post here only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'; object-src 'none'";

/// One embedded file with its validator (the API documentation's files are served as these too).
pub(super) struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

impl Asset {
    pub(super) fn new(body: &'static [u8], content_type: &'static str) -> Self {
        let digest = Sha256::digest(body);
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value");
        Self { body, content_type, etag }
    }

    /// The file, or 304 when the client holds this version. `no-cache`: always revalidate, so a
    /// new binary's assets are picked up at once.
    pub(super) fn respond(&self, request_headers: &HeaderMap, status: StatusCode) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if status == StatusCode::OK && if_none_match_matches(request_headers, &self.etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        (status, headers, self.body).into_response()
    }
}

static SHELL: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(include_bytes!("../../web/index.html"), "text/html; charset=utf-8"));

/// The assets under `/assets/`, by file name.
static ASSETS: LazyLock<Vec<(&str, Asset)>> = LazyLock::new(|| {
    vec![
        ("app.js", Asset::new(APP_JS.as_bytes(), "text/javascript; charset=utf-8")),
        ("api.js", Asset::new(include_bytes!("../../web/api.js"), "text/javascript; charset=utf-8")),
        ("ui.js", Asset::new(include_bytes!("../../web/ui.js"), "text/javascript; charset=utf-8")),
        ("app.css", Asset::new(include_bytes!("../../web/app.css"), "text/css; charset=utf-8")),
        ("icon.svg", Asset::new(include_bytes!("../../web/icon.svg"), "image/svg+xml")),
        // The catalogue, genre and users pages.
        ("catalogue.js", Asset::new(include_bytes!("../../web/catalogue.js"), "text/javascript; charset=utf-8")),
        ("admin.js", Asset::new(include_bytes!("../../web/admin.js"), "text/javascript; charset=utf-8")),
        // Cards and posters, the library and the account pages.
        ("cards.js", Asset::new(include_bytes!("../../web/cards.js"), "text/javascript; charset=utf-8")),
        ("posters.js", Asset::new(include_bytes!("../../web/posters.js"), "text/javascript; charset=utf-8")),
        ("library.js", Asset::new(include_bytes!("../../web/library.js"), "text/javascript; charset=utf-8")),
        ("account.js", Asset::new(include_bytes!("../../web/account.js"), "text/javascript; charset=utf-8")),
    ]
});

const APP_JS: &str = include_str!("../../web/app.js");

/// The page paths the app draws, in axum's syntax: read from the `routes` table of
/// `web/app.js`, the one list of them, so a page added there is served here too. Anything else
/// that is not an asset or under `/api/` gets the shell with a 404, and the app says the page
/// does not exist.
static PAGES: LazyLock<Vec<&str>> = LazyLock::new(|| page_paths(APP_JS));

/// The path of each `["/path", page],` line of the `const routes = [` table in `script`.
fn page_paths(script: &str) -> Vec<&str> {
    let table = script.split_once("const routes = [").map_or("", |(_, table)| table);
    table
        .lines()
        .skip(1)
        .map_while(|line| line.trim().strip_prefix("[\"")?.split_once('"').map(|(path, _)| path))
        .collect()
}

pub fn router() -> Router<SharedState> {
    let mut router = Router::new().route("/assets/{name}", get(asset)).route("/favicon.ico", get(favicon));
    for page in PAGES.iter() {
        router = router.route(page, get(page_shell));
    }
    router
}

async fn page_shell(request_headers: HeaderMap) -> Response {
    with_page_headers(SHELL.respond(&request_headers, StatusCode::OK))
}

async fn asset(axum::extract::Path(name): axum::extract::Path<String>, request_headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|(file, _)| *file == name) {
        Some((_, asset)) => asset.respond(&request_headers, StatusCode::OK),
        None => ApiError::NotFound("Resource not found".into()).into_response(),
    }
}

/// Browsers ask for it whatever the page says; the icon answers rather than a 404.
async fn favicon(request_headers: HeaderMap) -> Response {
    let (_, icon) = ASSETS.iter().find(|(file, _)| *file == "icon.svg").expect("the icon is embedded");
    icon.respond(&request_headers, StatusCode::OK)
}

/// For a path nothing else answers: a browser asking for a page gets the app's "not found" page
/// (status 404); a program, and anything under `/api/`, gets the JSON 404.
pub async fn not_found(uri: axum::http::Uri, request_headers: HeaderMap) -> Response {
    let wants_html = request_headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") && uri.path() != "/api" {
        return with_page_headers(SHELL.respond(&request_headers, StatusCode::NOT_FOUND));
    }
    ApiError::NotFound("Resource not found".into()).into_response()
}

/// What every HTML response carries: the policy, and no referrer (a reset page's URL holds a
/// token until the script removes it).
fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_of_the_apps_route_table_is_a_page_path() {
        let table = APP_JS.split_once("const routes = [\n").unwrap().1.split_once("\n]").unwrap().0;
        assert_eq!(PAGES.len(), table.lines().count(), "a line of the table was not read: {table}");
        assert!(PAGES.iter().all(|path| path.starts_with('/')), "{PAGES:?}");
        for page in ["/", "/index.html", "/signin", "/movies/new", "/movies/{id}", "/movies/{id}/edit"] {
            assert!(PAGES.contains(&page), "{page} in {PAGES:?}");
        }
    }
}
