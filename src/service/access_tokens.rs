//! Personal access tokens: created by a signed-in user (never by another token), shown once,
//! kept only as a SHA-256 hash, used as `Authorization: Bearer mbp_...`, with the reach
//! `Actor::may` gives them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{AuthDeps, AuthError};
use super::security_events::{self, EventKind};
use super::{Actor, Credential, Validator};
use crate::auth::secret_token;
use crate::domain::{AccessTokenId, Scopes, now};
use crate::metrics::AuthEvent;
use crate::store::{AccessTokenRecord, ClientInfo, NewAccessToken};

/// What every personal access token starts with, so a token is told from a JWT without trying
/// it as one (and a leaked one is easy to find in a scan).
pub const PREFIX: &str = "mbp_";
/// The most tokens an account holds: each is a standing way in, and the list stays readable.
/// One more is refused with 409 until one is revoked.
pub const CAP: u32 = 50;
/// A name's longest length, in characters.
const NAME_MAX: usize = 100;
/// `expires_in` bounds, in seconds: a minute to a year.
const EXPIRES_IN_MIN: u64 = 60;
const EXPIRES_IN_MAX: u64 = 366 * 86_400;
/// `last_used_at` is kept to the minute: a use writes only when the stored value is older.
const LAST_USED_GRAIN: Duration = Duration::from_secs(60);

/// A token as its owner lists it: never the token, never its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessTokenView {
    #[schema(value_type = String)]
    pub id: AccessTokenId,
    pub name: String,
    /// Of `movies:write`, `library:write`; every token reads.
    #[schema(example = json!(["movies:write"]))]
    pub scopes: Vec<&'static str>,
    pub created_at: DateTime<Utc>,
    /// `null`: it does not expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// To the minute; `null` until first used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<AccessTokenRecord> for AccessTokenView {
    fn from(record: AccessTokenRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            scopes: record.scopes.names(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// The answer to a create: the token itself, this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAccessToken {
    #[schema(value_type = String)]
    pub id: AccessTokenId,
    pub name: String,
    /// `mbp_...`: shown only now; the server keeps a hash.
    pub token: String,
    #[schema(example = json!(["movies:write"]))]
    pub scopes: Vec<&'static str>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > NAME_MAX => Err(format!("must be at most {NAME_MAX} characters")),
        _ if name.chars().any(char::is_control) => Err("must not hold control characters".into()),
        _ => Ok(name.to_owned()),
    }
}

fn parse_expires_in(raw: Option<u64>) -> Result<Option<Duration>, String> {
    match raw {
        None => Ok(None),
        Some(seconds) if (EXPIRES_IN_MIN..=EXPIRES_IN_MAX).contains(&seconds) => Ok(Some(Duration::from_secs(seconds))),
        Some(_) => Err(format!("must be between {EXPIRES_IN_MIN} and {EXPIRES_IN_MAX} seconds")),
    }
}

/// Creates a token for the caller. The route is an account one, so a token never gets here
/// (`Actor::may`); the check below keeps that true should the route move.
pub async fn create(
    deps: &AuthDeps<'_>,
    actor: &Actor,
    name: &str,
    scopes: &[String],
    expires_in: Option<u64>,
    client: &ClientInfo,
) -> Result<CreatedAccessToken, AuthError> {
    if actor.session_id().is_none() {
        return Err(AuthError::InvalidAccessToken);
    }
    let mut v = Validator::default();
    let name = v.check("name", parse_name(name));
    let scopes = v.check("scopes", Scopes::parse(scopes));
    let expires_in = v.check("expires_in", parse_expires_in(expires_in));
    let ((name, scopes), expires_in) = v.finish(name.zip(scopes).zip(expires_in)).map_err(AuthError::Invalid)?;
    let created_at = now();
    let expires_at =
        expires_in.map(|ttl| created_at + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX));
    let token = format!("{PREFIX}{}", secret_token::generate());
    let stored = NewAccessToken {
        id: AccessTokenId::generate(),
        user_id: actor.user.id.clone(),
        name,
        token_hash: secret_token::hash(&token),
        scopes,
        created_at,
        expires_at,
        cap: CAP,
    };
    let event = security_events::event(&actor.user.id, EventKind::TokenCreated, client);
    if !deps.access_tokens.insert_access_token(&stored, &event).await? {
        return Err(AuthError::TooManyAccessTokens { cap: CAP });
    }
    tracing::info!(user_id = %actor.user.id, token_id = %stored.id, "access token created");
    Ok(CreatedAccessToken {
        id: stored.id,
        name: stored.name,
        token,
        scopes: stored.scopes.names(),
        created_at,
        expires_at,
    })
}

/// The caller's tokens, newest first.
pub async fn list(deps: &AuthDeps<'_>, actor: &Actor) -> Result<Vec<AccessTokenView>, AuthError> {
    let records = deps.access_tokens.access_tokens_of(&actor.user.id).await?;
    Ok(records.into_iter().map(AccessTokenView::from).collect())
}

/// Deletes one of the caller's tokens: refused from the next request on, by every process
/// (each use looks the token up). Another user's token is [`AuthError::NoSuchAccessToken`].
pub async fn revoke(deps: &AuthDeps<'_>, actor: &Actor, token_id: &str, client: &ClientInfo) -> Result<(), AuthError> {
    let token_id = AccessTokenId::parse(token_id).ok_or(AuthError::NoSuchAccessToken)?;
    let event = security_events::event(&actor.user.id, EventKind::TokenRevoked, client);
    if !deps.access_tokens.delete_access_token(&actor.user.id, &token_id, &event).await? {
        return Err(AuthError::NoSuchAccessToken);
    }
    tracing::info!(user_id = %actor.user.id, %token_id, "access token revoked");
    Ok(())
}

/// The actor behind `mbp_<secret>`, or 401: unknown, revoked (deleted) and expired tokens look
/// the same. Moves `last_used_at` only when the stored value is a minute old, so a busy token
/// writes once a minute, not per request.
pub(super) async fn authenticate(deps: &AuthDeps<'_>, secret: &str) -> Result<Actor, AuthError> {
    let unauthorized = || AuthError::InvalidAccessToken;
    // A token is the prefix and 43 base64url characters; anything longer is not one, and is
    // not hashed.
    if secret.is_empty() || secret.len() > 64 {
        return Err(unauthorized());
    }
    let presented = secret_token::hash(&format!("{PREFIX}{secret}"));
    let owner = deps.access_tokens.access_token(&presented).await?.ok_or_else(unauthorized)?;
    let now = now();
    if owner.expires_at.is_some_and(|expires_at| expires_at <= now) {
        return Err(unauthorized());
    }
    let stale_before = now - chrono::Duration::from_std(LAST_USED_GRAIN).unwrap_or_default();
    if owner.last_used_at.is_none_or(|used| used < stale_before) {
        deps.access_tokens.touch_access_token(&owner.token_id, now, stale_before).await?;
    }
    deps.metrics.record(AuthEvent::AccessTokenUsed);
    Ok(Actor { user: owner.user, credential: Credential::AccessToken { id: owner.token_id, scopes: owner.scopes } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lifetimes_outside_their_bounds_are_refused() {
        assert_eq!(parse_name("  ci  ").unwrap(), "ci");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(NAME_MAX + 1)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
        assert_eq!(parse_expires_in(None).unwrap(), None);
        assert_eq!(parse_expires_in(Some(60)).unwrap(), Some(Duration::from_secs(60)));
        assert!(parse_expires_in(Some(59)).is_err());
        assert!(parse_expires_in(Some(EXPIRES_IN_MAX + 1)).is_err());
    }
}
