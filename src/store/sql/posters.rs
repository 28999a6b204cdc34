//! Posters: the images of a movie's current poster (`poster_images`). The guarded write on
//! `movies` that goes with each change differs between the dialects and sits in each backend's
//! `posters.rs`.

use crate::store::statement::Sql;

/// One image by the key its URL names: the one lookup `GET /api/posters/{key}.{ext}` makes.
pub static POSTER_IMAGE: Sql = Sql::new("SELECT content_type, bytes FROM poster_images WHERE key = $1");

/// Every image of a movie's poster, before the new ones go in (or with the poster's removal).
pub static DELETE_POSTER_IMAGES: Sql = Sql::new("DELETE FROM poster_images WHERE movie_id = $1");

pub static INSERT_POSTER_IMAGE: Sql = Sql::new(
    "INSERT INTO poster_images (key, movie_id, width, height, content_type, bytes) VALUES ($1, $2, $3, $4, $5, $6)",
);

#[cfg(test)]
pub static ALL: &[&Sql] = &[&POSTER_IMAGE, &DELETE_POSTER_IMAGES, &INSERT_POSTER_IMAGE];
