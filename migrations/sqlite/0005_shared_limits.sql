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
    allowed       BOOLEAN NOT NULL DEFAULT TRUE, -- what the last reservation decided
    seen_at       INTEGER NOT NULL DEFAULT 0     -- the last request counted or refused: pruning's clock
);
-- Pruning walks each kind's oldest rows first: windows go after an hour, accounts after a month.
CREATE INDEX auth_limits_windows_by_age ON auth_limits (seen_at) WHERE key NOT LIKE 'acct:%';
CREATE INDEX auth_limits_accounts_by_age ON auth_limits (seen_at) WHERE key LIKE 'acct:%';

-- Pruning of ended sessions (their refresh tokens go with them) and spent reset tokens walks
-- these instead of the whole table.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX reset_tokens_by_expiry ON reset_tokens (expires_at);
