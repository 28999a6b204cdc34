-- A counter bumped by every change to the catalogue, in the same transaction as the change.
-- Listing pages are cached per process and served only while the counter has not moved, so a
-- change made by any process sharing this file invalidates every process's cache at once.
-- (SQLite serialises writers anyway, so the extra row update costs no concurrency.)

CREATE TABLE catalogue_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO catalogue_version (id, version) VALUES (1, 0);

CREATE TRIGGER catalogue_version_on_insert AFTER INSERT ON movies BEGIN
    UPDATE catalogue_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER catalogue_version_on_update AFTER UPDATE ON movies BEGIN
    UPDATE catalogue_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER catalogue_version_on_delete AFTER DELETE ON movies BEGIN
    UPDATE catalogue_version SET version = version + 1 WHERE id = 1;
END;
