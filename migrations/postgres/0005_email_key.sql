-- Addresses are compared in the form the service folds them to (`Email::normalized`), kept in a
-- column as on SQLite. Until now PostgreSQL's lower() decided, and it folds some letters
-- differently from the service (and by collation): two databases, two rules. Existing rows
-- take lower(email), which agrees with the service's folding for every ASCII address.
ALTER TABLE users ADD COLUMN email_lower TEXT;
UPDATE users SET email_lower = lower(email);
ALTER TABLE users ALTER COLUMN email_lower SET NOT NULL;
CREATE UNIQUE INDEX users_email_key ON users (email_lower);
DROP INDEX users_email_lower;
