//! The per-request middleware: request timeout, one log line, and metrics.
//!
//! Logged and counted by matched route (`/api/movies/{id}`), never the raw URI: that keeps the
//! metrics' label set bounded and keeps query strings out of the log.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument as _;

use super::error::ApiError;
use crate::state::SharedState;

/// The method as a metrics label from a fixed set: a client may send any token as a method, and
/// each new one would otherwise grow the metrics by a label set.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 7] =
        [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    KNOWN.iter().find(|known| *known == method).map_or("OTHER", Method::as_str)
}

pub async fn observe(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str).to_owned();
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    // Every line logged while the request runs names it and where it came from. Found once
    // here; the `ClientAddr` extractor reads it back.
    let client = super::extract::client_address(&state, request.headers(), request.extensions());
    if let Some(client) = client {
        request.extensions_mut().insert(super::extract::ClientAddr(client));
    }
    let span = tracing::info_span!("request", id = %request_id, client = client.map(tracing::field::display));
    let response = match tokio::time::timeout(state.settings.server.request_timeout, next.run(request))
        .instrument(span.clone())
        .await
    {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record_request(method, &route, status, latency);
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request"
        );
    });
    response
}
