-- The abuse limits' counters, in the database so that every process sharing it counts together
-- (N replicas used to allow N times each limit) and a restart forgets nothing. One row per key:
-- `addr:<client>` (requests in a one-minute window), `acct:<email>` (consecutive password
-- checks that did not succeed), `reset:<email>` (reset emails in an hour). Times are
-- milliseconds since the Unix epoch, the same on both backends.
CREATE TABLE auth_limits (
    key           TEXT PRIMARY KEY NOT NULL,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    known_clients TEXT NOT NULL DEFAULT '',    -- accounts: ',client,client,' that logged in
    allowed       BOOLEAN NOT NULL DEFAULT TRUE -- what the last reservation decided
);
-- Pruning walks the oldest rows first.
CREATE INDEX auth_limits_by_age ON auth_limits (last_at);

-- Pruning of ended sessions (their refresh tokens go with them) and spent reset tokens walks
-- these instead of the whole table.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX reset_tokens_by_expiry ON reset_tokens (expires_at);
