-- Issue 25, email verification: whether an account's address is proven to be its owner's, and
-- the single-use links that prove it (at signup, on request, and for a change of address).

-- Accounts that exist before this migration count as verified: an upgrade locks nobody out of
-- writing when REQUIRE_VERIFIED_EMAIL is on. Every insert names the column itself (signup:
-- false; `movie-bag import`: true), so this default only ever serves the existing rows.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT TRUE;

-- A link sent by email, by SHA-256 hash only (like reset tokens). `purpose` 'verify' proves the
-- account's current address (`address`, as it was when the link went out); 'change' makes
-- `address` the account's new, verified address when the link is used. A newer link of one
-- purpose supersedes the user's earlier ones (their rows are deleted); using one marks it used.
CREATE TABLE email_tokens (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose       TEXT NOT NULL CHECK (purpose IN ('verify', 'change')),
    address       TEXT NOT NULL,
    address_lower TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id, purpose);
-- Housekeeping deletes expired links by this one.
CREATE INDEX email_tokens_by_expiry ON email_tokens (expires_at);
