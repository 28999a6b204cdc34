//! A request that arrived whole is carried out whole, even if its client leaves.
//!
//! hyper drops a handler's future when the connection closes, and a future that is dropped
//! between two awaits simply stops: a logout whose client closed the socket before reading the
//! 204 was never written. Here every request that may write (any method but GET, HEAD, OPTIONS)
//! first reads its body to the end, then runs on its own task, which the connection's going
//! cannot cancel; the connection only waits for it. A request whose body never arrives whole is
//! dropped with nothing done, as it should be. Pure reads keep the cheaper path: they are
//! abandoned with their client.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::client_presence::{ClientPresence, PeerClosed};
use crate::error::ApiError;
use crate::state::SharedState;

pub async fn run_to_completion(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let peer_closed = parts.extensions.get::<PeerClosed>().cloned().unwrap_or_default();
    let body = match Limited::new(body, state.settings.server.body_limit_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge.into_response();
        }
        Err(_) => return ApiError::BadRequest("The request body could not be read".into()).into_response(),
    };
    let request = Request::from_parts(parts, Body::from(body));
    let presence = ClientPresence::on_connection(peer_closed);
    let departure = presence.departure_guard();
    let work = tokio::spawn(presence.scope(next.run(request)));
    let response = match work.await {
        Ok(response) => response,
        Err(error) => ApiError::internal(anyhow::anyhow!("request task failed: {error}")).into_response(),
    };
    departure.answered();
    response
}
