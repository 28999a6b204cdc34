//! Request extractors: the authenticated actor, the admin, the client address and the auth
//! rate limit.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::service::{self, Actor};
use crate::state::SharedState;

/// The caller of an endpoint that needs a user: a valid access token of a live session.
pub struct AuthUser(pub Actor);

impl FromRequestParts<SharedState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::Unauthorized("Missing or malformed Authorization header: expected 'Bearer <token>'".into())
        })?;
        service::auth::authenticate(state, token).await.map(AuthUser)
    }
}

/// The caller of an admin endpoint: 401 without a valid token, 403 without the admin role.
pub struct AdminUser(pub Actor);

impl FromRequestParts<SharedState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let AuthUser(actor) = AuthUser::from_request_parts(parts, state).await?;
        if actor.is_admin() {
            Ok(AdminUser(actor))
        } else {
            Err(ApiError::Forbidden("Admin privileges required".into()))
        }
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The client's address: the TCP peer, or the address a trusted proxy put in
/// `X-Forwarded-For` (the right-most entry that is not itself a trusted proxy).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<SharedState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("server started without connect info")))?;
        let trusted = &state.settings.trusted_proxies;
        if !trusted.contains(&peer) {
            return Ok(ClientAddr(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer);
        Ok(ClientAddr(client))
    }
}

/// Counts the request against `AUTH_RATE_LIMIT_PER_MINUTE` for the client's address; 429 when over.
pub struct AuthRateLimit;

impl FromRequestParts<SharedState> for AuthRateLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let ClientAddr(client) = ClientAddr::from_request_parts(parts, state).await?;
        state
            .auth_rate_limiter
            .check(client)
            .map(|()| AuthRateLimit)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })
    }
}
