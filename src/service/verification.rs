//! Verified email addresses: the link emailed at signup, sending it again, changing the
//! account's address, and using a link.
//!
//! A link carries a random token (like a reset token: 256 bits, stored only as its SHA-256
//! hash, single use, `VERIFY_TOKEN_TTL`); its email is queued in the outbox in the same
//! transaction as the token, so it goes out after an SMTP outage or a restart. A newer link of
//! one kind supersedes the account's earlier ones of that kind. A change of address takes
//! effect only when the link sent to the new address is used; the old address is told when the
//! change is asked for, so the owner hears of it while it can still be stopped (a password
//! change or reset voids a pending change).
//!
//! With [`Settings::verified_email_required`](crate::config::Settings::verified_email_required)
//! an unverified account signs in and reads, but writes nothing beyond its own account
//! ([`blocks_unverified`]).

use std::time::Duration;

use super::auth::AuthDeps;
use super::limits::LimitError;
use super::security_events::{self, EventKind};
use super::users::{UserError, confirm_password};
use super::{Actor, Intent, Invalid};
use crate::auth::password::HashError;
use crate::auth::secret_token;
use crate::domain::{Email, new_id, now};
use crate::metrics::{Verification, VerificationEmail};
use crate::store::{
    ClientInfo, Conflict, EmailPurpose, EmailTokenStore, EmailTokenUse, MailDraft, NewEmailToken, StoreError,
};

/// Why a verification request was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error("{0}")]
    Invalid(Invalid),
    /// Unknown, used or expired link: one answer for all.
    #[error("invalid verification token")]
    InvalidToken,
    /// The address asked for belongs to another account (when asked, or when the link is used).
    #[error("an account has that email already")]
    EmailTaken,
    /// A resend for an address that is verified already: nothing was sent.
    #[error("the address is verified already")]
    AlreadyVerified,
    /// The account asked for more links than an hour allows.
    #[error("too many verification emails")]
    Throttled { retry_after: Duration },
    /// The password check failed or was throttled (see [`confirm_password`]).
    #[error(transparent)]
    Account(#[from] UserError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LimitError> for VerificationError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Store(error) => Self::Store(error),
            limited => Self::Throttled { retry_after: limited.retry_after().unwrap_or_default() },
        }
    }
}

impl From<HashError> for VerificationError {
    fn from(error: HashError) -> Self {
        Self::Account(UserError::Hashing(error))
    }
}

type VerificationResult<T> = Result<T, VerificationError>;

pub const VERIFIED: &str = "Your email address is verified";
pub const CHANGED: &str = "Your email address was changed";
const LINK_SUBJECT: &str = "Confirm your movie-bag email address";

/// Whether a request must wait until the account's address is verified: when verification is
/// `required`, every write (`writes`: the method is not safe) other than managing the account
/// itself (password, email, sessions, tokens, deletion). Deny by default: a write route added
/// later is closed to unverified accounts until it is classed as the account's own.
pub fn blocks_unverified(actor: &Actor, intent: Intent, writes: bool, required: bool) -> bool {
    required && writes && !actor.user.email_verified && intent != Intent::Account
}

/// "24 hours", "1 hour", "30 minutes": a link's lifetime, for people.
fn lifetime(ttl: Duration) -> String {
    let plural = |n: u64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    let seconds = ttl.as_secs();
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        plural(seconds / 3600, "hour")
    } else {
        plural(seconds.div_ceil(60).max(1), "minute")
    }
}

/// A fresh link for `address`, and its token (which only the email carries).
struct Link {
    token: String,
    url: String,
}

fn new_link(deps: &AuthDeps<'_>) -> Link {
    let token = secret_token::generate();
    let url = format!("{}/verify?token={token}", deps.server.public_url());
    Link { token, url }
}

/// The email that proves the account's current address (signup and resend).
fn address_email(deps: &AuthDeps<'_>, link: &Link) -> MailDraft {
    let Link { token, url } = link;
    let lifetime = lifetime(deps.tokens.verify_token_ttl);
    MailDraft {
        id: new_id(),
        subject: LINK_SUBJECT.into(),
        body: format!(
            "Welcome to movie-bag!\n\n\
             To confirm that this email address is yours, open this link:\n{url}\n\n\
             The link works once, for {lifetime}. If you did not sign up for movie-bag, ignore this \
             email: nothing happens without the link.\n\n\
             If an app asks you for a confirmation code instead, it is:\n{token}\n"
        ),
    }
}

/// The link and its email for a new account's address, to store with the account
/// ([`crate::store::NewUser::verification`]).
pub fn signup_link(deps: &AuthDeps<'_>, user_id: &crate::domain::UserId, email: &Email) -> NewEmailToken {
    let link = new_link(deps);
    let mail = address_email(deps, &link);
    email_token(deps, user_id, EmailPurpose::Verify, email.clone(), &link, mail, None, None)
}

#[allow(clippy::too_many_arguments)]
fn email_token(
    deps: &AuthDeps<'_>,
    user_id: &crate::domain::UserId,
    purpose: EmailPurpose,
    address: Email,
    link: &Link,
    mail: MailDraft,
    notice: Option<MailDraft>,
    event: Option<crate::store::NewSecurityEvent>,
) -> NewEmailToken {
    let created_at = now();
    let ttl = chrono::Duration::from_std(deps.tokens.verify_token_ttl).unwrap_or(chrono::Duration::MAX);
    NewEmailToken {
        user_id: user_id.clone(),
        token_hash: secret_token::hash(&link.token),
        purpose,
        address,
        created_at,
        expires_at: created_at + ttl,
        mail,
        notice,
        event,
    }
}

/// `POST /api/auth/verify/resend`: a new link to the account's address, superseding the
/// earlier ones. An address verified already gets nothing ([`VerificationError::AlreadyVerified`]),
/// and that costs none of the hour's allowance.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn resend(deps: &AuthDeps<'_>, tokens: &dyn EmailTokenStore, actor: &Actor) -> VerificationResult<()> {
    if actor.user.email_verified {
        return Err(VerificationError::AlreadyVerified);
    }
    let address = Email::parse(&actor.user.email).map_err(|reason| {
        // Every stored address parsed once; one that no longer does cannot be mailed.
        StoreError::other(anyhow::anyhow!("the account's stored address does not parse: {reason}"))
    })?;
    deps.limits.verification_email(deps.limit_store, &actor.user.id).await?;
    let link = new_link(deps);
    let mail = address_email(deps, &link);
    let token = email_token(deps, &actor.user.id, EmailPurpose::Verify, address, &link, mail, None, None);
    tokens.replace_email_token(&token).await?;
    deps.outbox.wake();
    deps.metrics.verification_email_queued(VerificationEmail::Resend);
    tracing::info!("verification email queued again");
    Ok(())
}

/// `PUT /api/auth/email`: after the password, a link to `new_email` that makes it the
/// account's address when used, and a notice to the current address; both queued, with the
/// `email_change_requested` event, in one transaction. A newer request supersedes an older
/// pending one.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn request_change(
    deps: &AuthDeps<'_>,
    tokens: &dyn EmailTokenStore,
    actor: &Actor,
    client: std::net::IpAddr,
    seen: &ClientInfo,
    new_email: &str,
    password: &str,
) -> VerificationResult<()> {
    let field = |reason: String| VerificationError::Invalid(Invalid::field("new_email", reason));
    let new_email = Email::parse(new_email).map_err(field)?;
    if new_email.normalized() == actor.user.email.to_lowercase() {
        return Err(field("is your address already".into()));
    }
    if new_email.normalized() == super::seed::SEED_EMAIL {
        return Err(field("is reserved".into()));
    }
    confirm_password(deps.users, deps.hasher, &deps.password_gate(client), actor, "password", password).await?;
    if deps.users.user_by_email(&new_email).await?.is_some() {
        return Err(VerificationError::EmailTaken);
    }
    deps.limits.verification_email(deps.limit_store, &actor.user.id).await?;
    let link = new_link(deps);
    let lifetime = lifetime(deps.tokens.verify_token_ttl);
    let Link { token, url } = &link;
    let mail = MailDraft {
        id: new_id(),
        subject: "Confirm your new movie-bag email address".into(),
        body: format!(
            "Someone asked to make this the email address of their movie-bag account.\n\n\
             To confirm the change, open this link:\n{url}\n\n\
             Until then the account keeps its old address. The link works once, for {lifetime}. If \
             you did not ask for this, ignore this email: nothing changes without the link.\n\n\
             If an app asks you for a confirmation code instead, it is:\n{token}\n"
        ),
    };
    let notice = MailDraft {
        id: new_id(),
        subject: "Your movie-bag email address is about to change".into(),
        body: format!(
            "Someone signed in to your movie-bag account asked to change its email address to {}.\n\n\
             Nothing changes until the link sent to that address is opened. If this was not you, \
             change your password at once: that stops the change and signs out every device.\n",
            new_email.as_str()
        ),
    };
    let event = security_events::event(&actor.user.id, EventKind::EmailChangeRequested, seen);
    let token =
        email_token(deps, &actor.user.id, EmailPurpose::Change, new_email, &link, mail, Some(notice), Some(event));
    tokens.replace_email_token(&token).await?;
    deps.outbox.wake();
    deps.metrics.verification_email_queued(VerificationEmail::EmailChange);
    tracing::info!("email change requested; link queued to the new address, notice to the old");
    Ok(())
}

/// `POST /api/auth/verify`: uses a link. Its event is written in the same transaction as what
/// it changes.
#[tracing::instrument(skip_all)]
pub async fn verify(
    deps: &AuthDeps<'_>,
    tokens: &dyn EmailTokenStore,
    token: &str,
    client: &ClientInfo,
) -> VerificationResult<&'static str> {
    if token.is_empty() || token.len() > 256 {
        return Err(VerificationError::InvalidToken);
    }
    let token_hash = secret_token::hash(token);
    let at = now();
    let Some(record) = tokens.email_token(&token_hash, at).await? else {
        return Err(VerificationError::InvalidToken);
    };
    let (kind, done, answer) = match record.purpose {
        EmailPurpose::Verify => (EventKind::EmailVerified, Verification::Address, VERIFIED),
        EmailPurpose::Change => (EventKind::EmailChanged, Verification::EmailChange, CHANGED),
    };
    let event = security_events::event(&record.user_id, kind, client);
    let used = EmailTokenUse { token_hash, at, event };
    match tokens.consume_email_token(&used).await {
        Ok(Some(user_id)) => {
            deps.metrics.verification_completed(done);
            tracing::info!(%user_id, kind = kind.name(), "verification link used");
            Ok(answer)
        }
        Ok(None) => Err(VerificationError::InvalidToken),
        Err(StoreError::Conflict(Conflict::EmailTaken)) => {
            tracing::info!(user_id = %record.user_id, "email change refused: another account took the address");
            Err(VerificationError::EmailTaken)
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_hours_or_minutes() {
        assert_eq!(lifetime(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(lifetime(Duration::from_secs(3600)), "1 hour");
        assert_eq!(lifetime(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(lifetime(Duration::from_secs(90)), "2 minutes");
        assert_eq!(lifetime(Duration::from_secs(1)), "1 minute");
    }
}
