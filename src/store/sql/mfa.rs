//! Two-step sign-in: TOTP enrolments, recovery codes, sign-ins waiting for their second step.

use crate::store::statement::Sql;

/// `$1` user.
pub static TOTP_CREDENTIAL: Sql =
    Sql::new("SELECT secret_sealed, enabled_at IS NOT NULL AS enabled FROM totp_credentials WHERE user_id = $1");

/// `$1` user, `$2` sealed secret, `$3` now: a pending enrolment, replacing a pending one and
/// never one that is on (then nothing is written).
pub static BEGIN_ENROLMENT: Sql = Sql::new(
    "INSERT INTO totp_credentials AS t (user_id, secret_sealed, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET
         secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, last_step = NULL
     WHERE t.enabled_at IS NULL",
);

/// `$1` now, `$2` first accepted step, `$3` user, `$4` the sealed secret the code was checked
/// against: only that pending enrolment.
pub static ENABLE_TOTP: Sql = Sql::new(
    "UPDATE totp_credentials SET enabled_at = $1, last_step = $2
     WHERE user_id = $3 AND secret_sealed = $4 AND enabled_at IS NULL",
);

/// `$1` step, `$2` user: the compare-and-set that makes a code work once.
pub static ACCEPT_STEP: Sql = Sql::new(
    "UPDATE totp_credentials SET last_step = $1
     WHERE user_id = $2 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)",
);

/// `$1` user: the enrolment, pending or on, and whether it was on.
pub static DELETE_TOTP_OF: Sql =
    Sql::new("DELETE FROM totp_credentials WHERE user_id = $1 RETURNING enabled_at IS NOT NULL AS enabled");

/// `$1` user.
pub static DELETE_RECOVERY_CODES_OF: Sql = Sql::new("DELETE FROM recovery_codes WHERE user_id = $1");

/// `$1` user, `$2` hash, `$3` now.
pub static INSERT_RECOVERY_CODE: Sql =
    Sql::new("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)");

/// `$1` now, `$2` user, `$3` hash: once.
pub static USE_RECOVERY_CODE: Sql =
    Sql::new("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL");

/// `$1` user.
pub static MFA_STATE: Sql = Sql::new(
    "SELECT EXISTS (SELECT 1 FROM totp_credentials WHERE user_id = $1 AND enabled_at IS NOT NULL) AS totp,
            (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS codes_left",
);

/// `$1` user, `$2` now: the user's sign-ins that can no longer be used.
pub static DELETE_DEAD_CHALLENGES_OF: Sql =
    Sql::new("DELETE FROM mfa_challenges WHERE user_id = $1 AND (expires_at <= $2 OR used_at IS NOT NULL)");

/// `$1` user: every sign-in of theirs waiting for a second step (two-step sign-in went off).
pub static DELETE_CHALLENGES_OF: Sql = Sql::new("DELETE FROM mfa_challenges WHERE user_id = $1");

/// `$1` hash, `$2` user, `$3` verified password hash, `$4` now, `$5` expiry.
pub static INSERT_CHALLENGE: Sql = Sql::new(
    "INSERT INTO mfa_challenges (token_hash, user_id, verified_hash, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)",
);

/// `$1` hash, `$2` now, `$3` most wrong codes: a live sign-in and its account's address.
pub static LIVE_CHALLENGE: Sql = Sql::new(
    "SELECT c.user_id, c.verified_hash, u.email
     FROM mfa_challenges c JOIN users u ON u.id = c.user_id
     WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2 AND c.failures < $3",
);

/// `$1` hash.
pub static COUNT_CHALLENGE_FAILURE: Sql =
    Sql::new("UPDATE mfa_challenges SET failures = failures + 1 WHERE token_hash = $1 AND used_at IS NULL");

/// `$1` now, `$2` hash, `$3` most wrong codes: once, while live.
pub static USE_CHALLENGE: Sql = Sql::new(
    "UPDATE mfa_challenges SET used_at = $1
     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 AND failures < $3",
);

#[cfg(test)]
pub static ALL: &[&Sql] = &[
    &TOTP_CREDENTIAL,
    &BEGIN_ENROLMENT,
    &ENABLE_TOTP,
    &ACCEPT_STEP,
    &DELETE_TOTP_OF,
    &DELETE_RECOVERY_CODES_OF,
    &INSERT_RECOVERY_CODE,
    &USE_RECOVERY_CODE,
    &MFA_STATE,
    &DELETE_DEAD_CHALLENGES_OF,
    &DELETE_CHALLENGES_OF,
    &INSERT_CHALLENGE,
    &LIVE_CHALLENGE,
    &COUNT_CHALLENGE_FAILURE,
    &USE_CHALLENGE,
];
