-- Issue 25, part two: two-step sign-in with TOTP (RFC 6238) and recovery codes. Same meaning
-- as migrations/sqlite/0012_totp.sql. Numbered 0015: 0014 is the email-verification migration.

CREATE TABLE totp_credentials (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    enabled_at    TIMESTAMPTZ,
    last_step     BIGINT
);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verified_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    used_at       TIMESTAMPTZ
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_by_user ON mfa_challenges (user_id);
