-- The kept entry counts in one statement per write instead of two (the profile of creates,
-- issue 23): an entry a movie lists is inserted with a count of 1, or its count goes up by one,
-- in one upsert. It replaces an INSERT OR IGNORE followed by an UPDATE, each reading the
-- movie's three lists again. Within one movie an entry counts once however often (and in
-- whatever case) the list repeats it, as the tag rows do; a new entry keeps the spelling that
-- sorts first in code point order, as the rebuild in 0006 does.

DROP TRIGGER movies_index_insert;
CREATE TRIGGER movies_index_insert AFTER INSERT ON movies BEGIN
    INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.genres);
    INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.casts);
    INSERT OR IGNORE INTO movie_directors (director, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.directors);
    INSERT INTO movie_names (rowid, name) VALUES (NEW.rowid, NEW.name);
    INSERT INTO catalogue_entries (kind, entry, label, movies)
        SELECT kind, entry, min(label), 1 FROM (
            SELECT 'genre' AS kind, lower(value) AS entry, value AS label FROM json_each(NEW.genres)
            UNION ALL SELECT 'cast', lower(value), value FROM json_each(NEW.casts)
            UNION ALL SELECT 'director', lower(value), value FROM json_each(NEW.directors)
        ) GROUP BY kind, entry
        ON CONFLICT (kind, entry) DO UPDATE SET movies = movies + 1;
    INSERT INTO movie_counts (scope, stripe, movies) VALUES ('', 0, 1), (NEW.added_by, 0, 1)
        ON CONFLICT (scope, stripe) DO UPDATE SET movies = movies + 1;
END;

-- Only when an indexed column really changed: a change of year or a new poster leaves them be.
DROP TRIGGER movies_index_update;
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
    INSERT INTO catalogue_entries (kind, entry, label, movies)
        SELECT kind, entry, min(label), 1 FROM (
            SELECT 'genre' AS kind, lower(value) AS entry, value AS label FROM json_each(NEW.genres)
            UNION ALL SELECT 'cast', lower(value), value FROM json_each(NEW.casts)
            UNION ALL SELECT 'director', lower(value), value FROM json_each(NEW.directors)
        ) GROUP BY kind, entry
        ON CONFLICT (kind, entry) DO UPDATE SET movies = movies + 1;
    DELETE FROM catalogue_entries WHERE movies <= 0
        AND ((kind = 'genre' AND entry IN (SELECT lower(value) FROM json_each(OLD.genres)))
          OR (kind = 'cast' AND entry IN (SELECT lower(value) FROM json_each(OLD.casts)))
          OR (kind = 'director' AND entry IN (SELECT lower(value) FROM json_each(OLD.directors))));
END;
