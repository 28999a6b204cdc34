-- Outgoing email, durable: a row is written in the same transaction as what the email carries
-- (a reset token), and a sender delivers it with retries. Times are INTEGER microseconds.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,              -- emptied once sent: a reset token is not kept
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_until   INTEGER,                    -- a sender holds it until then (its lease)
    sent_at         INTEGER,
    failed_at       INTEGER,                    -- given up
    last_error      TEXT
);
-- The sender's question, "what is due?", reads only undelivered rows.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
