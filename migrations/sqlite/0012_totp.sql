-- Issue 25, part two: two-step sign-in with TOTP (RFC 6238) and recovery codes.
-- Numbered 0012: 0011 is the email-verification migration, made beside this one.

-- One row per account that enrolled. `secret_sealed` is the secret sealed with a key derived
-- from the signing key (base64 of nonce and ciphertext: src/auth/totp.rs), never the secret.
-- `enabled_at` is NULL while the enrolment waits for its first code (a new enrolment replaces
-- a pending one). `last_step` is the last time step whose code was accepted: a code is
-- accepted only for a later step, by a compare-and-set on this column, so a code works once
-- whichever process sees it.
CREATE TABLE totp_credentials (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    enabled_at    INTEGER,
    last_step     INTEGER
);

-- Single-use recovery codes, as SHA-256 hashes of their normalised text.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose password was right, waiting for its second step: the `mfa_token` by hash
-- only, the password hash it verified (a password changed meanwhile ends it), its wrong codes
-- (five end it) and its use (once).
CREATE TABLE mfa_challenges (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verified_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    used_at       INTEGER
);
-- Housekeeping deletes expired ones by this.
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_by_user ON mfa_challenges (user_id);
