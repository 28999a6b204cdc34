//! The account itself and its administration.

use serde::Serialize;
use utoipa::ToSchema;

use super::Actor;
use super::auth::confirm_password;
use crate::auth::password::PasswordHasher;
use crate::domain::{Email, MovieId, Role, UserId};
use crate::error::{ApiError, ApiResult};
use crate::model::User;
use crate::store::{LAST_ADMIN, MovieStore, StoreError, UserStore};

const USER_NOT_FOUND: &str = "User with given id doesn't exist";
const LAST_ADMIN_STAYS: &str = "The last admin cannot give up the role or be deleted: promote another admin first";
const DELETE_YOURSELF_WITH_PASSWORD: &str =
    "Delete your own account with DELETE /api/users/me, which asks for your password";

fn keep_last_admin(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict(LAST_ADMIN) => ApiError::Conflict(LAST_ADMIN_STAYS.into()),
        other => other.into(),
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
}

pub async fn profile(movies: &dyn MovieStore, actor: &Actor) -> ApiResult<Profile> {
    let movies = movies.movie_ids_of(&actor.user.id).await?;
    Ok(Profile { user: actor.user.clone(), movies })
}

/// Deleting an account takes its password, so a stolen token alone cannot do it.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn delete_own_account(
    users: &dyn UserStore,
    hasher: &PasswordHasher,
    actor: &Actor,
    password: &str,
) -> ApiResult<()> {
    confirm_password(users, hasher, actor, "password", password).await?;
    users.delete_user(&actor.user.id).await.map_err(keep_last_admin)?;
    tracing::info!("account deleted with its movies");
    Ok(())
}

pub async fn list(users: &dyn UserStore) -> ApiResult<Vec<User>> {
    Ok(users.list_users().await?)
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn set_role(users: &dyn UserStore, admin: &Actor, user_id: &str, role: &str) -> ApiResult<User> {
    let role = Role::parse(role).map_err(|reason| ApiError::validation("role", reason))?;
    let user_id = UserId::parse(user_id).ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))?;
    let user = users
        .set_role(&user_id, role)
        .await
        .map_err(keep_last_admin)?
        .ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))?;
    tracing::info!(role = role.as_str(), "role changed");
    Ok(user)
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn delete(users: &dyn UserStore, admin: &Actor, user_id: &str) -> ApiResult<()> {
    if admin.user.id == *user_id {
        return Err(ApiError::Forbidden(DELETE_YOURSELF_WITH_PASSWORD.into()));
    }
    let user_id = UserId::parse(user_id).ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))?;
    if !users.delete_user(&user_id).await.map_err(keep_last_admin)? {
        return Err(ApiError::NotFound(USER_NOT_FOUND.into()));
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
        Err(StoreError::Conflict(LAST_ADMIN)) => {
            anyhow::bail!("{:?} is the last admin: promote another user first", email.trim())
        }
        outcome => outcome?.ok_or_else(|| anyhow::anyhow!("user {:?} was deleted meanwhile", email.trim())),
    }
}
