//! Accounts and sessions: signup, login, refresh, logout, password change and reset.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Invalid;
use super::limits::{LimitError, Limits, ReservedCheck, account_key};
use super::mfa::{self, MfaRequired};
use super::security_events::{self, EventKind};
use super::users::{PasswordGate, UserError, confirm_password};
use super::{Actor, Validator};
use crate::auth::bcrypt_hash::is_bcrypt_hash;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::{HashError, PasswordHasher, WhenClientLeaves};
use crate::auth::secret_token;
use crate::auth::totp::TotpKey;
use crate::config::{ServerSettings, TokenSettings};
use crate::domain::{Email, Password, Role, SessionId, UserId};
use crate::domain::{new_id, now};
use crate::mail::outbox::Outbox;
use crate::metrics::{AuthEvent, Metrics, VerificationEmail};
use crate::store::{
    AccessTokenStore, ClientInfo, Conflict, LimitStore, MailDraft, MfaStore, NewResetToken, NewSession, NewUser,
    PasswordChange, PasswordReset, Rotation, SecurityEventStore, SessionStore, StoreError, UserStore, UserWithHash,
};

/// Why a request about an account's credentials or sessions was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Invalid(Invalid),
    #[error("an account has that email already")]
    EmailTaken,
    /// Unknown email or wrong password: one answer for both.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed logins for the account.
    #[error("the account is throttled")]
    Throttled { retry_after: Duration },
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("invalid reset token")]
    InvalidResetToken,
    /// Bad signature, expired, revoked session or deleted user: one answer for all.
    #[error("invalid access token")]
    InvalidAccessToken,
    /// No live session of the caller's has that id.
    #[error("no such session")]
    NoSuchSession,
    /// No access token of the caller's has that id.
    #[error("no such access token")]
    NoSuchAccessToken,
    /// The caller holds as many access tokens as an account may.
    #[error("too many access tokens")]
    TooManyAccessTokens { cap: u32 },
    /// The current password check failed (see [`confirm_password`]).
    #[error(transparent)]
    Account(#[from] UserError),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing an access token failed.
    #[error("cannot sign the access token")]
    Signing(#[source] anyhow::Error),
}

type AuthResult<T> = Result<T, AuthError>;

impl From<LimitError> for AuthError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Store(error) => Self::Store(error),
            limited => Self::Throttled { retry_after: limited.retry_after().unwrap_or_default() },
        }
    }
}

impl<'a> AuthDeps<'a> {
    /// The gate a signed-in account's password check from `client` passes.
    pub fn password_gate(&self, client: IpAddr) -> PasswordGate<'a> {
        PasswordGate { limits: self.limits, store: self.limit_store, client }
    }
}

/// What the credential rules work with, borrowed from the application for one request.
pub struct AuthDeps<'a> {
    pub users: &'a dyn UserStore,
    pub sessions: &'a dyn SessionStore,
    pub access_tokens: &'a dyn AccessTokenStore,
    /// Where each account's security events go.
    pub events: &'a dyn SecurityEventStore,
    pub hasher: &'a PasswordHasher,
    pub keys: &'a TokenKeys,
    pub tokens: &'a TokenSettings,
    /// For the base of the link in a reset email.
    pub server: &'a ServerSettings,
    pub limits: &'a Limits,
    /// The limits' counters, shared by every process on the database.
    pub limit_store: &'a dyn LimitStore,
    pub metrics: &'a Metrics,
    /// Woken when an email was queued.
    pub outbox: &'a Outbox,
    /// Two-step sign-in's enrolments, recovery codes and pending sign-ins.
    pub mfa: &'a dyn MfaStore,
    /// Seals and opens TOTP secrets at rest.
    pub totp_key: &'a TotpKey,
}

pub const FORGOT_ANSWER: &str = "If an account with that email exists, a password reset link has been sent to it";
const RESET_DONE: &str = "Password reset was successful";

/// What login and refresh answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Access token (JWT) for `Authorization: Bearer`.
    pub token: String,
    /// Opaque token for `POST /api/auth/refresh`; single use.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until `token` expires.
    #[schema(example = 604800)]
    pub expires_in: u64,
}

/// What a login with the right password answers: tokens, or (two-step sign-in on) the token
/// of the second step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    Tokens(TokenPair),
    MfaRequired(MfaRequired),
}

fn chrono_after(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

fn min_password(deps: &AuthDeps<'_>) -> usize {
    usize::from(deps.tokens.password_min_length)
}

#[tracing::instrument(skip_all)]
pub async fn signup(deps: &AuthDeps<'_>, email: &str, password: &str, client: &ClientInfo) -> AuthResult<UserId> {
    let mut v = Validator::default();
    let email = v.check("email", Email::parse(email));
    let password = Password::parse(password, min_password(deps)).and_then(|password| match &email {
        Some(email) => password.for_account(email.as_str()),
        None => Ok(password),
    });
    let password = v.check("password", password);
    let (email, password) = v.finish(email.zip(password)).map_err(AuthError::Invalid)?;
    if email.normalized() == super::seed::SEED_EMAIL {
        // It owns the seeded movies: whoever signed up as it would own them.
        return Err(AuthError::Invalid(Invalid::field("email", "is reserved")));
    }
    let hash = deps.hasher.hash(&password, WhenClientLeaves::Skip).await?;
    let id = UserId::generate();
    // The link that proves the address is stored, and its email queued, with the account.
    let verification = super::verification::signup_link(deps, &id, &email);
    let user = NewUser {
        id: &id,
        email: &email,
        role: Role::User,
        created_at: now(),
        password_hash: &hash,
        email_verified: false,
        verification: Some(&verification),
    };
    match deps.users.insert_user(&user).await {
        Ok(()) => {
            deps.outbox.wake();
            deps.metrics.verification_email_queued(VerificationEmail::Signup);
            tracing::info!(user_id = %id, "user signed up");
            security_events::record(deps.events, &id, EventKind::Signup, client).await;
            Ok(id)
        }
        Err(StoreError::Conflict(Conflict::EmailTaken)) => Err(AuthError::EmailTaken),
        Err(other) => Err(other.into()),
    }
}

/// Starts a session for the user and signs its first token pair, if the password hash is still
/// `verified_hash`: a login that verified a password changed meanwhile gets no session.
pub(super) async fn start_session(
    deps: &AuthDeps<'_>,
    user_id: &UserId,
    verified_hash: String,
    check: Option<&ReservedCheck>,
    client: ClientInfo,
) -> AuthResult<TokenPair> {
    let now = now();
    let refresh_token = secret_token::generate();
    let session = NewSession {
        id: SessionId::generate(),
        user_id: user_id.clone(),
        refresh_token_hash: secret_token::hash(&refresh_token),
        created_at: now,
        expires_at: chrono_after(now, deps.tokens.refresh_token_ttl),
        verified_hash,
        check_succeeded: check.map(ReservedCheck::succeeded),
        client,
    };
    if !deps.sessions.create_session(&session).await? {
        tracing::info!(%user_id, "login refused: the password changed while it was being checked");
        return Err(AuthError::InvalidCredentials);
    }
    token_pair(deps, user_id, &session.id, refresh_token, now)
}

fn token_pair(
    deps: &AuthDeps<'_>,
    user_id: &UserId,
    session_id: &SessionId,
    refresh_token: String,
    now: DateTime<Utc>,
) -> AuthResult<TokenPair> {
    let token = deps.keys.issue(user_id.as_str(), session_id.as_str(), now).map_err(AuthError::Signing)?;
    Ok(TokenPair { token, refresh_token, token_type: "Bearer", expires_in: deps.keys.ttl().as_secs() })
}

/// Unknown email and wrong password get the same answer after the same work (a dummy verify).
#[tracing::instrument(skip_all)]
pub async fn login(
    deps: &AuthDeps<'_>,
    email: &str,
    password: &str,
    client: IpAddr,
    seen: &ClientInfo,
) -> AuthResult<LoginOutcome> {
    let reserved = deps.limits.login(deps.limit_store, client, &account_key(email)).await?;
    let credentials = match Email::parse(email) {
        Ok(email) => deps.users.user_with_hash_by_email(&email).await?,
        Err(_) => None,
    };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.as_str());
    let matches = deps.hasher.verify(password, stored_hash, WhenClientLeaves::Skip).await?;
    match credentials {
        Some(credentials) if matches => {
            tracing::info!(user_id = %credentials.user.id, %client, "login succeeded");
            deps.metrics.record(AuthEvent::Login);
            let mut current_hash = credentials.password_hash.clone();
            if is_bcrypt_hash(&credentials.password_hash) {
                current_hash = match upgrade_imported_hash(deps, &credentials, password).await {
                    Some(upgraded) => upgraded,
                    None => hash_now_current(deps, &credentials, password).await?,
                };
            }
            let user_id = &credentials.user.id;
            // The second step's answer leaves the failed checks counted: only a completed
            // second step clears them (a stolen password alone must not).
            if let Some(required) = mfa::challenge_if_enrolled(deps, user_id, &current_hash).await? {
                return Ok(LoginOutcome::MfaRequired(required));
            }
            let pair = start_session(deps, user_id, current_hash, reserved.as_ref(), seen.clone()).await?;
            security_events::record(deps.events, user_id, EventKind::Login, seen).await;
            Ok(LoginOutcome::Tokens(pair))
        }
        _ => {
            // The id of a known account, never the address typed: that may be a password.
            let user_id = credentials.as_ref().map(|c| c.user.id.to_string());
            tracing::warn!(user_id = user_id.as_deref().unwrap_or("-"), %client, "login failed");
            deps.metrics.record(AuthEvent::FailedLogin);
            if let Some(credentials) = &credentials {
                security_events::record(deps.events, &credentials.user.id, EventKind::LoginFailed, seen).await;
            }
            Err(AuthError::InvalidCredentials)
        }
    }
}

/// Replaces an imported account's bcrypt hash with argon2id, now that the password is known.
/// Best effort: when it fails the login still succeeds, and the next one tries again. Returns
/// the new hash when it replaced the old one.
async fn upgrade_imported_hash(deps: &AuthDeps<'_>, credentials: &UserWithHash, password: &str) -> Option<String> {
    let hash = match deps.hasher.hash(&Password::known(password), WhenClientLeaves::Finish).await {
        Ok(hash) => hash,
        Err(error) => {
            tracing::warn!(user_id = %credentials.user.id, error = %error, "bcrypt hash not upgraded");
            return None;
        }
    };
    match deps.users.rehash_password(&credentials.user.id, &credentials.password_hash, &hash).await {
        Ok(true) => {
            tracing::info!(user_id = %credentials.user.id, "imported bcrypt hash replaced by argon2id");
            Some(hash)
        }
        Ok(false) => None,
        Err(error) => {
            tracing::warn!(user_id = %credentials.user.id, error = %error, "bcrypt hash not upgraded");
            None
        }
    }
}

/// The hash to start a session against after an upgrade did not replace `credentials`' hash:
/// a concurrent login of the same account may have upgraded it first (to the same password,
/// which one more verification shows), or the password changed (and the old hash, which then
/// starts no session, is kept).
async fn hash_now_current(deps: &AuthDeps<'_>, credentials: &UserWithHash, password: &str) -> AuthResult<String> {
    let old = &credentials.password_hash;
    let Some(now) = deps.users.user_with_hash_by_id(&credentials.user.id).await? else { return Ok(old.clone()) };
    if now.password_hash == *old
        || !deps.hasher.verify(password, Some(&now.password_hash), WhenClientLeaves::Finish).await?
    {
        return Ok(old.clone());
    }
    Ok(now.password_hash)
}

/// Trades a refresh token for a new pair. The rule, for both databases: an unknown token, or one
/// of a revoked or expired session, is refused; a token presented after it was rotated (by an
/// earlier refresh, or by a concurrent one that won) was copied, so its whole session is revoked.
#[tracing::instrument(skip_all)]
pub async fn refresh(deps: &AuthDeps<'_>, refresh_token: &str, client: &ClientInfo) -> AuthResult<TokenPair> {
    let invalid = || AuthError::InvalidRefreshToken;
    let now = now();
    let presented = secret_token::hash(refresh_token);
    let Some(record) = deps.sessions.refresh_token(&presented).await? else {
        return Err(invalid());
    };
    if record.session_revoked || record.session_expires_at <= now {
        return Err(invalid());
    }
    let replacement = secret_token::generate();
    let rotation = Rotation { presented, replacement: secret_token::hash(&replacement), at: now };
    if record.rotated || !deps.sessions.rotate_refresh_token(&rotation).await? {
        deps.sessions.revoke_session(&record.session_id, now).await?;
        tracing::warn!(
            user_id = %record.user_id,
            session_id = %record.session_id,
            "a rotated refresh token was presented again: its session is revoked"
        );
        deps.metrics.record(AuthEvent::Revocation);
        security_events::record(deps.events, &record.user_id, EventKind::SessionRevoked, client).await;
        return Err(invalid());
    }
    token_pair(deps, &record.user_id, &record.session_id, replacement, now)
}

pub async fn logout(deps: &AuthDeps<'_>, actor: &Actor, client: &ClientInfo) -> AuthResult<()> {
    // An access token has no session to end (and is refused here before: `Actor::may`).
    let session_id = actor.session_id().ok_or(AuthError::InvalidAccessToken)?;
    deps.sessions.revoke_session(session_id, now()).await?;
    deps.metrics.record(AuthEvent::Revocation);
    security_events::record(deps.events, &actor.user.id, EventKind::Logout, client).await;
    tracing::info!(user_id = %actor.user.id, "logged out");
    Ok(())
}

pub async fn logout_all(deps: &AuthDeps<'_>, actor: &Actor, client: &ClientInfo) -> AuthResult<()> {
    deps.sessions.revoke_user_sessions(&actor.user.id, now()).await?;
    deps.metrics.record(AuthEvent::Revocation);
    security_events::record(deps.events, &actor.user.id, EventKind::LogoutAll, client).await;
    tracing::info!(user_id = %actor.user.id, "logged out everywhere");
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn change_password(
    deps: &AuthDeps<'_>,
    actor: &Actor,
    client: IpAddr,
    seen: &ClientInfo,
    current: &str,
    new: &str,
) -> AuthResult<()> {
    let new = Password::parse(new, min_password(deps))
        .and_then(|new| new.for_account(&actor.user.email))
        .map_err(|reason| AuthError::Invalid(Invalid::field("new_password", reason)))?;
    confirm_password(deps.users, deps.hasher, &deps.password_gate(client), actor, "current_password", current).await?;
    let hash = deps.hasher.hash(&new, WhenClientLeaves::Finish).await?;
    let notice = MailDraft {
        id: new_id(),
        subject: "Your movie-bag password was changed".into(),
        body: "The password of your movie-bag account was just changed, and every session was \
               logged out.\n\nIf this was not you, reset it at once with \"forgot password\" and contact support.\n"
            .into(),
    };
    let change = PasswordChange { user_id: actor.user.id.clone(), password_hash: hash, at: now(), notice };
    deps.users.set_password(&change).await?;
    deps.outbox.wake();
    deps.metrics.record(AuthEvent::Revocation);
    security_events::record(deps.events, &actor.user.id, EventKind::PasswordChanged, seen).await;
    tracing::info!("password changed; every session revoked");
    Ok(())
}

/// Always the same answer; an email goes out only when the account exists.
#[tracing::instrument(skip_all)]
pub async fn forgot(deps: &AuthDeps<'_>, email: &str, client: &ClientInfo) -> AuthResult<&'static str> {
    let email = Email::parse(email).map_err(|reason| AuthError::Invalid(Invalid::field("email", reason)))?;
    // Known and unknown addresses take the same time: the answer never comes before the floor,
    // and the work for a known one (a lookup, a write, queueing the email) fits well inside it.
    let floor = tokio::time::Instant::now() + FORGOT_FLOOR;
    let outcome = request_reset(deps, &email, client).await;
    tokio::time::sleep_until(floor).await;
    outcome.map(|()| FORGOT_ANSWER)
}

/// How long `forgot` takes at least, whether or not the account exists.
const FORGOT_FLOOR: Duration = Duration::from_millis(50);

async fn request_reset(deps: &AuthDeps<'_>, email: &Email, client: &ClientInfo) -> AuthResult<()> {
    let Some(user) = deps.users.user_by_email(email).await? else {
        return Ok(());
    };
    if !deps.limits.reset_email(deps.limit_store, email).await? {
        tracing::warn!(user_id = %user.id, "reset email not sent: the account's hourly allowance is used up");
        return Ok(());
    }
    let token = secret_token::generate();
    let now = now();
    let expires_at = chrono_after(now, deps.tokens.reset_token_ttl);
    let link = format!("{}/reset?token={token}", deps.server.public_url());
    let minutes = deps.tokens.reset_token_ttl.as_secs().div_ceil(60);
    let mail = MailDraft {
        id: new_id(),
        subject: "Reset your movie-bag password".into(),
        body: format!(
            "Someone asked to reset the password of your movie-bag account.\n\n\
             To choose a new password, open this link:\n{link}\n\n\
             If an app you use with movie-bag asks for a reset code instead, give it this one:\n{token}\n\n\
             It works once, for {minutes} minutes. If you did not ask for it, ignore this email.\n"
        ),
    };
    // The email is queued in the same transaction as the token it carries.
    let stored = NewResetToken {
        user_id: user.id.clone(),
        token_hash: secret_token::hash(&token),
        created_at: now,
        expires_at,
        mail,
    };
    deps.sessions.replace_reset_token(&stored).await?;
    deps.outbox.wake();
    security_events::record(deps.events, &user.id, EventKind::PasswordResetRequested, client).await;
    tracing::info!(user_id = %user.id, "password reset requested");
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn reset(
    deps: &AuthDeps<'_>,
    reset_token: &str,
    password: &str,
    client: &ClientInfo,
) -> AuthResult<&'static str> {
    let password = Password::parse(password, min_password(deps))
        .map_err(|reason| AuthError::Invalid(Invalid::field("password", reason)))?;
    if reset_token.is_empty() || reset_token.len() > 256 {
        return Err(AuthError::InvalidResetToken);
    }
    // The account's own rule needs the account: looked up, not used, so that a refused
    // password leaves the token working.
    let presented = secret_token::hash(reset_token);
    let Some(owner) = deps.sessions.reset_token_owner(&presented, now()).await? else {
        return Err(AuthError::InvalidResetToken);
    };
    let password =
        password.for_account(&owner.email).map_err(|reason| AuthError::Invalid(Invalid::field("password", reason)))?;
    let hash = deps.hasher.hash(&password, WhenClientLeaves::Finish).await?;
    let confirmation = MailDraft {
        id: new_id(),
        subject: "Your movie-bag password was changed".into(),
        body: "The password of your movie-bag account was just reset, and every session was \
               logged out.\n\nIf this was not you, reset it again at once and contact support.\n"
            .into(),
    };
    let reset = PasswordReset { token_hash: presented, password_hash: hash, at: now(), confirmation };
    let consumed = deps.sessions.consume_reset_token(&reset).await?;
    let Some(user_id) = consumed else {
        return Err(AuthError::InvalidResetToken);
    };
    deps.outbox.wake();
    deps.metrics.record(AuthEvent::Revocation);
    security_events::record(deps.events, &user_id, EventKind::PasswordReset, client).await;
    tracing::info!(%user_id, "password reset; every session revoked");
    Ok(RESET_DONE)
}

/// The actor behind an access token, or 401: bad signature, expired, revoked session, or a
/// deleted user all look the same to the client.
pub async fn authenticate(deps: &AuthDeps<'_>, token: &str) -> AuthResult<Actor> {
    if let Some(secret) = token.strip_prefix(super::access_tokens::PREFIX) {
        return super::access_tokens::authenticate(deps, secret).await;
    }
    let unauthorized = || AuthError::InvalidAccessToken;
    let claims = deps.keys.verify(token).ok_or_else(unauthorized)?;
    let session_id = SessionId::parse(&claims.sid).ok_or_else(unauthorized)?;
    let session = deps.sessions.unrevoked_session(&session_id).await?.ok_or_else(unauthorized)?;
    if session.expires_at <= now() || session.owner.user.id != *claims.sub.as_str() {
        return Err(unauthorized());
    }
    Ok(session.owner.into())
}
