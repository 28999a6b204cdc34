-- movie-bag schema, PostgreSQL dialect. Same tables and meaning as migrations/sqlite/0001.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,                 -- as the user typed it
    password_hash TEXT NOT NULL,                 -- argon2id PHC string
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    TIMESTAMPTZ NOT NULL
);
-- Uniqueness is case-insensitive; lookups use the same expression.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

-- A login creates a session; access tokens name it, so revoking the row logs the tokens out.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,             -- when the refresh token chain ends
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Every refresh token ever issued for a session, by SHA-256 hash; a rotated one presented
-- again reveals theft and revokes its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Password reset tokens, by SHA-256 hash only; single use.
CREATE TABLE reset_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX reset_tokens_by_user ON reset_tokens (user_id);

CREATE TABLE movies (
    id         TEXT COLLATE "C" PRIMARY KEY,     -- byte order, as SQLite: the keyset tie-breaker
    name       TEXT NOT NULL UNIQUE,
    casts      TEXT[] NOT NULL,
    genres     TEXT[] NOT NULL,
    added_by   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- Newest-first listing and keyset pagination on (created_at, id).
CREATE INDEX movies_newest ON movies (created_at DESC, id DESC);
CREATE INDEX movies_by_owner ON movies (added_by, created_at DESC, id DESC);
