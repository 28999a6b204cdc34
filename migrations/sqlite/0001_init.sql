-- movie-bag schema, SQLite dialect. Times are INTEGER microseconds since the Unix epoch so that
-- comparisons and keyset pagination are plain integer comparisons. Ids are UUID strings.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,                 -- as the user typed it
    email_lower   TEXT NOT NULL UNIQUE,          -- uniqueness is case-insensitive
    password_hash TEXT NOT NULL,                 -- argon2id PHC string
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    INTEGER NOT NULL
);

-- A login creates a session; access tokens name it, so revoking the row logs the tokens out.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,                 -- when the refresh token chain ends
    revoked_at INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Every refresh token ever issued for a session, by SHA-256 hash; a rotated one presented
-- again reveals theft and revokes its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    rotated_at INTEGER
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Password reset tokens, by SHA-256 hash only; single use.
CREATE TABLE reset_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX reset_tokens_by_user ON reset_tokens (user_id);

-- `seq` is the stable integer row key (an INTEGER PRIMARY KEY survives VACUUM, an implicit
-- rowid does not); the FTS index of migration 0002 refers to rows by it.
CREATE TABLE movies (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL UNIQUE,
    casts      TEXT NOT NULL,                    -- JSON array of strings
    genres     TEXT NOT NULL,                    -- JSON array of strings
    added_by   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Newest-first listing and keyset pagination on (created_at, id).
CREATE INDEX movies_newest ON movies (created_at DESC, id DESC);
CREATE INDEX movies_by_owner ON movies (added_by, created_at DESC, id DESC);
