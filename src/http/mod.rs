//! The HTTP layer: routers per resource, extractors, and the middleware stack.

mod auth;
mod conditional;
mod cursor;
mod docs;
mod entries;
pub mod error;
mod extract;
pub mod json;
mod library;
mod mfa;
mod movies;
mod observe;
pub mod openapi;
mod ops;
mod page_body;
mod posters;
mod received;
mod schemas;
mod security_events;
pub mod serve;
mod users;
mod verification;
mod web;

use std::any::Any;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::CompressionLevel;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use self::error::ApiError;
use crate::service::Invalid;
use crate::state::SharedState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: every route, the JSON fallbacks and the middleware.
pub fn router(state: SharedState) -> Router {
    let no_store = SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let api = Router::new()
        .merge(auth::router().layer(no_store.clone()))
        .merge(verification::router().layer(no_store.clone()))
        .merge(users::router().layer(no_store.clone()))
        .merge(mfa::router().layer(no_store.clone()))
        .merge(security_events::router().layer(no_store.clone()))
        .merge(library::router(state.settings.server.import_max_bytes).layer(no_store))
        .merge(movies::router())
        .merge(posters::router(state.settings.server.poster_max_bytes))
        .merge(entries::router())
        .merge(ops::router())
        .merge(web::router())
        .merge(docs::router(&openapi::document(state.settings.tokens.password_min_length)))
        .fallback(web::not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(state.settings.server.body_limit_bytes));
    let api = match cors(&state.settings.server.cors_origins) {
        Some(cors) => api.layer(cors),
        None => api,
    };
    api.layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(CatchPanicLayer::custom(panic_response))
        // Inside the timeout: a timed-out write still finishes, it is only answered 503.
        .layer(middleware::from_fn(received::run_to_completion))
        .layer(compression())
        // Inside the timeout: waiting for a turn counts against REQUEST_TIMEOUT.
        .layer(GlobalConcurrencyLimitLayer::new(state.settings.server.max_concurrent_requests as usize))
        // Outside the limit: a body still arriving holds no turn (see `received`).
        .layer(middleware::from_fn_with_state(state.clone(), received::read_whole_body))
        .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn(drop_unsafe_request_id))
        // Outermost: every answer, a 503 from a full queue or a timeout included.
        .layer(middleware::from_fn_with_state(state.clone(), strict_transport_security))
        .layer(middleware::from_fn_with_state(state.clone(), close_while_draining))
        .with_state(state)
}

/// `Connection: close` on every answer while the process drains (see [`crate::lifecycle`]): the
/// client, a load balancer included, then opens its next request on a new connection, which
/// goes to a replica that stays, and no idle connection is left to be cut at the close.
async fn close_while_draining(
    axum::extract::State(state): axum::extract::State<SharedState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if state.lifecycle.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// One year, subdomains included: what HSTS preload lists ask for.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

/// `Strict-Transport-Security` on the answers to requests that came over HTTPS, when the
/// service's public address is HTTPS. The server speaks plain HTTP itself, so a request came
/// over HTTPS only when a proxy in `TRUSTED_PROXIES` says so with `X-Forwarded-Proto: https`
/// (the last entry, the one that proxy wrote); anyone else's header proves nothing. Browsers
/// ignore the header over plain HTTP anyway (RFC 6797 8.1), but sending it there would only
/// mislead.
async fn strict_transport_security(
    axum::extract::State(state): axum::extract::State<SharedState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let public_https = state
        .settings
        .server
        .public_url
        .as_deref()
        .is_some_and(|url| url.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://")));
    let over_https = public_https && came_over_https(&state, &request);
    let mut response = next.run(request).await;
    if over_https {
        response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}

fn came_over_https(state: &SharedState, request: &axum::extract::Request) -> bool {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(addr)| addr.ip().to_canonical());
    if !peer.is_some_and(|peer| extract::is_trusted_proxy(state, &peer)) {
        return false;
    }
    let last = request
        .headers()
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .next_back();
    last.is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Bodies of 1 KiB and more are compressed with brotli or gzip, whichever the client prefers
/// (`Accept-Encoding`); smaller ones gain too little to pay for the CPU. Quality 4 for both: a
/// 100-movie page shrinks about as much as at the default levels, at a fraction of their cost
/// (BENCHMARKS.md).
fn compression() -> CompressionLayer<impl Predicate> {
    let worth_it =
        SizeAbove::new(1024).and(NotForContentType::GRPC).and(NotForContentType::IMAGES).and(NotForContentType::SSE);
    CompressionLayer::new().no_deflate().no_zstd().quality(CompressionLevel::Precise(4)).compress_when(worth_it)
}

/// Rejected fields are a 400 naming each field, with why.
impl From<Invalid> for ApiError {
    fn from(Invalid(errors): Invalid) -> Self {
        Self::Validation { message: "Request has invalid fields".to_owned(), errors }
    }
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<&str> = origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH, header::IF_NONE_MATCH])
            .expose_headers([header::LINK, header::RETRY_AFTER, header::ETAG, REQUEST_ID]),
    )
}

/// A client's `X-Request-Id` is kept only when it is a short token of safe characters; anything
/// else (spaces, quotes, newlines, `key=value` text that could forge fields in the text log) is
/// replaced by a fresh id.
async fn drop_unsafe_request_id(mut request: axum::extract::Request, next: middleware::Next) -> Response {
    let is_safe = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 64
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    // One safe value is kept; several, or one unsafe, are dropped.
    let mut values = request.headers().get_all(&REQUEST_ID).iter();
    let keep = match (values.next(), values.next()) {
        (Some(only), None) => is_safe(only),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}
