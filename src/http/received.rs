//! A request that arrived whole is carried out whole, even if its client leaves; and a body is
//! read before the request takes a turn of the server's.
//!
//! hyper drops a handler's future when the connection closes, and a future that is dropped
//! between two awaits simply stops: a logout whose client closes the socket before reading the
//! 204 would never be written. Here every request that may write (any method but GET, HEAD, OPTIONS)
//! first reads its body to the end ([`read_whole_body`]), then runs on its own task
//! ([`run_to_completion`]), which the connection's going cannot cancel; the connection only
//! waits for it. A request whose body never arrives whole is dropped with nothing done, as it
//! should be. Pure reads keep the cheaper path: they are abandoned with their client.
//!
//! The two are separate layers because of what lies between them: the body is read *outside*
//! the `MAX_CONCURRENT_REQUESTS` limit and under its own deadline, `BODY_READ_TIMEOUT`. A client
//! that trickles a body a byte at a time then holds no turn another client needs, and after the
//! deadline it is answered 408 and its connection closed. What a body still arriving holds is
//! its connection and at most `BODY_LIMIT_BYTES` of buffer, both bounded by the connection cap.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tracing::Instrument as _;

use super::error::ApiError;
use crate::client_presence::{ClientPresence, PeerClosed};
use crate::state::SharedState;

/// Reads the body of a request that may write, whole, within `BODY_READ_TIMEOUT`: 408 past the
/// deadline, 413 past `BODY_LIMIT_BYTES` (`POSTER_MAX_BYTES` for a poster upload and
/// `IMPORT_MAX_BYTES` for a library import, the routes with a limit of their own); the request
/// goes on with its body in memory.
pub async fn read_whole_body(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let server = &state.settings.server;
    // A poster upload is admitted before its body is read, so only a bounded number of
    // `POSTER_MAX_BYTES` bodies are ever in memory; its permit goes with the request.
    let upload = if super::posters::is_poster_upload(request.method(), request.uri().path()) {
        match state.posters.admit() {
            Some(permit) => Some(permit),
            None => return ApiError::Overloaded(super::error::Overload::Queue("poster upload")).into_response(),
        }
    } else {
        None
    };
    let limit = if upload.is_some() {
        server.poster_max_bytes
    } else if super::library::is_library_import(request.method(), request.uri().path()) {
        server.import_max_bytes
    } else {
        server.body_limit_bytes
    };
    let (mut parts, body) = request.into_parts();
    if let Some(permit) = upload {
        parts.extensions.insert(permit);
    }
    let limited = Limited::new(body, limit).collect();
    let body = match tokio::time::timeout(body_deadline(&state), limited).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge.into_response();
        }
        Ok(Err(_)) => return ApiError::BadRequest("The request body could not be read".into()).into_response(),
        Err(_) => {
            tracing::info!("request body did not arrive within BODY_READ_TIMEOUT");
            return ApiError::BodyTimeout.into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// `BODY_READ_TIMEOUT`, but always before `REQUEST_TIMEOUT` (which also runs while the body is
/// read): a body that is late gets the 408 that closes its connection, not the request's 503.
fn body_deadline(state: &SharedState) -> std::time::Duration {
    let server = &state.settings.server;
    server.body_read_timeout.min(server.request_timeout.mul_f64(0.9))
}

/// Runs a request that may write on its own task, which its client's leaving cannot cancel.
/// Its body was read whole by [`read_whole_body`].
pub async fn run_to_completion(request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let peer_closed = request.extensions().get::<PeerClosed>().cloned().unwrap_or_default();
    let presence = ClientPresence::on_connection(peer_closed);
    let departure = presence.departure_guard();
    // A spawned task starts outside every span: it is given the request's, so what it logs
    // names the request and its client.
    let work = tokio::spawn(presence.scope(next.run(request)).in_current_span());
    let response = match work.await {
        Ok(response) => response,
        Err(error) => ApiError::internal(anyhow::anyhow!("request task failed: {error}")).into_response(),
    };
    departure.answered();
    response
}
