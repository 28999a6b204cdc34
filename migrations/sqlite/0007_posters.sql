-- A movie's poster images: every rendition of its current poster, re-encoded by the server
-- (src/posters). `key` is the digest that names the image in its URL (/api/posters/{key}.{ext}),
-- so a URL names one content for ever; a replaced or removed poster's rows are deleted with the
-- write that replaces or removes it, and a deleted movie's by the cascade, so its URLs 404.
-- The rows are in the database, not in files beside it: every process serving the database
-- serves them, and a backup (VACUUM INTO) holds them.
CREATE TABLE poster_images (
    key          TEXT PRIMARY KEY,
    movie_id     TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL
);
-- The cascade and the replace find a movie's rows by it.
CREATE INDEX poster_images_by_movie ON poster_images (movie_id);
