-- Each person's library (issue 24): a watchlist or watched entry per user and movie, with a
-- rating in half stars (1 = 0.5 to 10 = 5.0) and the date it was watched (text 'YYYY-MM-DD' in
-- the "C" collation, so that its order is the calendar's and both backends read it alike).
-- Entries go with their user and with their movie (foreign keys with cascades: entries are
-- written one at a time or by one import statement, not in the catalogue's batches).
--
-- The movie's `rating_sum` and `rating_count` follow every entry change in the write's own
-- transaction, by the statement triggers below (an import's thousands of rows are one UPDATE
-- per movie, not one per row). Each adds the statement's delta per movie in one row statement
-- (`rating_sum = rating_sum + delta`), which takes the movie's row lock: concurrent ratings of
-- one movie queue on it and none is lost. The movies are locked in id order first, so two
-- statements touching the same movies (two account deletions, two imports) cannot deadlock.
-- Their UPDATE of `movies` fires `catalogue_version_bump`, so cached listing pages are never
-- stale on any replica.

CREATE TABLE library_entries (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    movie_id    TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('watchlist', 'watched')),
    rating      INTEGER CHECK (rating BETWEEN 1 AND 10),
    watched_on  TEXT COLLATE "C" CHECK (watched_on ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    -- Sort keys: an entry without one sorts last in a latest-first or highest-first order.
    watched_key TEXT COLLATE "C" GENERATED ALWAYS AS (coalesce(watched_on, '')) STORED,
    rating_key  INTEGER GENERATED ALWAYS AS (coalesce(rating, 0)) STORED,
    PRIMARY KEY (user_id, movie_id),
    CHECK (status = 'watched' OR (rating IS NULL AND watched_on IS NULL))
);
CREATE INDEX library_by_added ON library_entries (user_id, created_at DESC, movie_id DESC);
CREATE INDEX library_by_watched ON library_entries (user_id, watched_key DESC, created_at DESC, movie_id DESC);
CREATE INDEX library_by_rating ON library_entries (user_id, rating_key DESC, created_at DESC, movie_id DESC);
CREATE INDEX library_by_movie ON library_entries (movie_id);

-- Adds each movie's delta of the rows in `changes` (movie_id, sum_delta, count_delta).
CREATE FUNCTION library_apply_rating_deltas(changes jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM movies
        WHERE id IN (SELECT c->>'movie_id' FROM jsonb_array_elements(changes) c)
        ORDER BY id FOR NO KEY UPDATE;
    UPDATE movies m SET rating_sum = m.rating_sum + d.sum_delta, rating_count = m.rating_count + d.count_delta
        FROM (SELECT c->>'movie_id' AS movie_id, sum((c->>'sum_delta')::integer) AS sum_delta,
                     sum((c->>'count_delta')::integer) AS count_delta
              FROM jsonb_array_elements(changes) c GROUP BY 1) d
        WHERE m.id = d.movie_id AND (d.sum_delta <> 0 OR d.count_delta <> 0);
END;
$$;

CREATE FUNCTION library_rating_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM library_apply_rating_deltas(coalesce((
        SELECT jsonb_agg(jsonb_build_object('movie_id', movie_id, 'sum_delta', rating, 'count_delta', 1))
        FROM new_entries WHERE rating IS NOT NULL), '[]'::jsonb));
    RETURN NULL;
END;
$$;

CREATE FUNCTION library_rating_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM library_apply_rating_deltas(coalesce((
        SELECT jsonb_agg(jsonb_build_object('movie_id', movie_id, 'sum_delta', -rating, 'count_delta', -1))
        FROM old_entries WHERE rating IS NOT NULL), '[]'::jsonb));
    RETURN NULL;
END;
$$;

CREATE FUNCTION library_rating_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM library_apply_rating_deltas(coalesce((
        SELECT jsonb_agg(jsonb_build_object(
            'movie_id', n.movie_id,
            'sum_delta', coalesce(n.rating, 0) - coalesce(o.rating, 0),
            'count_delta', (n.rating IS NOT NULL)::integer - (o.rating IS NOT NULL)::integer))
        FROM new_entries n JOIN old_entries o ON o.user_id = n.user_id AND o.movie_id = n.movie_id
        WHERE n.rating IS DISTINCT FROM o.rating), '[]'::jsonb));
    RETURN NULL;
END;
$$;

CREATE TRIGGER library_rating_on_insert AFTER INSERT ON library_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION library_rating_on_insert();
CREATE TRIGGER library_rating_on_delete AFTER DELETE ON library_entries
    REFERENCING OLD TABLE AS old_entries
    FOR EACH STATEMENT EXECUTE FUNCTION library_rating_on_delete();
CREATE TRIGGER library_rating_on_update AFTER UPDATE ON library_entries
    REFERENCING OLD TABLE AS old_entries NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION library_rating_on_update();
