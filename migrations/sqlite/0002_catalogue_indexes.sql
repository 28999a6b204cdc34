-- Indexes that answer every listing filter with one ordered index range scan at a million movies.
--
-- movie_genres / movie_casts hold one row per distinct lowercased entry, carrying the movie's
-- sort key (created_at, id), so "genre = x, newest first, after cursor" walks one index.
-- movie_names is an FTS5 trigram index over the names: substring search (`q`) of three or more
-- characters. Triggers keep all three in step with movies, so the application writes movies only.
-- Note: SQLite's lower() folds ASCII letters only.

CREATE TABLE movie_genres (
    genre      TEXT NOT NULL,                    -- lower(entry)
    created_at INTEGER NOT NULL,                 -- the movie's, for keyset order
    movie_id   TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    PRIMARY KEY (genre, created_at, movie_id)
) WITHOUT ROWID;
CREATE INDEX movie_genres_by_movie ON movie_genres (movie_id);

CREATE TABLE movie_casts (
    cast_name  TEXT NOT NULL,                    -- lower(entry)
    created_at INTEGER NOT NULL,
    movie_id   TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    PRIMARY KEY (cast_name, created_at, movie_id)
) WITHOUT ROWID;
CREATE INDEX movie_casts_by_movie ON movie_casts (movie_id);

CREATE VIRTUAL TABLE movie_names USING fts5 (
    name, content = 'movies', content_rowid = 'seq', tokenize = 'trigram'
);

CREATE TRIGGER movies_index_insert AFTER INSERT ON movies BEGIN
    INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.genres);
    INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.casts);
    INSERT INTO movie_names (rowid, name) VALUES (NEW.rowid, NEW.name);
END;

CREATE TRIGGER movies_index_update AFTER UPDATE OF name, casts, genres ON movies BEGIN
    DELETE FROM movie_genres WHERE movie_id = OLD.id;
    DELETE FROM movie_casts WHERE movie_id = OLD.id;
    INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.genres);
    INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
        SELECT lower(value), NEW.created_at, NEW.id FROM json_each(NEW.casts);
    INSERT INTO movie_names (movie_names, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
    INSERT INTO movie_names (rowid, name) VALUES (NEW.rowid, NEW.name);
END;

-- Tag rows go by the foreign key's cascade; the FTS index needs telling.
CREATE TRIGGER movies_index_delete AFTER DELETE ON movies BEGIN
    INSERT INTO movie_names (movie_names, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
END;

-- Backfill what the catalogue already holds.
INSERT OR IGNORE INTO movie_genres (genre, created_at, movie_id)
    SELECT lower(g.value), m.created_at, m.id FROM movies m, json_each(m.genres) g;
INSERT OR IGNORE INTO movie_casts (cast_name, created_at, movie_id)
    SELECT lower(c.value), m.created_at, m.id FROM movies m, json_each(m.casts) c;
INSERT INTO movie_names (movie_names) VALUES ('rebuild');
