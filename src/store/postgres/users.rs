//! Accounts on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::verification::store_email_token;
use super::{PgStore, unique_as, user_from_row};
use crate::domain::User;
use crate::domain::{Email, Role, UserId};
use crate::store::sql::{limits, mail, sessions, users, verification};
use crate::store::statement::Sql;
use crate::store::{Conflict, MailDraft, NewUser, PasswordChange, StoreResult, UserStore, UserWithHash};

/// Locks the admins' rows, so that two admins demoting or deleting each other at the same moment
/// take turns, and the second sees that only one admin is left.
static LOCK_ADMINS: Sql = Sql::new("SELECT id FROM users WHERE role = 'admin' FOR UPDATE");

#[cfg(test)]
pub(super) static STATEMENTS: &[&Sql] = &[&LOCK_ADMINS];

impl PgStore {
    async fn user_with_hash(&self, sql: &'static Sql, key: &str) -> StoreResult<Option<UserWithHash>> {
        let row = sqlx::query(sql.postgres()).bind(key).fetch_optional(&self.pool).await?;
        row.map(|row| Ok(UserWithHash { user: user_from_row(&row)?, password_hash: row.try_get("password_hash")? }))
            .transpose()
    }
}

async fn user_exists(tx: &mut PgConnection, user_id: &UserId) -> sqlx::Result<bool> {
    sqlx::query_scalar(users::USER_EXISTS.postgres()).bind(user_id).fetch_one(&mut *tx).await
}

/// Queues `mail` to the user's current address, in the caller's transaction.
pub(super) async fn queue_mail(
    tx: &mut PgConnection,
    user_id: &UserId,
    mail: &MailDraft,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(mail::QUEUE_MAIL.postgres())
        .bind(&mail.id)
        .bind(&mail.subject)
        .bind(&mail.body)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Replaces a user's password hash, signs out every session of theirs, voids every pending
/// reset token and change of address, and clears the account's failed checks, as a password
/// change and a reset both must; inside the caller's transaction.
pub(super) async fn replace_password(
    tx: &mut PgConnection,
    user_id: &UserId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(users::SET_PASSWORD_HASH.postgres()).bind(password_hash).bind(user_id).execute(&mut *tx).await?;
    sqlx::query(users::VOID_RESET_TOKENS.postgres()).bind(now).bind(user_id).execute(&mut *tx).await?;
    sqlx::query(verification::VOID_EMAIL_CHANGES_OF.postgres()).bind(now).bind(user_id).execute(&mut *tx).await?;
    sqlx::query(sessions::REVOKE_SESSIONS_OF.postgres()).bind(now).bind(user_id).execute(&mut *tx).await?;
    sqlx::query(limits::FORGET_FAILURES.postgres()).bind(user_id).execute(&mut *tx).await?;
    Ok(())
}

#[async_trait]
impl UserStore for PgStore {
    async fn insert_user(&self, user: &NewUser<'_>) -> StoreResult<()> {
        let insert = sqlx::query(users::INSERT_USER.postgres())
            .bind(user.id)
            .bind(user.email.as_str())
            .bind(user.email.normalized())
            .bind(user.password_hash)
            .bind(user.role.as_str())
            .bind(user.created_at)
            .bind(user.email_verified);
        let Some(token) = user.verification else {
            insert.execute(&self.pool).await.map_err(unique_as(Conflict::EmailTaken))?;
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        insert.execute(&mut *tx).await.map_err(unique_as(Conflict::EmailTaken))?;
        store_email_token(&mut tx, token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str) -> StoreResult<bool> {
        let changed = sqlx::query(users::REHASH_PASSWORD.postgres())
            .bind(new)
            .bind(user_id)
            .bind(old)
            .execute(&self.pool)
            .await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn user_with_hash_by_email(&self, email: &Email) -> StoreResult<Option<UserWithHash>> {
        self.user_with_hash(&users::USER_WITH_HASH_BY_EMAIL, &email.normalized()).await
    }

    async fn user_with_hash_by_id(&self, user_id: &UserId) -> StoreResult<Option<UserWithHash>> {
        self.user_with_hash(&users::USER_WITH_HASH_BY_ID, user_id.as_str()).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(users::LIST_USERS.postgres()).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<Option<User>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(LOCK_ADMINS.postgres()).execute(&mut *tx).await?;
        let row =
            sqlx::query(users::SET_ROLE.postgres()).bind(role.as_str()).bind(user_id).fetch_optional(&mut *tx).await?;
        let user = match row {
            Some(row) => Some(user_from_row(&row)?),
            None if user_exists(&mut tx, user_id).await? => return Err(Conflict::LastAdmin.into()),
            None => None,
        };
        tx.commit().await?;
        Ok(user)
    }

    async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(LOCK_ADMINS.postgres()).execute(&mut *tx).await?;
        let done = sqlx::query(users::DELETE_USER.postgres()).bind(user_id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 && user_exists(&mut tx, user_id).await? {
            return Err(Conflict::LastAdmin.into());
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password(&self, change: &PasswordChange) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        replace_password(&mut tx, &change.user_id, &change.password_hash, change.at).await?;
        queue_mail(&mut tx, &change.user_id, &change.notice, change.at).await?;
        tx.commit().await?;
        Ok(())
    }
}
