//! The account itself and its administration.

use serde::Serialize;
use utoipa::ToSchema;

use std::net::IpAddr;
use std::time::Duration;

use super::limits::{LimitError, Limits};
use super::mfa::MfaStatus;
use super::security_events::{self, EventKind};
use super::{Actor, Invalid};
use crate::auth::password::{HashError, PasswordHasher, WhenClientLeaves};
use crate::domain::User;
use crate::domain::{Email, MovieId, Role, UserId};
use crate::store::{ClientInfo, Conflict, LimitStore, MfaStore, MovieStore, SecurityEventStore, StoreError, UserStore};

/// Why an account request was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A field broke a rule (a role that is none, a wrong password).
    #[error("{0}")]
    Invalid(Invalid),
    #[error("no user has that id")]
    NotFound,
    /// The change would leave no admin.
    #[error("the last admin cannot stop being one")]
    LastAdmin,
    /// An admin deletes their own account with their password, as anyone does.
    #[error("an admin's own account is deleted through /api/users/me")]
    OwnAccount,
    /// Too many unsuccessful password checks for the account.
    #[error("the account is throttled")]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<LimitError> for UserError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Store(error) => Self::Store(error),
            limited => Self::Throttled { retry_after: limited.retry_after().unwrap_or_default() },
        }
    }
}

/// What a password check of a signed-in account counts against: the account's limit of
/// consecutive unsuccessful checks, so that a stolen token gives no unlimited guesses.
pub struct PasswordGate<'a> {
    pub limits: &'a Limits,
    pub store: &'a dyn LimitStore,
    pub client: IpAddr,
}

impl From<StoreError> for UserError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Conflict::LastAdmin) => Self::LastAdmin,
            other => Self::Store(other),
        }
    }
}

type UserResult<T> = Result<T, UserError>;

/// Checks the actor's current password, given in `field`; a wrong one is that field's error
/// (the token is fine, so telling the client to log in again would not help).
pub(crate) async fn confirm_password(
    users: &dyn UserStore,
    hasher: &PasswordHasher,
    gate: &PasswordGate<'_>,
    actor: &Actor,
    field: &str,
    password: &str,
) -> UserResult<()> {
    // A throttled check is logged by the limits, inside the caller's span (which names the user);
    // a store failure where the answer is made.
    gate.limits.password_check(gate.store, gate.client, &actor.user.email).await?;
    let credentials = users.user_with_hash_by_id(&actor.user.id).await?;
    let stored = credentials.as_ref().map(|c| c.password_hash.as_str());
    if hasher.verify(password, stored, WhenClientLeaves::Finish).await? {
        Ok(())
    } else {
        tracing::warn!(user_id = %actor.user.id, client = %gate.client, "password check failed");
        Err(UserError::Invalid(Invalid::field(field, "is incorrect")))
    }
}

/// `GET /api/users/me`: the account and the ids of its movies.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub user: User,
    /// Ids of the movies this user added, newest first.
    #[schema(value_type = Vec<String>)]
    pub movies: Vec<MovieId>,
    /// Two-step sign-in: whether TOTP is on, and how many recovery codes are unused.
    pub mfa: MfaStatus,
}

pub async fn profile(movies: &dyn MovieStore, mfa: &dyn MfaStore, actor: &Actor) -> UserResult<Profile> {
    let movies = movies.movie_ids_of(&actor.user.id).await?;
    let mfa = super::mfa::status(mfa, &actor.user.id).await?;
    Ok(Profile { user: actor.user.clone(), movies, mfa })
}

/// Deleting an account takes its password, so a stolen token alone cannot do it.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn delete_own_account(
    users: &dyn UserStore,
    hasher: &PasswordHasher,
    gate: &PasswordGate<'_>,
    actor: &Actor,
    password: &str,
) -> UserResult<()> {
    confirm_password(users, hasher, gate, actor, "password", password).await?;
    users.delete_user(&actor.user.id).await?;
    tracing::info!("account deleted with its movies");
    Ok(())
}

pub async fn list(users: &dyn UserStore) -> UserResult<Vec<User>> {
    Ok(users.list_users().await?)
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn set_role(
    users: &dyn UserStore,
    events: &dyn SecurityEventStore,
    admin: &Actor,
    user_id: &str,
    role: &str,
    client: &ClientInfo,
) -> UserResult<User> {
    let role = Role::parse(role).map_err(|reason| UserError::Invalid(Invalid::field("role", reason)))?;
    let user_id = UserId::parse(user_id).ok_or(UserError::NotFound)?;
    let user = users.set_role(&user_id, role).await?.ok_or(UserError::NotFound)?;
    tracing::info!(role = role.as_str(), "role changed");
    // The changed account's event, seen from the admin who changed it.
    security_events::record(events, &user_id, EventKind::RoleChanged, client).await;
    Ok(user)
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn delete(users: &dyn UserStore, admin: &Actor, user_id: &str) -> UserResult<()> {
    if admin.user.id == *user_id {
        return Err(UserError::OwnAccount);
    }
    let user_id = UserId::parse(user_id).ok_or(UserError::NotFound)?;
    if !users.delete_user(&user_id).await? {
        return Err(UserError::NotFound);
    }
    tracing::info!("user deleted by an admin");
    Ok(())
}

/// `movie-bag user promote|demote <email>`: an unknown email is an error.
pub async fn set_role_by_email(store: &dyn UserStore, email: &str, role: Role) -> anyhow::Result<User> {
    let no_such_user = || anyhow::anyhow!("no user with email {:?}", email.trim());
    let parsed = Email::parse(email).map_err(|_| no_such_user())?;
    let user = store.user_by_email(&parsed).await?.ok_or_else(no_such_user)?;
    match store.set_role(&user.id, role).await {
        Err(StoreError::Conflict(Conflict::LastAdmin)) => {
            anyhow::bail!("{:?} is the last admin: promote another user first", email.trim())
        }
        outcome => outcome?.ok_or_else(|| anyhow::anyhow!("user {:?} was deleted meanwhile", email.trim())),
    }
}
