-- A movie's poster images: every rendition of its current poster, re-encoded by the server
-- (src/posters). `key` is the digest that names the image in its URL (/api/posters/{key}.{ext}),
-- so a URL names one content for ever; a replaced or removed poster's rows are deleted with the
-- write that replaces or removes it, and a deleted movie's by the cascade (also when the movie
-- goes with its owner), so its URLs 404. Unlike the tag tables (0008), the foreign key stays:
-- images are written one upload at a time, never in bulk, and the cascade is what keeps a
-- deleted movie's images from being served. In the database, so every replica serves them and
-- a dump holds them.
CREATE TABLE poster_images (
    key          TEXT PRIMARY KEY,
    movie_id     TEXT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL
);
CREATE INDEX poster_images_by_movie ON poster_images (movie_id);
-- JPEG and WebP do not compress: stored out of line without the attempt.
ALTER TABLE poster_images ALTER COLUMN bytes SET STORAGE EXTERNAL;
