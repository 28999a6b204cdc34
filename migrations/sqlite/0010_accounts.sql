-- Issue 25, part one: what a session's owner sees of it (where and how it signed in, when it
-- was last used), security events, personal access tokens.

-- The sign-in's address and user agent, as the server saw them (the agent cut to 256
-- characters); `last_used_at` moves at every refresh. Sessions created before this migration
-- have neither, and were last seen when created.
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
UPDATE sessions SET last_used_at = created_at;

-- What happened to an account, for its owner and the admins, newest first by (at, id). A
-- `fold_key` names a bucket that repeats of one event share (a flood of failed logins: see
-- `service/security_events.rs`); a repeat adds to `occurrences` of the bucket's row instead of
-- adding a row. Events without one have NULL, which a unique index lets repeat.
CREATE TABLE security_events (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    occurrences INTEGER NOT NULL DEFAULT 1,
    fold_key    TEXT
);
CREATE INDEX security_events_newest ON security_events (user_id, at DESC, id DESC);
CREATE UNIQUE INDEX security_events_folded ON security_events (user_id, fold_key);
-- Retention walks this one.
CREATE INDEX security_events_by_age ON security_events (at);

-- Personal access tokens (`mbp_...`), by SHA-256 hash only. `scopes` are names separated by
-- spaces. A revoked token's row is deleted; so are an account's rows with it (cascade) and at a
-- password reset. `last_used_at` is kept to the minute: the check of a token writes only when
-- the stored value is a minute old.
CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id, created_at);
