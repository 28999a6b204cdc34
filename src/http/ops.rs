//! Operational endpoints: liveness, readiness and metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use std::sync::atomic::Ordering;

use super::error::{ApiError, ApiResult, ErrorBody};
use crate::metrics::Readings;
use crate::state::SharedState;

/// How long readiness waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<SharedState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready)).route("/metrics", get(metrics))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "Alive", body = Status)))]
pub async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: 200 when the database answers, else 503.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Database not answering, or the process is draining before it stops", body = ErrorBody),
    ))]
pub async fn ready(State(state): State<SharedState>) -> ApiResult<Json<Status>> {
    // A draining process is going: the load balancer should send its requests elsewhere.
    if state.lifecycle.is_draining() {
        return Err(ApiError::Unavailable(None));
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(Status { status: "ok" })),
        Ok(Err(error)) => {
            // Logged here, as what it is (a failed probe, at warn); the answer carries no cause,
            // so it is not logged again.
            tracing::warn!(error = %error, "readiness check failed");
            Err(ApiError::Unavailable(None))
        }
        Err(_) => Err(ApiError::Unavailable(None)),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    // The outbox counts come from the database; a scrape does not wait long for them.
    let emails = match tokio::time::timeout(READY_TIMEOUT, state.store.mail_counts()).await {
        Ok(Ok(counts)) => Some(counts),
        _ => None,
    };
    let hashes = state.hasher.counts();
    let text = state.metrics.render(&Readings {
        pool: state.store.pool_use(),
        emails,
        hashes_computed: hashes.computed.load(Ordering::Relaxed),
        hashes_skipped: hashes.skipped.load(Ordering::Relaxed),
    });
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
}
