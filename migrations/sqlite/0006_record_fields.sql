-- The record people keep (issue 23): year, runtime, directors, overview, poster and rating;
-- uniqueness by name and year; a sort index per listing order; kept counts for X-Total-Count
-- and the browsing entries (/api/genres, /api/casts, /api/directors).
--
-- `name UNIQUE` was part of the column's definition, which SQLite cannot drop, so the table is
-- rebuilt (the procedure of SQLite's "ALTER TABLE" page: new table, copy, drop, rename). `seq`
-- is copied, so the FTS index's rows still name the right movies. Dropping the old table
-- deletes its tag rows by the foreign keys' cascade and drops its triggers; both are rebuilt
-- below, the tag rows from the movies themselves (they are an index, not data).

CREATE TABLE movies_rebuilt (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    year         INTEGER,
    runtime      INTEGER,                        -- minutes
    casts        TEXT NOT NULL,                  -- JSON array of strings
    directors    TEXT NOT NULL DEFAULT '[]',     -- JSON array of strings, may be empty
    genres       TEXT NOT NULL,                  -- JSON array of strings
    overview     TEXT,
    poster       TEXT,                           -- JSON: {"width", "height", "sources"} or NULL
    rating_count INTEGER NOT NULL DEFAULT 0,     -- how many people rated it
    rating_sum   INTEGER NOT NULL DEFAULT 0,     -- their ratings in half stars (1 = 0.5 to 10 = 5.0), summed
    added_by     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- The sort keys, computed by the database so that no writer can let them drift. Virtual:
    -- stored only in their indexes.
    title_key    TEXT GENERATED ALWAYS AS (lower(name)) VIRTUAL,
    year_key     INTEGER GENERATED ALWAYS AS (coalesce(year, 0)) VIRTUAL,
    -- The average in tenths of a star, rounded half up; -1 unrated (sorts last).
    rating_key   INTEGER GENERATED ALWAYS AS (
        CASE WHEN rating_count = 0 THEN -1 ELSE (rating_sum * 10 + rating_count) / (2 * rating_count) END
    ) VIRTUAL
);
INSERT INTO movies_rebuilt (seq, id, name, casts, genres, added_by, created_at, updated_at)
    SELECT seq, id, name, casts, genres, added_by, created_at, updated_at FROM movies;
DROP TABLE movies;
ALTER TABLE movies_rebuilt RENAME TO movies;

-- A movie is unique by name and year; a missing year counts as one value.
CREATE UNIQUE INDEX movies_name_year ON movies (name, year_key);
-- One index per order of the listing, each ending in (created_at, id) for a stable keyset.
-- `newest` and `oldest` walk the same index in both directions.
CREATE INDEX movies_newest ON movies (created_at DESC, id DESC);
CREATE INDEX movies_by_owner ON movies (added_by, created_at DESC, id DESC);
CREATE INDEX movies_by_title ON movies (title_key, created_at, id);
CREATE INDEX movies_by_year ON movies (year_key DESC, created_at DESC, id DESC);
CREATE INDEX movies_by_rating ON movies (rating_key DESC, rating_count DESC, created_at DESC, id DESC);

CREATE TABLE movie_directors (
    director   TEXT NOT NULL,                    -- lower(entry)
    created_at INTEGER NOT NULL,
    movie_id   TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    PRIMARY KEY (director, created_at, movie_id)
) WITHOUT ROWID;
CREATE INDEX movie_directors_by_movie ON movie_directors (movie_id);

-- Kept counts. `movie_counts` holds the catalogue's total (scope '') and each owner's (scope =
-- the user id); `stripe` is always 0 here (PostgreSQL spreads the total over 16 stripes).
CREATE TABLE movie_counts (
    scope  TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    movies INTEGER NOT NULL,
    PRIMARY KEY (scope, stripe)
) WITHOUT ROWID;

-- Each distinct genre, cast or director entry (compared lowercased, as the filters do), with
-- the spelling it was first given and the number of movies that list it.
CREATE TABLE catalogue_entries (
    kind   TEXT NOT NULL CHECK (kind IN ('genre', 'cast', 'director')),
    entry  TEXT NOT NULL,                        -- lower(spelling)
    label  TEXT NOT NULL,
    movies INTEGER NOT NULL,
    PRIMARY KEY (kind, entry)
) WITHOUT ROWID;
CREATE INDEX catalogue_entries_most_used ON catalogue_entries (kind, movies DESC, entry);

-- Every word of every entry, for prefix-of-any-word search ("pac" finds "Al Pacino").
CREATE TABLE catalogue_entry_words (
    kind  TEXT NOT NULL,
    word  TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (kind, word, entry)
) WITHOUT ROWID;

CREATE TRIGGER catalogue_entries_words AFTER INSERT ON catalogue_entries BEGIN
    INSERT OR IGNORE INTO catalogue_entry_words (kind, word, entry)
        WITH RECURSIVE split (word, rest) AS (
            SELECT '', NEW.entry || ' '
            UNION ALL
            SELECT substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
            FROM split WHERE rest <> ''
        )
        SELECT NEW.kind, word, NEW.entry FROM split WHERE word <> '';
END;

CREATE TRIGGER catalogue_entries_gone AFTER DELETE ON catalogue_entries BEGIN
    DELETE FROM catalogue_entry_words WHERE kind = OLD.kind AND entry = OLD.entry;
END;

-- The tag rows, the counts and the name index, in step with every write to movies.
CREATE TRIGGER movies_index_insert AFTER INSERT ON movies BEGIN
    INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.genres);
    INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.casts);
    INSERT OR IGNORE INTO movie_directors (director, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.directors);
    INSERT INTO movie_names (rowid, name) VALUES (NEW.rowid, NEW.name);
    INSERT OR IGNORE INTO catalogue_entries (kind, entry, label, movies)
        SELECT 'genre', lower(value), value, 0 FROM json_each(NEW.genres)
        UNION ALL SELECT 'cast', lower(value), value, 0 FROM json_each(NEW.casts)
        UNION ALL SELECT 'director', lower(value), value, 0 FROM json_each(NEW.directors);
    UPDATE catalogue_entries SET movies = movies + 1
        WHERE (kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(NEW.genres)))
           OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(NEW.casts)))
           OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(NEW.directors)));
    INSERT INTO movie_counts (scope, stripe, movies) VALUES ('', 0, 1), (NEW.added_by, 0, 1)
        ON CONFLICT (scope, stripe) DO UPDATE SET movies = movies + 1;
END;

-- Only when an indexed column really changed: a change of year or a new poster leaves them be.
CREATE TRIGGER movies_index_update AFTER UPDATE OF name, casts, genres, directors ON movies
    WHEN OLD.name IS NOT NEW.name OR OLD.casts IS NOT NEW.casts OR OLD.genres IS NOT NEW.genres
      OR OLD.directors IS NOT NEW.directors
BEGIN
    DELETE FROM movie_genres WHERE movie_id = OLD.id;
    DELETE FROM movie_casts WHERE movie_id = OLD.id;
    DELETE FROM movie_directors WHERE movie_id = OLD.id;
    INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.genres);
    INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.casts);
    INSERT OR IGNORE INTO movie_directors (director, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.directors);
    INSERT INTO movie_names (movie_names, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
    INSERT INTO movie_names (rowid, name) VALUES (NEW.rowid, NEW.name);
    UPDATE catalogue_entries SET movies = movies - 1
        WHERE (kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(OLD.genres)))
           OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(OLD.casts)))
           OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(OLD.directors)));
    INSERT OR IGNORE INTO catalogue_entries (kind, entry, label, movies)
        SELECT 'genre', lower(value), value, 0 FROM json_each(NEW.genres)
        UNION ALL SELECT 'cast', lower(value), value, 0 FROM json_each(NEW.casts)
        UNION ALL SELECT 'director', lower(value), value, 0 FROM json_each(NEW.directors);
    UPDATE catalogue_entries SET movies = movies + 1
        WHERE (kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(NEW.genres)))
           OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(NEW.casts)))
           OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(NEW.directors)));
    DELETE FROM catalogue_entries WHERE movies <= 0
        AND ((kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(OLD.genres)))
          OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(OLD.casts)))
          OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(OLD.directors))));
END;

-- Tag rows go by the foreign keys' cascade; the name index and the counts need telling. A
-- cascade (deleting a user deletes their movies) fires this too.
CREATE TRIGGER movies_index_delete AFTER DELETE ON movies BEGIN
    INSERT INTO movie_names (movie_names, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
    UPDATE catalogue_entries SET movies = movies - 1
        WHERE (kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(OLD.genres)))
           OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(OLD.casts)))
           OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(OLD.directors)));
    DELETE FROM catalogue_entries WHERE movies <= 0
        AND ((kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(OLD.genres)))
          OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(OLD.casts)))
          OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(OLD.directors))));
    UPDATE movie_counts SET movies = movies - 1 WHERE scope IN ('', OLD.added_by);
END;

CREATE TRIGGER catalogue_version_on_insert AFTER INSERT ON movies BEGIN
    UPDATE catalogue_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER catalogue_version_on_update AFTER UPDATE ON movies BEGIN
    UPDATE catalogue_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER catalogue_version_on_delete AFTER DELETE ON movies BEGIN
    UPDATE catalogue_version SET version = version + 1 WHERE id = 1;
END;

-- Rebuild the indexes from what the catalogue holds.
INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
    SELECT lower(g.value), m.created_at, m.id FROM movies m, json_each(m.genres) g;
INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
    SELECT lower(c.value), m.created_at, m.id FROM movies m, json_each(m.casts) c;
INSERT INTO movie_names (movie_names) VALUES ('rebuild');
-- One pass per list; where movies spell an entry differently, the first spelling in code point
-- order is kept ("Drama" before "drama").
INSERT INTO catalogue_entries (kind, entry, label, movies)
    SELECT 'genre', lower(g.value), min(g.value), count(DISTINCT m.id) FROM movies m, json_each(m.genres) g
    GROUP BY lower(g.value);
INSERT INTO catalogue_entries (kind, entry, label, movies)
    SELECT 'cast', lower(c.value), min(c.value), count(DISTINCT m.id) FROM movies m, json_each(m.casts) c
    GROUP BY lower(c.value);
INSERT INTO movie_counts (scope, stripe, movies)
    SELECT '', 0, count(*) FROM movies
    UNION ALL SELECT added_by, 0, count(*) FROM movies GROUP BY added_by;
