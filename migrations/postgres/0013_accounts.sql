-- Issue 25, part one: what a session's owner sees of it (where and how it signed in, when it
-- was last used), security events, personal access tokens. Same meaning as
-- migrations/sqlite/0011_accounts.sql.

ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_used_at TIMESTAMPTZ;
UPDATE sessions SET last_used_at = created_at;

CREATE TABLE security_events (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    occurrences BIGINT NOT NULL DEFAULT 1,
    fold_key    TEXT
);
CREATE INDEX security_events_newest ON security_events (user_id, at DESC, id DESC);
CREATE UNIQUE INDEX security_events_folded ON security_events (user_id, fold_key);
CREATE INDEX security_events_by_age ON security_events (at);

CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id, created_at);
