//! Accounts on SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::engine::unique_as;
use super::verification::store_email_token;
use super::{SqliteStore, micros, user_from_row};
use crate::domain::User;
use crate::domain::{Email, Role, UserId};
use crate::store::sql::{limits, mail, sessions, users, verification};
use crate::store::{Conflict, MailDraft, NewUser, PasswordChange, StoreResult, UserStore, UserWithHash};

impl SqliteStore {
    async fn user_with_hash(
        &self,
        sql: &'static crate::store::statement::Sql,
        key: String,
    ) -> StoreResult<Option<UserWithHash>> {
        self.engine
            .read(move |db| {
                db.prepare_cached(sql.sqlite())?
                    .query_row([&key], |row| {
                        Ok(UserWithHash { user: user_from_row(row)?, password_hash: row.get("password_hash")? })
                    })
                    .optional()
            })
            .await
    }
}

pub(super) fn user_exists(db: &Connection, user_id: &UserId) -> rusqlite::Result<bool> {
    db.prepare_cached(users::USER_EXISTS.sqlite())?.query_row([user_id], |row| row.get(0))
}

/// Queues `mail` to the user's current address, inside the writer's transaction.
pub(super) fn queue_mail(db: &Connection, user_id: &UserId, mail: &MailDraft, now: i64) -> rusqlite::Result<()> {
    db.prepare_cached(mail::QUEUE_MAIL.sqlite())?.execute(params![mail.id, mail.subject, mail.body, now, user_id])?;
    Ok(())
}

/// Replaces a user's password hash, signs out every session of theirs, voids every pending
/// reset token and change of address, and clears the account's failed checks, as a password
/// change and a reset both must; inside the writer's transaction.
pub(super) fn replace_password(
    db: &Connection,
    user_id: &UserId,
    password_hash: &str,
    now: i64,
) -> rusqlite::Result<()> {
    db.prepare_cached(users::SET_PASSWORD_HASH.sqlite())?.execute(params![password_hash, user_id])?;
    db.prepare_cached(sessions::REVOKE_SESSIONS_OF.sqlite())?.execute(params![now, user_id])?;
    db.prepare_cached(users::VOID_RESET_TOKENS.sqlite())?.execute(params![now, user_id])?;
    db.prepare_cached(verification::VOID_EMAIL_CHANGES_OF.sqlite())?.execute(params![now, user_id])?;
    db.prepare_cached(limits::FORGET_FAILURES.sqlite())?.execute([user_id])?;
    Ok(())
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &NewUser<'_>) -> StoreResult<()> {
        let (id, email, email_key) = (user.id.to_owned(), user.email.as_str().to_owned(), user.email.normalized());
        let (password_hash, role, created_at) = (user.password_hash.to_owned(), user.role, micros(user.created_at));
        let (email_verified, verification) = (user.email_verified, user.verification.cloned());
        self.engine
            .write(move |db| {
                db.prepare_cached(users::INSERT_USER.sqlite())?
                    .execute(params![id, email, email_key, password_hash, role.as_str(), created_at, email_verified])
                    .map_err(unique_as(Conflict::EmailTaken))?;
                if let Some(token) = &verification {
                    store_email_token(db, token)?;
                }
                Ok(())
            })
            .await
    }

    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str) -> StoreResult<bool> {
        let (user_id, old, new) = (user_id.to_owned(), old.to_owned(), new.to_owned());
        self.engine
            .write(move |db| {
                Ok(db.prepare_cached(users::REHASH_PASSWORD.sqlite())?.execute(params![new, user_id, old])? == 1)
            })
            .await
    }

    async fn user_with_hash_by_email(&self, email: &Email) -> StoreResult<Option<UserWithHash>> {
        self.user_with_hash(&users::USER_WITH_HASH_BY_EMAIL, email.normalized()).await
    }

    async fn user_with_hash_by_id(&self, user_id: &UserId) -> StoreResult<Option<UserWithHash>> {
        self.user_with_hash(&users::USER_WITH_HASH_BY_ID, user_id.to_string()).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.engine
            .scan(|db| db.prepare_cached(users::LIST_USERS.sqlite())?.query_map([], user_from_row)?.collect())
            .await
    }

    async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<Option<User>> {
        let user_id = user_id.to_owned();
        self.engine
            .write(move |db| {
                let user = db
                    .prepare_cached(users::SET_ROLE.sqlite())?
                    .query_row(params![role.as_str(), user_id], user_from_row)
                    .optional()?;
                match user {
                    None if user_exists(db, &user_id)? => Err(Conflict::LastAdmin.into()),
                    user => Ok(user),
                }
            })
            .await
    }

    async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.engine
            .write(move |db| {
                let deleted = db.prepare_cached(users::DELETE_USER.sqlite())?.execute([&user_id])? > 0;
                if !deleted && user_exists(db, &user_id)? {
                    return Err(Conflict::LastAdmin.into());
                }
                Ok(deleted)
            })
            .await
    }

    async fn set_password(&self, change: &PasswordChange) -> StoreResult<()> {
        let change = change.clone();
        self.engine
            .write(move |db| {
                replace_password(db, &change.user_id, &change.password_hash, micros(change.at))?;
                queue_mail(db, &change.user_id, &change.notice, micros(change.at))?;
                Ok(())
            })
            .await
    }
}
