//! Two-step sign-in with TOTP (RFC 6238): enrolment, its confirmation with a first code (which
//! hands out the recovery codes), the second step of a login, turning it off (by the owner with
//! password and code, or by an admin).
//!
//! Rules, for both databases:
//! - a code is accepted once: the account's last accepted time step is moved forward by a
//!   compare-and-set in the database, so neither a replay nor a second replica accepts it again;
//!   one step of drift either way is allowed;
//! - a login whose password was right answers an `mfa_token` instead of tokens: random, stored
//!   as a hash, valid [`CHALLENGE_TTL`], ended by [`MAX_WRONG_CODES`] wrong codes, used once;
//! - every second step counts in the account's failed-login throttle (`service::limits`), and
//!   only a completed second step clears it: a right password alone does not;
//! - after enrolment no answer ever holds the secret again; events and logs never hold a code,
//!   a secret or a token.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{AuthDeps, AuthError, TokenPair};
use super::limits::LimitError;
use super::security_events::{self, EventKind};
use super::users::{UserError, confirm_password};
use super::{Actor, Invalid};
use crate::auth::secret_token;
use crate::auth::totp::{SecondFactor, TotpSecret, generate_recovery_codes, recovery_code_hash};
use crate::domain::{UserId, new_id, now};
use crate::metrics::AuthEvent;
use crate::store::{
    ClientInfo, MailDraft, MfaRemoval, MfaState, MfaStore, NewMfaChallenge, NewTotpEnrolment, StoreError,
    TotpActivation,
};

/// How long an `mfa_token` waits for its code.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Wrong codes that end an `mfa_token`.
pub const MAX_WRONG_CODES: u32 = 5;

/// Why a two-step sign-in request was refused.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// A field broke a rule or was wrong (`code`: "is incorrect").
    #[error("{0}")]
    Invalid(Invalid),
    #[error("two-step sign-in is on already")]
    AlreadyOn,
    #[error("no enrolment is waiting for its first code")]
    NotPending,
    #[error("two-step sign-in is not on")]
    NotOn,
    /// Unknown, used, expired or failed-out `mfa_token`, or a wrong or reused code: one answer.
    #[error("invalid second step")]
    InvalidSecondStep,
    #[error("no user has that id")]
    NoSuchUser,
    #[error("the account is throttled")]
    Throttled { retry_after: Duration },
    /// The password check (wrong password, throttled) or starting the session.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UserError> for MfaError {
    fn from(error: UserError) -> Self {
        Self::Auth(AuthError::Account(error))
    }
}

impl From<LimitError> for MfaError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Store(error) => Self::Store(error),
            limited => Self::Throttled { retry_after: limited.retry_after().unwrap_or_default() },
        }
    }
}

type MfaResult<T> = Result<T, MfaError>;

/// The answer to an enrolment: what an authenticator app needs, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The shared secret, base32 without padding, for typing into an app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// The same as an `otpauth://` URI (SHA-1, 6 digits, 30 s; issuer `movie-bag`, the account
    /// its email), for a QR code.
    #[schema(
        example = "otpauth://totp/movie-bag:ann%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=movie-bag"
    )]
    pub otpauth_uri: String,
    /// The same URI as a QR code, for a page to draw (the web app draws it with SVG elements,
    /// so no image of the secret is made or fetched).
    pub otpauth_qr: QrMatrix,
}

/// A QR code's modules: `size` rows of `size` modules, top to bottom, each row a string of `1`
/// (dark) and `0` (light). Whoever draws it adds the quiet zone (4 light modules each side).
#[derive(Debug, Serialize, ToSchema)]
pub struct QrMatrix {
    #[schema(example = 33)]
    pub size: usize,
    #[schema(example = json!(["111111100...", "100000101..."]))]
    pub rows: Vec<String>,
}

impl QrMatrix {
    /// `text` as a QR code with error correction level M (15% of the modules may be lost, what
    /// authenticator apps expect of a screen); `None` when it is too long for any QR version.
    pub fn encode(text: &str) -> Option<Self> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
        let size = code.width();
        let colors = code.to_colors();
        let rows = colors
            .chunks(size)
            .map(|row| row.iter().map(|color| if *color == qrcode::Color::Dark { '1' } else { '0' }).collect())
            .collect();
        Some(Self { size, rows })
    }
}

/// Recovery codes, shown once: each signs in (or turns two-step sign-in off) once, in place of
/// a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    #[schema(example = json!(["ABCD-EFGH-JKLM-NPQR"]))]
    pub recovery_codes: Vec<String>,
}

/// A login whose password was right, on an account with two-step sign-in: no tokens yet. Send
/// `mfa_token` with a code to `POST /api/auth/login/mfa`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always true.
    pub mfa_required: bool,
    /// Opaque; single use; ended by five wrong codes.
    pub mfa_token: String,
    /// Seconds until `mfa_token` expires.
    #[schema(example = 300)]
    pub expires_in: u64,
}

/// Two-step sign-in as `GET /api/users/me` shows it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct MfaStatus {
    /// TOTP is on (confirmed; a pending enrolment does not count).
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
}

impl From<MfaState> for MfaStatus {
    fn from(state: MfaState) -> Self {
        Self { totp: state.totp, recovery_codes_left: state.recovery_codes_left }
    }
}

pub async fn status(store: &dyn MfaStore, user_id: &UserId) -> Result<MfaStatus, StoreError> {
    Ok(store.mfa_state(user_id).await?.into())
}

fn unix_seconds(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

fn wrong_code() -> MfaError {
    MfaError::Invalid(Invalid::field("code", "is incorrect"))
}

/// Only a signed-in session manages two-step sign-in (the routes are account ones, so
/// `Actor::may` refuses an access token before this; kept true should a route move).
fn require_session(actor: &Actor) -> MfaResult<()> {
    actor.session_id().map(|_| ()).ok_or(MfaError::Auth(AuthError::InvalidAccessToken))
}

fn notice(subject: &str, body: &str) -> MailDraft {
    MailDraft { id: new_id(), subject: subject.into(), body: body.into() }
}

/// `POST /api/auth/mfa/totp`: a new secret, pending until a first code confirms it (a second
/// call meanwhile replaces it).
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn enrol(deps: &AuthDeps<'_>, actor: &Actor, password: &str, client: IpAddr) -> MfaResult<TotpEnrolment> {
    require_session(actor)?;
    if deps.mfa.totp_credential(&actor.user.id).await?.is_some_and(|credential| credential.enabled) {
        return Err(MfaError::AlreadyOn);
    }
    confirm_password(deps.users, deps.hasher, &deps.password_gate(client), actor, "password", password).await?;
    let secret = TotpSecret::generate();
    let enrolment = NewTotpEnrolment {
        user_id: actor.user.id.clone(),
        secret_sealed: deps.totp_key.seal(actor.user.id.as_str(), &secret),
        at: now(),
    };
    if !deps.mfa.begin_totp_enrolment(&enrolment).await? {
        return Err(MfaError::AlreadyOn);
    }
    tracing::info!("TOTP enrolment started");
    let otpauth_uri = secret.otpauth_uri(&actor.user.email);
    // An email is at most 254 characters: the URI always fits a QR code (up to 2,331 bytes at M).
    let otpauth_qr = QrMatrix::encode(&otpauth_uri).expect("an otpauth URI fits a QR code");
    Ok(TotpEnrolment { secret: secret.base32(), otpauth_uri, otpauth_qr })
}

/// `POST /api/auth/mfa/totp/confirm`: the pending secret's first code turns it on and hands out
/// fresh recovery codes; the owner is told by email. Each try counts in the account's throttle:
/// whoever holds a stolen session could otherwise guess the owner's pending code and come away
/// with recovery codes.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn confirm(
    deps: &AuthDeps<'_>,
    actor: &Actor,
    code: &str,
    client: IpAddr,
    seen: &ClientInfo,
) -> MfaResult<RecoveryCodes> {
    require_session(actor)?;
    let credential = deps.mfa.totp_credential(&actor.user.id).await?.ok_or(MfaError::NotPending)?;
    if credential.enabled {
        return Err(MfaError::AlreadyOn);
    }
    deps.limits.second_step_check(deps.limit_store, client, &actor.user.email).await?;
    let Some(secret) = deps.totp_key.open(actor.user.id.as_str(), &credential.secret_sealed) else {
        tracing::warn!("the pending TOTP secret cannot be opened (the signing key changed): enrol again");
        return Err(MfaError::NotPending);
    };
    let Some(SecondFactor::Code(code)) = SecondFactor::parse(code) else { return Err(wrong_code()) };
    let at = now();
    let step = secret.matching_step(&code, unix_seconds(at)).ok_or_else(wrong_code)?;
    let codes = generate_recovery_codes();
    let activation = TotpActivation {
        user_id: actor.user.id.clone(),
        secret_sealed: credential.secret_sealed,
        step: i64::try_from(step).unwrap_or(i64::MAX),
        at,
        recovery_code_hashes: codes.iter().filter_map(|code| recovery_code_hash(code)).collect(),
        event: security_events::event(&actor.user.id, EventKind::MfaEnabled, seen),
        notice: notice(
            "Two-step sign-in is on for your movie-bag account",
            "Two-step sign-in was just turned on for your movie-bag account: from now on, signing in \
             asks for a code from your authenticator app after your password.\n\nKeep your recovery \
             codes somewhere safe; each one signs you in once if you lose your phone.\n\nIf this was \
             not you, reset your password at once and contact support.\n",
        ),
    };
    if !deps.mfa.enable_totp(&activation).await? {
        // Replaced by a newer enrolment (or confirmed by another request) meanwhile.
        return Err(MfaError::NotPending);
    }
    deps.outbox.wake();
    tracing::info!("two-step sign-in turned on");
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// Whether `code` is the account's second step: a code of its secret for a time step later
/// than the last accepted one (which it then becomes), or one of its unused recovery codes
/// (used now, its event in the same transaction).
async fn second_step_accepted(
    deps: &AuthDeps<'_>,
    user_id: &UserId,
    code: &str,
    client: &ClientInfo,
) -> MfaResult<bool> {
    match SecondFactor::parse(code) {
        None => Ok(false),
        Some(SecondFactor::Code(code)) => {
            let Some(credential) = deps.mfa.totp_credential(user_id).await?.filter(|c| c.enabled) else {
                return Ok(false);
            };
            let Some(secret) = deps.totp_key.open(user_id.as_str(), &credential.secret_sealed) else {
                tracing::error!(
                    %user_id,
                    "the TOTP secret cannot be opened: JWT_SECRET_KEY changed since enrolment; \
                     an admin's DELETE /api/users/{{id}}/mfa lets the user enrol again"
                );
                return Ok(false);
            };
            let Some(step) = secret.matching_step(&code, unix_seconds(now())) else { return Ok(false) };
            let accepted = deps.mfa.accept_totp_step(user_id, i64::try_from(step).unwrap_or(i64::MAX)).await?;
            if !accepted {
                tracing::warn!(%user_id, "a TOTP code was presented again after it was accepted");
            }
            Ok(accepted)
        }
        Some(SecondFactor::Recovery(normalized)) => {
            let event = security_events::event(user_id, EventKind::RecoveryCodeUsed, client);
            let used = deps.mfa.use_recovery_code(user_id, &secret_token::hash(&normalized), now(), &event).await?;
            if used {
                deps.metrics.record(AuthEvent::RecoveryCodeUsed);
                tracing::info!(%user_id, "recovery code used");
            }
            Ok(used)
        }
    }
}

/// A refused second step: counted, logged (never the code) and recorded for the owner.
async fn second_step_refused(deps: &AuthDeps<'_>, user_id: &UserId, client: &ClientInfo) {
    deps.metrics.record(AuthEvent::MfaFailure);
    tracing::warn!(%user_id, client = client.ip.as_deref().unwrap_or("-"), "second step refused");
    security_events::record(deps.events, user_id, EventKind::MfaFailed, client).await;
}

/// `DELETE /api/auth/mfa/totp`: with the password and a code (or a recovery code).
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn disable(
    deps: &AuthDeps<'_>,
    actor: &Actor,
    password: &str,
    code: &str,
    client: IpAddr,
    seen: &ClientInfo,
) -> MfaResult<()> {
    require_session(actor)?;
    if !deps.mfa.totp_credential(&actor.user.id).await?.is_some_and(|credential| credential.enabled) {
        return Err(MfaError::NotOn);
    }
    confirm_password(deps.users, deps.hasher, &deps.password_gate(client), actor, "password", password).await?;
    if !second_step_accepted(deps, &actor.user.id, code, seen).await? {
        second_step_refused(deps, &actor.user.id, seen).await;
        return Err(wrong_code());
    }
    let removal = MfaRemoval {
        user_id: actor.user.id.clone(),
        at: now(),
        event: security_events::event(&actor.user.id, EventKind::MfaDisabled, seen),
        notice: notice(
            "Two-step sign-in is off for your movie-bag account",
            "Two-step sign-in was just turned off for your movie-bag account: signing in now asks \
             for your password only, and your recovery codes no longer work.\n\nIf this was not you, \
             reset your password at once, turn two-step sign-in on again and contact support.\n",
        ),
    };
    if !deps.mfa.remove_totp(&removal).await? {
        return Err(MfaError::NotOn);
    }
    deps.outbox.wake();
    tracing::info!("two-step sign-in turned off by its owner");
    Ok(())
}

/// `DELETE /api/users/{id}/mfa`: an admin turns a user's two-step sign-in off (a lost phone and
/// lost recovery codes, or a signing key rotated). The user is told by email when it was on.
#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn reset_by_admin(deps: &AuthDeps<'_>, admin: &Actor, user_id: &str, seen: &ClientInfo) -> MfaResult<()> {
    let user_id = UserId::parse(user_id).ok_or(MfaError::NoSuchUser)?;
    if deps.users.user_by_id(&user_id).await?.is_none() {
        return Err(MfaError::NoSuchUser);
    }
    let removal = MfaRemoval {
        user_id: user_id.clone(),
        at: now(),
        // The changed account's event, seen from the admin who changed it.
        event: security_events::event(&user_id, EventKind::MfaDisabled, seen),
        notice: notice(
            "Two-step sign-in is off for your movie-bag account",
            "An administrator turned off two-step sign-in for your movie-bag account. Until you turn \
             it on again from your account, signing in asks for your password only.\n\nIf you did not \
             ask for this, reset your password and contact support.\n",
        ),
    };
    if deps.mfa.remove_totp(&removal).await? {
        deps.outbox.wake();
        tracing::info!("two-step sign-in turned off by an admin");
    }
    Ok(())
}

/// The second step a login asks for, when the account has two-step sign-in on: `None` when it
/// has not (the login starts its session at once).
pub(super) async fn challenge_if_enrolled(
    deps: &AuthDeps<'_>,
    user_id: &UserId,
    verified_hash: &str,
) -> Result<Option<MfaRequired>, AuthError> {
    if !deps.mfa.totp_credential(user_id).await?.is_some_and(|credential| credential.enabled) {
        return Ok(None);
    }
    let token = secret_token::generate();
    let created_at = now();
    let challenge = NewMfaChallenge {
        token_hash: secret_token::hash(&token),
        user_id: user_id.clone(),
        verified_hash: verified_hash.to_owned(),
        created_at,
        expires_at: created_at + chrono::Duration::from_std(CHALLENGE_TTL).unwrap_or_default(),
    };
    deps.mfa.insert_mfa_challenge(&challenge).await?;
    tracing::info!(%user_id, "password right; waiting for the second step");
    Ok(Some(MfaRequired { mfa_required: true, mfa_token: token, expires_in: CHALLENGE_TTL.as_secs() }))
}

/// `POST /api/auth/login/mfa`: the second step of a login. Every refusal is the same
/// [`MfaError::InvalidSecondStep`], whether the token is unknown, used, expired or failed out,
/// or the code wrong or reused.
#[tracing::instrument(skip_all)]
pub async fn login_second_step(
    deps: &AuthDeps<'_>,
    mfa_token: &str,
    code: &str,
    client: IpAddr,
    seen: &ClientInfo,
) -> MfaResult<TokenPair> {
    // A token is 43 characters; anything much longer is not one and is not hashed.
    if mfa_token.is_empty() || mfa_token.len() > 256 {
        return Err(MfaError::InvalidSecondStep);
    }
    let token_hash = secret_token::hash(mfa_token);
    let challenge =
        deps.mfa.mfa_challenge(&token_hash, now(), MAX_WRONG_CODES).await?.ok_or(MfaError::InvalidSecondStep)?;
    let user_id = challenge.user_id;
    let check = deps.limits.second_step_check(deps.limit_store, client, &challenge.email).await?;
    if !second_step_accepted(deps, &user_id, code, seen).await? {
        deps.mfa.count_mfa_failure(&token_hash).await?;
        second_step_refused(deps, &user_id, seen).await;
        return Err(MfaError::InvalidSecondStep);
    }
    if !deps.mfa.use_mfa_challenge(&token_hash, now(), MAX_WRONG_CODES).await? {
        return Err(MfaError::InvalidSecondStep);
    }
    let pair =
        super::auth::start_session(deps, &user_id, challenge.verified_hash, check.as_ref(), seen.clone()).await?;
    deps.metrics.record(AuthEvent::Login);
    deps.metrics.record(AuthEvent::MfaLogin);
    security_events::record(deps.events, &user_id, EventKind::Login, seen).await;
    tracing::info!(%user_id, %client, "login succeeded with its second step");
    Ok(pair)
}
