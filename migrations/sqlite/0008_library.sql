-- Each person's library (issue 24): a watchlist or watched entry per user and movie, with a
-- rating in half stars (1 = 0.5 to 10 = 5.0) and the date it was watched. Entries go with their
-- user and with their movie (the foreign keys' cascades). The movie's `rating_sum` and
-- `rating_count` follow every entry change in the write's own transaction, by the triggers
-- below: an API write, an import, an account deletion and a movie deletion alike. Their UPDATE
-- of `movies` fires the catalogue version triggers, so cached listing pages are never stale.

CREATE TABLE library_entries (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id    TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('watchlist', 'watched')),
    rating      INTEGER CHECK (rating BETWEEN 1 AND 10),
    watched_on  TEXT CHECK (watched_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- Sort keys: an entry without one sorts last in a latest-first or highest-first order.
    watched_key TEXT GENERATED ALWAYS AS (coalesce(watched_on, '')) VIRTUAL,
    rating_key  INTEGER GENERATED ALWAYS AS (coalesce(rating, 0)) VIRTUAL,
    PRIMARY KEY (user_id, movie_id),
    CHECK (status = 'watched' OR (rating IS NULL AND watched_on IS NULL))
) WITHOUT ROWID;
CREATE INDEX library_by_added ON library_entries (user_id, created_at DESC, movie_id DESC);
CREATE INDEX library_by_watched ON library_entries (user_id, watched_key DESC, created_at DESC, movie_id DESC);
CREATE INDEX library_by_rating ON library_entries (user_id, rating_key DESC, created_at DESC, movie_id DESC);
-- The movie's side of the cascade, and the entries of a movie for its deletion.
CREATE INDEX library_by_movie ON library_entries (movie_id);

CREATE TRIGGER library_rating_insert AFTER INSERT ON library_entries WHEN NEW.rating IS NOT NULL BEGIN
    UPDATE movies SET rating_sum = rating_sum + NEW.rating, rating_count = rating_count + 1
        WHERE id = NEW.movie_id;
END;

CREATE TRIGGER library_rating_update AFTER UPDATE OF rating ON library_entries
    WHEN OLD.rating IS NOT NEW.rating
BEGIN
    UPDATE movies SET rating_sum = rating_sum + coalesce(NEW.rating, 0) - coalesce(OLD.rating, 0),
                      rating_count = rating_count + (NEW.rating IS NOT NULL) - (OLD.rating IS NOT NULL)
        WHERE id = NEW.movie_id;
END;

-- A cascade (the user's or the movie's deletion) fires this too; a movie already gone matches
-- no row.
CREATE TRIGGER library_rating_delete AFTER DELETE ON library_entries WHEN OLD.rating IS NOT NULL BEGIN
    UPDATE movies SET rating_sum = rating_sum - OLD.rating, rating_count = rating_count - 1
        WHERE id = OLD.movie_id;
END;
