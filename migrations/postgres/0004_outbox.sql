-- Outgoing email, durable: a row is written in the same transaction as what the email carries
-- (a reset token), and a sender delivers it with retries. Senders of several replicas claim
-- rows with FOR UPDATE SKIP LOCKED and a lease, so no email is sent twice.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,              -- emptied once sent: a reset token is not kept
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_until   TIMESTAMPTZ,                -- a sender holds it until then (its lease)
    sent_at         TIMESTAMPTZ,
    failed_at       TIMESTAMPTZ,                -- given up
    last_error      TEXT
);
-- The sender's question, "what is due?", reads only undelivered rows.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
