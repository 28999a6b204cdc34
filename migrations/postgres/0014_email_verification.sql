-- Issue 25, email verification: whether an account's address is proven to be its owner's, and
-- the single-use links that prove it. Same meaning as migrations/sqlite/0011_email_verification.sql.

-- Existing accounts count as verified (an upgrade locks nobody out); every insert names the
-- column itself. A constant default adds the column without rewriting the table.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE email_tokens (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose       TEXT NOT NULL CHECK (purpose IN ('verify', 'change')),
    address       TEXT NOT NULL,
    address_lower TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_by_expiry ON email_tokens (expires_at);
