//! Two-step sign-in on PostgreSQL. Each compare-and-set is one `UPDATE` whose condition is
//! re-checked after waiting for a concurrent writer's row lock (READ COMMITTED), so of two
//! replicas presenting one code at once, one wins.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PgStore;
use super::security_events::insert_event;
use super::users::queue_mail;
use crate::domain::{TokenHash, UserId};
use crate::store::sql::mfa;
use crate::store::{
    MfaChallenge, MfaRemoval, MfaState, MfaStore, NewMfaChallenge, NewSecurityEvent, NewTotpEnrolment, StoreResult,
    TotpActivation, TotpCredential,
};

fn failures(max_failures: u32) -> i32 {
    i32::try_from(max_failures).unwrap_or(i32::MAX)
}

#[async_trait]
impl MfaStore for PgStore {
    async fn totp_credential(&self, user_id: &UserId) -> StoreResult<Option<TotpCredential>> {
        let row = sqlx::query(mfa::TOTP_CREDENTIAL.postgres()).bind(user_id).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(TotpCredential { secret_sealed: row.try_get("secret_sealed")?, enabled: row.try_get("enabled")? })
        })
        .transpose()
    }

    async fn begin_totp_enrolment(&self, enrolment: &NewTotpEnrolment) -> StoreResult<bool> {
        let written = sqlx::query(mfa::BEGIN_ENROLMENT.postgres())
            .bind(&enrolment.user_id)
            .bind(&enrolment.secret_sealed)
            .bind(enrolment.at)
            .execute(&self.pool)
            .await?;
        Ok(written.rows_affected() == 1)
    }

    async fn enable_totp(&self, activation: &TotpActivation) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let enabled = sqlx::query(mfa::ENABLE_TOTP.postgres())
            .bind(activation.at)
            .bind(activation.step)
            .bind(&activation.user_id)
            .bind(&activation.secret_sealed)
            .execute(&mut *tx)
            .await?;
        if enabled.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(mfa::DELETE_RECOVERY_CODES_OF.postgres()).bind(&activation.user_id).execute(&mut *tx).await?;
        for hash in &activation.recovery_code_hashes {
            sqlx::query(mfa::INSERT_RECOVERY_CODE.postgres())
                .bind(&activation.user_id)
                .bind(hash.as_str())
                .bind(activation.at)
                .execute(&mut *tx)
                .await?;
        }
        insert_event(&mut tx, &activation.event).await?;
        queue_mail(&mut tx, &activation.user_id, &activation.notice, activation.at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        let accepted = sqlx::query(mfa::ACCEPT_STEP.postgres()).bind(step).bind(user_id).execute(&self.pool).await?;
        Ok(accepted.rows_affected() == 1)
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &TokenHash,
        at: DateTime<Utc>,
        event: &NewSecurityEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query(mfa::USE_RECOVERY_CODE.postgres())
            .bind(at)
            .bind(user_id)
            .bind(code_hash.as_str())
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_totp(&self, removal: &MfaRemoval) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let was_on: Option<bool> =
            sqlx::query_scalar(mfa::DELETE_TOTP_OF.postgres()).bind(&removal.user_id).fetch_optional(&mut *tx).await?;
        sqlx::query(mfa::DELETE_RECOVERY_CODES_OF.postgres()).bind(&removal.user_id).execute(&mut *tx).await?;
        sqlx::query(mfa::DELETE_CHALLENGES_OF.postgres()).bind(&removal.user_id).execute(&mut *tx).await?;
        let on = was_on == Some(true);
        if on {
            insert_event(&mut tx, &removal.event).await?;
            queue_mail(&mut tx, &removal.user_id, &removal.notice, removal.at).await?;
        }
        tx.commit().await?;
        Ok(on)
    }

    async fn mfa_state(&self, user_id: &UserId) -> StoreResult<MfaState> {
        let row = sqlx::query(mfa::MFA_STATE.postgres()).bind(user_id).fetch_one(&self.pool).await?;
        let left: i64 = row.try_get("codes_left")?;
        Ok(MfaState { totp: row.try_get("totp")?, recovery_codes_left: u32::try_from(left).unwrap_or(0) })
    }

    async fn insert_mfa_challenge(&self, challenge: &NewMfaChallenge) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(mfa::DELETE_DEAD_CHALLENGES_OF.postgres())
            .bind(&challenge.user_id)
            .bind(challenge.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(mfa::INSERT_CHALLENGE.postgres())
            .bind(challenge.token_hash.as_str())
            .bind(&challenge.user_id)
            .bind(&challenge.verified_hash)
            .bind(challenge.created_at)
            .bind(challenge.expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mfa_challenge(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> StoreResult<Option<MfaChallenge>> {
        let row = sqlx::query(mfa::LIVE_CHALLENGE.postgres())
            .bind(token_hash.as_str())
            .bind(now)
            .bind(failures(max_failures))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(MfaChallenge {
                user_id: row.try_get("user_id")?,
                email: row.try_get("email")?,
                verified_hash: row.try_get("verified_hash")?,
            })
        })
        .transpose()
    }

    async fn count_mfa_failure(&self, token_hash: &TokenHash) -> StoreResult<()> {
        sqlx::query(mfa::COUNT_CHALLENGE_FAILURE.postgres()).bind(token_hash.as_str()).execute(&self.pool).await?;
        Ok(())
    }

    async fn use_mfa_challenge(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> StoreResult<bool> {
        let used = sqlx::query(mfa::USE_CHALLENGE.postgres())
            .bind(now)
            .bind(token_hash.as_str())
            .bind(failures(max_failures))
            .execute(&self.pool)
            .await?;
        Ok(used.rows_affected() == 1)
    }
}
