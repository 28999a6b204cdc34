-- Kept in step with migrations/sqlite/0003, which adds a catalogue version counter for the
-- listing cache. PostgreSQL does not use that cache: one counter row updated by every movie
-- write would serialise all catalogue writes behind its row lock, and PostgreSQL is the backend
-- chosen for concurrent writers. Nothing to change here.
SELECT 1;
