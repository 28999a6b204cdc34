//! Two-step sign-in on SQLite. One writer: each compare-and-set below is decided by one
//! statement in the writer's transaction, which no other write interleaves with.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::security_events::insert_event;
use super::users::queue_mail;
use super::{SqliteStore, micros};
use crate::domain::{TokenHash, UserId};
use crate::store::sql::mfa;
use crate::store::{
    MfaChallenge, MfaRemoval, MfaState, MfaStore, NewMfaChallenge, NewSecurityEvent, NewTotpEnrolment, StoreResult,
    TotpActivation, TotpCredential,
};

#[async_trait]
impl MfaStore for SqliteStore {
    async fn totp_credential(&self, user_id: &UserId) -> StoreResult<Option<TotpCredential>> {
        let user_id = user_id.to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(mfa::TOTP_CREDENTIAL.sqlite())?
                    .query_row([&user_id], |row| {
                        Ok(TotpCredential { secret_sealed: row.get("secret_sealed")?, enabled: row.get("enabled")? })
                    })
                    .optional()
            })
            .await
    }

    async fn begin_totp_enrolment(&self, enrolment: &NewTotpEnrolment) -> StoreResult<bool> {
        let enrolment = enrolment.clone();
        self.engine
            .write(move |db| {
                let written = db.prepare_cached(mfa::BEGIN_ENROLMENT.sqlite())?.execute(params![
                    enrolment.user_id,
                    enrolment.secret_sealed,
                    micros(enrolment.at)
                ])?;
                Ok(written == 1)
            })
            .await
    }

    async fn enable_totp(&self, activation: &TotpActivation) -> StoreResult<bool> {
        let activation = activation.clone();
        self.engine
            .write(move |db| {
                let at = micros(activation.at);
                let enabled = db.prepare_cached(mfa::ENABLE_TOTP.sqlite())?.execute(params![
                    at,
                    activation.step,
                    activation.user_id,
                    activation.secret_sealed
                ])?;
                if enabled != 1 {
                    return Ok(false);
                }
                db.prepare_cached(mfa::DELETE_RECOVERY_CODES_OF.sqlite())?.execute([&activation.user_id])?;
                let mut insert = db.prepare_cached(mfa::INSERT_RECOVERY_CODE.sqlite())?;
                for hash in &activation.recovery_code_hashes {
                    insert.execute(params![activation.user_id, hash.as_str(), at])?;
                }
                insert_event(db, &activation.event)?;
                queue_mail(db, &activation.user_id, &activation.notice, at)?;
                Ok(true)
            })
            .await
    }

    async fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.engine
            .write(move |db| Ok(db.prepare_cached(mfa::ACCEPT_STEP.sqlite())?.execute(params![step, user_id])? == 1))
            .await
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &TokenHash,
        at: DateTime<Utc>,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool> {
        let (user_id, code_hash, event) = (user_id.to_owned(), code_hash.as_str().to_owned(), event.clone());
        self.engine
            .write(move |db| {
                let used = db.prepare_cached(mfa::USE_RECOVERY_CODE.sqlite())?.execute(params![
                    micros(at),
                    user_id,
                    code_hash
                ])?;
                if used == 1 {
                    insert_event(db, &event)?;
                }
                Ok(used == 1)
            })
            .await
    }

    async fn remove_totp(&self, removal: &MfaRemoval) -> StoreResult<bool> {
        let removal = removal.clone();
        self.engine
            .write(move |db| {
                let was_on: Option<bool> = db
                    .prepare_cached(mfa::DELETE_TOTP_OF.sqlite())?
                    .query_row([&removal.user_id], |row| row.get("enabled"))
                    .optional()?;
                db.prepare_cached(mfa::DELETE_RECOVERY_CODES_OF.sqlite())?.execute([&removal.user_id])?;
                db.prepare_cached(mfa::DELETE_CHALLENGES_OF.sqlite())?.execute([&removal.user_id])?;
                if was_on != Some(true) {
                    return Ok(false);
                }
                insert_event(db, &removal.event)?;
                queue_mail(db, &removal.user_id, &removal.notice, micros(removal.at))?;
                Ok(true)
            })
            .await
    }

    async fn mfa_state(&self, user_id: &UserId) -> StoreResult<MfaState> {
        let user_id = user_id.to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(mfa::MFA_STATE.sqlite())?.query_row([&user_id], |row| {
                    let left: i64 = row.get("codes_left")?;
                    Ok(MfaState { totp: row.get("totp")?, recovery_codes_left: u32::try_from(left).unwrap_or(0) })
                })
            })
            .await
    }

    async fn insert_mfa_challenge(&self, challenge: &NewMfaChallenge) -> StoreResult<()> {
        let challenge = challenge.clone();
        self.engine
            .write(move |db| {
                let now = micros(challenge.created_at);
                db.prepare_cached(mfa::DELETE_DEAD_CHALLENGES_OF.sqlite())?.execute(params![challenge.user_id, now])?;
                db.prepare_cached(mfa::INSERT_CHALLENGE.sqlite())?.execute(params![
                    challenge.token_hash.as_str(),
                    challenge.user_id,
                    challenge.verified_hash,
                    now,
                    micros(challenge.expires_at)
                ])?;
                Ok(())
            })
            .await
    }

    async fn mfa_challenge(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> StoreResult<Option<MfaChallenge>> {
        let token_hash = token_hash.as_str().to_owned();
        self.engine
            .read(move |db| {
                db.prepare_cached(mfa::LIVE_CHALLENGE.sqlite())?
                    .query_row(params![token_hash, micros(now), max_failures], |row| {
                        Ok(MfaChallenge {
                            user_id: row.get("user_id")?,
                            email: row.get("email")?,
                            verified_hash: row.get("verified_hash")?,
                        })
                    })
                    .optional()
            })
            .await
    }

    async fn count_mfa_failure(&self, token_hash: &TokenHash) -> StoreResult<()> {
        let token_hash = token_hash.as_str().to_owned();
        self.engine
            .write(move |db| {
                db.prepare_cached(mfa::COUNT_CHALLENGE_FAILURE.sqlite())?.execute([&token_hash])?;
                Ok(())
            })
            .await
    }

    async fn use_mfa_challenge(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.as_str().to_owned();
        self.engine
            .write(move |db| {
                let used = db.prepare_cached(mfa::USE_CHALLENGE.sqlite())?.execute(params![
                    micros(now),
                    token_hash,
                    max_failures
                ])?;
                Ok(used == 1)
            })
            .await
    }
}
