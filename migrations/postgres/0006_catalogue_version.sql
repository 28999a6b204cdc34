-- A catalogue version for PostgreSQL too, so that listing pages can be cached per process and
-- validated per request as on SQLite. One counter row updated by every movie write would
-- serialise all catalogue writes behind its row lock; instead there are 16 counters, and each
-- write statement bumps the one its connection's backend process maps to. The version is their
-- sum: every committed movie write raises it, so an unchanged sum means an unchanged catalogue.
CREATE TABLE catalogue_version_stripes (
    stripe  INTEGER PRIMARY KEY CHECK (stripe BETWEEN 0 AND 15),
    version BIGINT NOT NULL
);
INSERT INTO catalogue_version_stripes (stripe, version) SELECT s, 0 FROM generate_series(0, 15) AS s;

CREATE FUNCTION bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalogue_version_stripes SET version = version + 1 WHERE stripe = pg_backend_pid() % 16;
    RETURN NULL;
END;
$$;

-- Statement-level: a batch of creates bumps once. Cascaded deletes (a user's movies) fire it too.
CREATE TRIGGER catalogue_version_bump AFTER INSERT OR UPDATE OR DELETE ON movies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_version();
