-- Indexes that answer every listing filter from an index at a million movies.
-- Same tables as migrations/sqlite/0002; substring search uses pg_trgm instead of FTS5.

CREATE TABLE movie_genres (
    genre      TEXT NOT NULL,                    -- lower(entry)
    created_at TIMESTAMPTZ NOT NULL,             -- the movie's, for keyset order
    movie_id   TEXT COLLATE "C" NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    PRIMARY KEY (genre, created_at, movie_id)
);
CREATE INDEX movie_genres_by_movie ON movie_genres (movie_id);

CREATE TABLE movie_casts (
    cast_name  TEXT NOT NULL,                    -- lower(entry)
    created_at TIMESTAMPTZ NOT NULL,
    movie_id   TEXT COLLATE "C" NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    PRIMARY KEY (cast_name, created_at, movie_id)
);
CREATE INDEX movie_casts_by_movie ON movie_casts (movie_id);

-- Keeps the tag tables in step with movies; deletes go by the foreign keys' cascade.
CREATE FUNCTION movies_sync_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM movie_genres WHERE movie_id = OLD.id;
        DELETE FROM movie_casts WHERE movie_id = OLD.id;
    END IF;
    INSERT INTO movie_genres (genre, created_at, movie_id)
        SELECT DISTINCT lower(g), NEW.created_at, NEW.id FROM unnest(NEW.genres) AS g
        ON CONFLICT DO NOTHING;
    INSERT INTO movie_casts (cast_name, created_at, movie_id)
        SELECT DISTINCT lower(c), NEW.created_at, NEW.id FROM unnest(NEW.casts) AS c
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER movies_sync_tags AFTER INSERT OR UPDATE OF casts, genres ON movies
    FOR EACH ROW EXECUTE FUNCTION movies_sync_tags();

-- Substring search on names (`q`): trigram index on the lowercased name; LIKE uses it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX movies_name_trgm ON movies USING gin (lower(name) gin_trgm_ops);

-- Backfill what the catalogue already holds.
INSERT INTO movie_genres (genre, created_at, movie_id)
    SELECT DISTINCT lower(g), m.created_at, m.id FROM movies m, unnest(m.genres) AS g
    ON CONFLICT DO NOTHING;
INSERT INTO movie_casts (cast_name, created_at, movie_id)
    SELECT DISTINCT lower(c), m.created_at, m.id FROM movies m, unnest(m.casts) AS c
    ON CONFLICT DO NOTHING;
