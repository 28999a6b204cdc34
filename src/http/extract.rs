//! Request extractors: the authenticated actor, the admin, the client address and the auth
//! rate limit.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::domain::Scope;
use crate::service::limits::LimitError;
use crate::service::{self, Actor, Intent, verification};
use crate::state::SharedState;
use crate::store::ClientInfo;

/// The caller of an endpoint that needs a user: a valid access token of a live session, or a
/// personal access token whose reach covers the route ([`intent`], [`Actor::may`]), of an
/// account allowed the write ([`verification::blocks_unverified`]). Every authenticated route
/// takes this extractor (or [`AdminUser`], which takes it), so those checks are made here,
/// once, for all of them.
pub struct AuthUser(pub Actor);

impl FromRequestParts<SharedState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::Unauthorized("Missing or malformed Authorization header: expected 'Bearer <token>'".into())
        })?;
        let actor = service::auth::authenticate(&state.auth(), token).await?;
        let intent = intent(parts);
        if !actor.may(intent) {
            tracing::warn!(user_id = %actor.user.id, ?intent, "refused: beyond the access token's scopes");
            return Err(ApiError::InsufficientScope(match intent {
                Intent::Write(Some(scope)) => format!("This access token lacks the scope {}", scope.name()),
                Intent::Account => "An access token cannot manage the account: sign in".into(),
                Intent::Admin => "An access token has no admin powers: sign in".into(),
                Intent::Write(None) | Intent::Read => "This access token cannot do that: sign in".into(),
            }));
        }
        if verification::blocks_unverified(
            &actor,
            intent,
            !parts.method.is_safe(),
            state.settings.verified_email_required(),
        ) {
            tracing::info!(user_id = %actor.user.id, ?intent, "refused: the account's address is not verified");
            return Err(ApiError::EmailUnverified);
        }
        Ok(AuthUser(actor))
    }
}

/// What the request asks to do, from its method and route. Deny by default: a write this does
/// not name needs a session, so a route added later is closed to tokens until given a scope.
fn intent(parts: &Parts) -> Intent {
    let path = parts.extensions.get::<MatchedPath>().map_or(parts.uri.path(), MatchedPath::as_str);
    let under = |prefix: &str| path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'));
    let own_account = under("/api/users/me");
    if under("/api/auth") {
        Intent::Account
    } else if under("/api/users") && !own_account {
        Intent::Admin
    } else if parts.method.is_safe() {
        Intent::Read
    } else if under("/api/movies") {
        Intent::Write(Some(Scope::MoviesWrite))
    } else if under("/api/users/me/library") {
        Intent::Write(Some(Scope::LibraryWrite))
    } else if own_account {
        // Deleting the account, and whatever else manages it under `/api/users/me`.
        Intent::Account
    } else {
        Intent::Write(None)
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
            tracing::warn!(user_id = %actor.user.id, "refused: an admin route asked for by a user who is not an admin");
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
/// `X-Forwarded-For`. The header is read from the right, where the trusted proxies appended,
/// skipping the trusted proxies' own addresses; the first other entry is the client. An entry
/// written as `ip:port` or `[ipv6]:port` counts as its address. An entry that is no address
/// at all (`unknown`) ends the walk at the proxy that wrote it: the entries to its left were
/// written by the client and prove nothing. Addresses compare in canonical form, so a trusted
/// `127.0.0.1` is recognised on a dual-stack listener, where it arrives as `::ffff:127.0.0.1`.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<SharedState> for ClientAddr {
    type Rejection = ApiError;

    /// Found once per request, by the `observe` layer ([`client_address`]).
    async fn from_request_parts(parts: &mut Parts, _: &SharedState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("server started without connect info")))
    }
}

/// Who the client says it is, for a session's sign-in and a security event: its address (as
/// [`ClientAddr`] finds it) and its `User-Agent`, cut short ([`ClientInfo::new`]).
pub struct Client(pub ClientInfo);

impl FromRequestParts<SharedState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &SharedState) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ClientAddr>().map(|ClientAddr(ip)| *ip);
        let agent = parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok());
        Ok(Client(ClientInfo::new(ip, agent)))
    }
}

/// The client's address ([`ClientAddr`]); `None` without a connection's address.
pub(super) fn client_address(
    state: &SharedState,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_canonical())?;
    let trusted = |ip: &IpAddr| is_trusted_proxy(state, ip);
    if !trusted(&peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match forwarded_address(entry) {
            Some(ip) if trusted(&ip) => client = ip,
            Some(ip) => return Some(ip),
            None => break,
        }
    }
    Some(client)
}

/// Whether `ip` (in canonical form) is one of `TRUSTED_PROXIES`, whose forwarding headers are
/// believed.
pub(super) fn is_trusted_proxy(state: &SharedState, ip: &IpAddr) -> bool {
    state.settings.limits.trusted_proxies.iter().any(|proxy| proxy.to_canonical() == *ip)
}

/// An `X-Forwarded-For` entry's address: `ip`, `ip:port` or `[ipv6]:port`.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let address = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(address.to_canonical())
}

/// Counts the request against `AUTH_RATE_LIMIT_PER_MINUTE` for the client's address (shared by
/// every process on the database: `service::limits`); 429 when over. Holds the client's address.
pub struct AuthRateLimit(pub IpAddr);

impl FromRequestParts<SharedState> for AuthRateLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let ClientAddr(client) = ClientAddr::from_request_parts(parts, state).await?;
        match state.limits.address(state.store.as_ref(), client).await {
            Ok(()) => Ok(AuthRateLimit(client)),
            Err(LimitError::Store(error)) => Err(error.into()),
            Err(limited) => Err(ApiError::TooManyRequests { retry_after: limited.retry_after().unwrap_or_default() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::forwarded_address;

    #[test]
    fn forwarded_entries_with_ports_or_brackets_are_addresses_and_junk_is_not() {
        let v4 = "203.0.113.7".parse().ok();
        assert_eq!(forwarded_address("203.0.113.7"), v4);
        assert_eq!(forwarded_address("203.0.113.7:4711"), v4);
        assert_eq!(forwarded_address("::ffff:203.0.113.7"), v4);
        assert_eq!(forwarded_address("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(forwarded_address("[2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(forwarded_address("unknown"), None);
        assert_eq!(forwarded_address(""), None);
    }
}
