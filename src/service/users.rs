//! The account itself and its administration.

use serde::Serialize;
use utoipa::ToSchema;

use super::Actor;
use super::auth::confirm_password;
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::model::{User, is_plausible_id};
use crate::state::AppState;

const USER_NOT_FOUND: &str = "User with given id doesn't exist";

/// `GET /api/users/me`: the account and the ids of its movies.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub user: User,
    /// Ids of the movies this user added, newest first.
    pub movies: Vec<String>,
}

pub async fn profile(state: &AppState, actor: &Actor) -> ApiResult<Profile> {
    let movies = state.store.movie_ids_of(&actor.user.id).await?;
    Ok(Profile { user: actor.user.clone(), movies })
}

/// Deleting an account takes its password, so a stolen token alone cannot do it.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id))]
pub async fn delete_own_account(state: &AppState, actor: &Actor, password: &str) -> ApiResult<()> {
    confirm_password(state, actor, "password", password).await?;
    state.store.delete_user(&actor.user.id).await?;
    tracing::info!("account deleted with its movies");
    Ok(())
}

pub async fn list(state: &AppState) -> ApiResult<Vec<User>> {
    Ok(state.store.list_users().await?)
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn set_role(state: &AppState, admin: &Actor, user_id: &str, role: &str) -> ApiResult<User> {
    let role = Role::parse(role).map_err(|reason| ApiError::validation("role", reason))?;
    if !is_plausible_id(user_id) {
        return Err(ApiError::NotFound(USER_NOT_FOUND.into()));
    }
    let user = state.store.set_role(user_id, role).await?.ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))?;
    tracing::info!(role = role.as_str(), "role changed");
    Ok(user)
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.user.id, user_id = %user_id))]
pub async fn delete(state: &AppState, admin: &Actor, user_id: &str) -> ApiResult<()> {
    if !is_plausible_id(user_id) || !state.store.delete_user(user_id).await? {
        return Err(ApiError::NotFound(USER_NOT_FOUND.into()));
    }
    tracing::info!("user deleted by an admin");
    Ok(())
}

/// `movie-bag user promote|demote <email>`: an unknown email is an error.
pub async fn set_role_by_email(store: &crate::store::DynStore, email: &str, role: Role) -> anyhow::Result<User> {
    let user = store
        .user_by_email(email.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user with email {:?}", email.trim()))?;
    store
        .set_role(&user.id, role)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {:?} was deleted meanwhile", email.trim()))
}
