-- The record people keep (issue 23), as migrations/sqlite/0006: year, runtime, directors,
-- overview, poster and rating; uniqueness by name and year; a sort index per listing order;
-- kept counts for X-Total-Count and the browsing entries.

ALTER TABLE movies
    ADD COLUMN year         INTEGER,
    ADD COLUMN runtime      INTEGER,                      -- minutes
    ADD COLUMN directors    TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN overview     TEXT,
    ADD COLUMN poster       TEXT,                         -- JSON: {"width", "height", "sources"} or NULL
    ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN rating_sum   INTEGER NOT NULL DEFAULT 0,   -- half stars (1 = 0.5 to 10 = 5.0), summed
    -- The sort keys, computed by the database so that no writer can let them drift.
    ADD COLUMN title_key    TEXT GENERATED ALWAYS AS (lower(name)) STORED,
    ADD COLUMN year_key     INTEGER GENERATED ALWAYS AS (coalesce(year, 0)) STORED,
    -- The average in tenths of a star, rounded half up; -1 unrated (sorts last).
    ADD COLUMN rating_key   INTEGER GENERATED ALWAYS AS (
        CASE WHEN rating_count = 0 THEN -1 ELSE (rating_sum * 10 + rating_count) / (2 * rating_count) END
    ) STORED;

-- A movie is unique by name and year; a missing year counts as one value.
ALTER TABLE movies DROP CONSTRAINT movies_name_key;
CREATE UNIQUE INDEX movies_name_year ON movies (name, year_key);
-- One index per order of the listing, each ending in (created_at, id) for a stable keyset.
CREATE INDEX movies_by_title ON movies (title_key, created_at, id);
CREATE INDEX movies_by_year ON movies (year_key DESC, created_at DESC, id DESC);
CREATE INDEX movies_by_rating ON movies (rating_key DESC, rating_count DESC, created_at DESC, id DESC);

CREATE TABLE movie_directors (
    director   TEXT NOT NULL,                    -- lower(entry)
    created_at TIMESTAMPTZ NOT NULL,
    movie_id   TEXT COLLATE "C" NOT NULL,        -- removed by movies_delete_tags (see 0008)
    PRIMARY KEY (director, created_at, movie_id)
);
CREATE INDEX movie_directors_by_movie ON movie_directors (movie_id);

-- Kept counts: the catalogue's total (scope '', spread over 16 stripes like the catalogue
-- version, so concurrent writers do not queue on one row) and each owner's (scope = user id,
-- stripe 0). Read as the sum of a scope's rows.
CREATE TABLE movie_counts (
    scope  TEXT COLLATE "C" NOT NULL,
    stripe INTEGER NOT NULL,
    movies BIGINT NOT NULL,
    PRIMARY KEY (scope, stripe)
);

-- Each distinct genre, cast or director entry (lowercased, as the filters compare), with a
-- spelling of it and the number of movies that list it.
CREATE TABLE catalogue_entries (
    kind   TEXT COLLATE "C" NOT NULL CHECK (kind IN ('genre', 'cast', 'director')),
    entry  TEXT COLLATE "C" NOT NULL,               -- code point order, as SQLite: prefix ranges
    label  TEXT NOT NULL,
    movies BIGINT NOT NULL,
    PRIMARY KEY (kind, entry)
);
CREATE INDEX catalogue_entries_most_used ON catalogue_entries (kind, movies DESC, entry);
-- Entries no movie lists any more, found at once by the writes that leave them so.
CREATE INDEX catalogue_entries_unused ON catalogue_entries (kind, entry) WHERE movies <= 0;

-- Every word of every entry, for prefix-of-any-word search ("pac" finds "Al Pacino").
CREATE TABLE catalogue_entry_words (
    kind  TEXT COLLATE "C" NOT NULL,
    word  TEXT COLLATE "C" NOT NULL,
    entry TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, word, entry)
);

CREATE FUNCTION catalogue_entry_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO catalogue_entry_words (kind, word, entry)
            SELECT DISTINCT NEW.kind, w, NEW.entry FROM regexp_split_to_table(NEW.entry, ' ') AS w WHERE w <> ''
            ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM catalogue_entry_words WHERE kind = OLD.kind AND entry = OLD.entry;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER catalogue_entry_words_sync AFTER INSERT OR DELETE ON catalogue_entries
    FOR EACH ROW EXECUTE FUNCTION catalogue_entry_words_sync();

-- Lock order, so that concurrent writers cannot deadlock: every writer changes entries (in
-- (kind, entry) order, one statement), then movie_counts (in (scope, stripe) order), then the
-- catalogue version. Statement triggers fire in name order, so the count triggers are named to
-- come before `catalogue_version_bump`; the update trigger is a row trigger, which fires before
-- any statement trigger.

-- Inserts: the new movies' entries counted once per movie.
CREATE FUNCTION catalogue_counts_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalogue_entries (kind, entry, label, movies)
        SELECT kind, entry, min(label), count(DISTINCT id) FROM (
            SELECT 'genre' AS kind, lower(g) AS entry, g AS label, n.id FROM new_movies n, unnest(n.genres) AS g
            UNION ALL SELECT 'cast', lower(c), c, n.id FROM new_movies n, unnest(n.casts) AS c
            UNION ALL SELECT 'director', lower(d), d, n.id FROM new_movies n, unnest(n.directors) AS d
        ) listed
        GROUP BY kind, entry ORDER BY kind, entry
        ON CONFLICT (kind, entry) DO UPDATE SET movies = catalogue_entries.movies + EXCLUDED.movies;
    INSERT INTO movie_counts (scope, stripe, movies)
        SELECT scope, stripe, n FROM (
            SELECT '' AS scope, pg_backend_pid() % 16 AS stripe, count(*) AS n FROM new_movies
            UNION ALL SELECT added_by, 0, count(*) FROM new_movies GROUP BY added_by
        ) counted
        WHERE n > 0 ORDER BY scope, stripe
        ON CONFLICT (scope, stripe) DO UPDATE SET movies = movie_counts.movies + EXCLUDED.movies;
    RETURN NULL;
END
$$;
CREATE TRIGGER catalogue_counts_on_insert AFTER INSERT ON movies
    REFERENCING NEW TABLE AS new_movies
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_counts_on_insert();

-- Deletes (a cascade from a deleted user too).
CREATE FUNCTION catalogue_counts_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH gone AS (
        SELECT kind, entry, count(DISTINCT id) AS movies FROM (
            SELECT 'genre' AS kind, lower(g) AS entry, o.id FROM old_movies o, unnest(o.genres) AS g
            UNION ALL SELECT 'cast', lower(c), o.id FROM old_movies o, unnest(o.casts) AS c
            UNION ALL SELECT 'director', lower(d), o.id FROM old_movies o, unnest(o.directors) AS d
        ) listed
        GROUP BY kind, entry
    ), locked AS (
        SELECT e.kind, e.entry FROM catalogue_entries e JOIN gone USING (kind, entry)
        ORDER BY e.kind, e.entry FOR UPDATE OF e
    )
    UPDATE catalogue_entries e SET movies = e.movies - gone.movies
        FROM gone JOIN locked USING (kind, entry) WHERE e.kind = gone.kind AND e.entry = gone.entry;
    DELETE FROM catalogue_entries WHERE movies <= 0;
    WITH gone AS (
        SELECT '' AS scope, count(*) AS n FROM old_movies
        UNION ALL SELECT added_by, count(*) FROM old_movies GROUP BY added_by
    )
    INSERT INTO movie_counts (scope, stripe, movies)
        SELECT scope, CASE WHEN scope = '' THEN pg_backend_pid() % 16 ELSE 0 END, -n FROM gone
        WHERE n > 0 ORDER BY 1, 2
        ON CONFLICT (scope, stripe) DO UPDATE SET movies = movie_counts.movies + EXCLUDED.movies;
    RETURN NULL;
END
$$;
CREATE TRIGGER catalogue_counts_on_delete AFTER DELETE ON movies
    REFERENCING OLD TABLE AS old_movies
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_counts_on_delete();

-- Tag rows for directors too.
CREATE OR REPLACE FUNCTION movies_insert_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO movie_genres (genre, created_at, movie_id)
        SELECT DISTINCT lower(g), n.created_at, n.id FROM new_movies n, unnest(n.genres) AS g;
    INSERT INTO movie_casts (cast_name, created_at, movie_id)
        SELECT DISTINCT lower(c), n.created_at, n.id FROM new_movies n, unnest(n.casts) AS c;
    INSERT INTO movie_directors (director, created_at, movie_id)
        SELECT DISTINCT lower(d), n.created_at, n.id FROM new_movies n, unnest(n.directors) AS d;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION movies_delete_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM movie_genres WHERE movie_id IN (SELECT id FROM old_movies);
    DELETE FROM movie_casts WHERE movie_id IN (SELECT id FROM old_movies);
    DELETE FROM movie_directors WHERE movie_id IN (SELECT id FROM old_movies);
    RETURN NULL;
END
$$;

-- An update that changes a list: its tag rows again, and the entries' counts by the difference,
-- in one statement (in (kind, entry) order).
CREATE OR REPLACE FUNCTION movies_sync_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalogue_entries (kind, entry, label, movies)
        SELECT kind, entry, min(label), sum(change) FROM (
            SELECT 'genre' AS kind, lower(g) AS entry, min(g) AS label, 1 AS change FROM unnest(NEW.genres) AS g
                GROUP BY lower(g)
            UNION ALL SELECT 'cast', lower(c), min(c), 1 FROM unnest(NEW.casts) AS c GROUP BY lower(c)
            UNION ALL SELECT 'director', lower(d), min(d), 1 FROM unnest(NEW.directors) AS d GROUP BY lower(d)
            UNION ALL SELECT DISTINCT 'genre', lower(g), lower(g), -1 FROM unnest(OLD.genres) AS g
            UNION ALL SELECT DISTINCT 'cast', lower(c), lower(c), -1 FROM unnest(OLD.casts) AS c
            UNION ALL SELECT DISTINCT 'director', lower(d), lower(d), -1 FROM unnest(OLD.directors) AS d
        ) listed
        GROUP BY kind, entry HAVING sum(change) <> 0 ORDER BY kind, entry
        ON CONFLICT (kind, entry) DO UPDATE SET movies = catalogue_entries.movies + EXCLUDED.movies;
    DELETE FROM catalogue_entries WHERE movies <= 0;
    DELETE FROM movie_genres WHERE movie_id = OLD.id;
    DELETE FROM movie_casts WHERE movie_id = OLD.id;
    DELETE FROM movie_directors WHERE movie_id = OLD.id;
    INSERT INTO movie_genres (genre, created_at, movie_id)
        SELECT DISTINCT lower(g), NEW.created_at, NEW.id FROM unnest(NEW.genres) AS g;
    INSERT INTO movie_casts (cast_name, created_at, movie_id)
        SELECT DISTINCT lower(c), NEW.created_at, NEW.id FROM unnest(NEW.casts) AS c;
    INSERT INTO movie_directors (director, created_at, movie_id)
        SELECT DISTINCT lower(d), NEW.created_at, NEW.id FROM unnest(NEW.directors) AS d;
    RETURN NULL;
END
$$;

DROP TRIGGER movies_update_tags ON movies;
CREATE TRIGGER movies_update_tags AFTER UPDATE OF casts, genres, directors ON movies
    FOR EACH ROW
    WHEN (OLD.casts IS DISTINCT FROM NEW.casts OR OLD.genres IS DISTINCT FROM NEW.genres
          OR OLD.directors IS DISTINCT FROM NEW.directors)
    EXECUTE FUNCTION movies_sync_tags();

-- Count what the catalogue already holds.
INSERT INTO catalogue_entries (kind, entry, label, movies)
    SELECT 'genre', lower(g), min(g), count(DISTINCT m.id) FROM movies m, unnest(m.genres) AS g GROUP BY lower(g);
INSERT INTO catalogue_entries (kind, entry, label, movies)
    SELECT 'cast', lower(c), min(c), count(DISTINCT m.id) FROM movies m, unnest(m.casts) AS c GROUP BY lower(c);
INSERT INTO movie_counts (scope, stripe, movies)
    SELECT '', 0, count(*) FROM movies
    UNION ALL SELECT added_by, 0, count(*) FROM movies GROUP BY added_by;
