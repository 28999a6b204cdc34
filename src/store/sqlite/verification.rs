//! Email verification links on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::engine::unique_as;
use super::security_events::insert_event;
use super::users::queue_mail;
use super::{SqliteStore, corrupt, micros};
use crate::domain::{TokenHash, UserId};
use crate::store::sql::{mail, users, verification};
use crate::store::{
    Conflict, EmailPurpose, EmailTokenRecord, EmailTokenStore, EmailTokenUse, NewEmailToken, StoreResult,
};

/// Stores `token` and queues its emails and event, inside the writer's transaction: for
/// [`EmailTokenStore::replace_email_token`] and a signup's insert.
pub(super) fn store_email_token(db: &Connection, token: &NewEmailToken) -> StoreResult<()> {
    let (user_id, now) = (&token.user_id, micros(token.created_at));
    db.prepare_cached(verification::DELETE_EMAIL_TOKENS_OF.sqlite())?
        .execute(params![user_id, token.purpose.as_str()])?;
    db.prepare_cached(verification::INSERT_EMAIL_TOKEN.sqlite())?.execute(params![
        token.token_hash.as_str(),
        user_id,
        token.purpose.as_str(),
        token.address.as_str(),
        token.address.normalized(),
        now,
        micros(token.expires_at)
    ])?;
    db.prepare_cached(mail::QUEUE_MAIL_TO.sqlite())?.execute(params![
        token.mail.id,
        token.address.as_str(),
        token.mail.subject,
        token.mail.body,
        now
    ])?;
    if let Some(notice) = &token.notice {
        queue_mail(db, user_id, notice, now)?;
    }
    if let Some(event) = &token.event {
        insert_event(db, event)?;
    }
    Ok(())
}

fn purpose_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<EmailPurpose> {
    let stored: String = row.get("purpose")?;
    EmailPurpose::parse(&stored).ok_or_else(|| corrupt(row, "purpose", format!("purpose {stored:?}")))
}

#[async_trait]
impl EmailTokenStore for SqliteStore {
    async fn replace_email_token(&self, token: &NewEmailToken) -> StoreResult<()> {
        let token = token.clone();
        self.engine.write(move |db| store_email_token(db, &token)).await
    }

    async fn email_token(&self, token_hash: &TokenHash, now: DateTime<Utc>) -> StoreResult<Option<EmailTokenRecord>> {
        let (token_hash, now) = (token_hash.as_str().to_owned(), micros(now));
        self.engine
            .read(move |db| {
                db.prepare_cached(verification::LIVE_EMAIL_TOKEN.sqlite())?
                    .query_row(params![token_hash, now], |row| {
                        Ok(EmailTokenRecord { user_id: row.get("user_id")?, purpose: purpose_of(row)? })
                    })
                    .optional()
            })
            .await
    }

    async fn consume_email_token(&self, token: &EmailTokenUse) -> StoreResult<Option<UserId>> {
        let token = token.clone();
        self.engine
            .write(move |db| {
                let now = micros(token.at);
                let used = db
                    .prepare_cached(verification::CONSUME_EMAIL_TOKEN.sqlite())?
                    .query_row(params![now, token.token_hash.as_str()], |row| {
                        Ok((
                            row.get::<_, UserId>("user_id")?,
                            purpose_of(row)?,
                            row.get::<_, String>("address")?,
                            row.get::<_, String>("address_lower")?,
                        ))
                    })
                    .optional()?;
                let Some((user_id, purpose, address, address_lower)) = used else { return Ok(None) };
                match purpose {
                    EmailPurpose::Verify => {
                        let marked = db
                            .prepare_cached(verification::MARK_EMAIL_VERIFIED.sqlite())?
                            .execute(params![user_id, address_lower])?;
                        if marked == 0 {
                            return Ok(None);
                        }
                    }
                    EmailPurpose::Change => {
                        db.prepare_cached(verification::CHANGE_EMAIL.sqlite())?
                            .execute(params![address, address_lower, user_id])
                            .map_err(unique_as(Conflict::EmailTaken))?;
                        db.prepare_cached(verification::VOID_EMAIL_TOKENS_OF.sqlite())?
                            .execute(params![now, user_id])?;
                        db.prepare_cached(users::VOID_RESET_TOKENS.sqlite())?.execute(params![now, user_id])?;
                    }
                }
                insert_event(db, &token.event)?;
                Ok(Some(user_id))
            })
            .await
    }

    async fn prune_email_tokens(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        let before = micros(before);
        self.engine
            .write(move |db| {
                Ok(db.prepare_cached(verification::PRUNE_EMAIL_TOKENS.sqlite())?.execute(params![before, batch])?
                    as u64)
            })
            .await
    }
}
