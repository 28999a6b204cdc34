//! Posters: the owner of a movie (or an admin) uploads an image; it is checked and re-encoded
//! off the runtime ([`crate::posters`]), and its renditions replace the movie's old ones in the
//! same guarded write that sets `Movie.poster`. Who may, and what a refused write means, are
//! the catalogue's rules ([`super::movies`]), read the same way here.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::Actor;
use super::movies::{ExpectedVersions, MovieError, WriteKind, guard_for, parse_id, refusal_error};
use crate::domain::{Movie, MovieId, Poster, PosterSource, now};
use crate::posters::pipeline::{self, OutputType, Renditions, UploadType};
use crate::posters::pool::{PoolError, PosterPool};
use crate::store::{
    GuardedWrite, MovieGuard, MovieStore, PosterImage, PosterStore, PosterWrite, StoreError, StoredPosterImage,
};

/// Why a poster change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PosterChangeError {
    /// 404, 403, 412 as for any change of the movie, or the store's failure.
    #[error(transparent)]
    Movie(#[from] MovieError),
    /// 415: the declared type is none of JPEG, PNG and WebP.
    #[error("the body's type is not an accepted image type")]
    UnsupportedType,
    /// 400 (not decodable, or past 50 megapixels) or 500.
    #[error(transparent)]
    Image(#[from] pipeline::PosterError),
    /// 503: the poster queue is full; nothing was done.
    #[error("the poster queue is full")]
    Busy,
    /// 404: a removal, and the movie has no poster.
    #[error("the movie has no poster")]
    NoPoster,
}

impl From<StoreError> for PosterChangeError {
    fn from(error: StoreError) -> Self {
        Self::Movie(MovieError::Store(error))
    }
}

type PosterResult<T> = Result<T, PosterChangeError>;

/// Hex digits of an image key: 128 bits of SHA-256.
const KEY_HEX: usize = 32;

/// The path an image is served at.
pub fn image_url(key: &str, output: OutputType) -> String {
    format!("/api/posters/{key}.{}", output.extension())
}

/// The key of a rendition: a digest of the movie's id and the encoded bytes, so the URL changes
/// with the content and two movies with the same image still have URLs of their own (removing
/// one's poster cannot take the other's).
pub fn image_key(movie_id: &MovieId, bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(movie_id.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(bytes);
    let digest = hasher.finalize();
    let mut key = String::with_capacity(KEY_HEX);
    for byte in &digest[..KEY_HEX / 2] {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// The `Movie.poster` and the rows to store for `renditions` of a poster of `movie_id`.
pub fn poster_of(movie_id: &MovieId, renditions: Renditions) -> (Poster, Vec<PosterImage>) {
    let mut sources = Vec::with_capacity(renditions.renditions.len());
    let mut images = Vec::with_capacity(renditions.renditions.len());
    for rendition in renditions.renditions {
        let key = image_key(movie_id, &rendition.bytes);
        sources.push(PosterSource { width: rendition.width, url: image_url(&key, rendition.output) });
        images.push(PosterImage {
            key,
            width: rendition.width,
            height: rendition.height,
            content_type: rendition.output.media_type(),
            bytes: Bytes::from(rendition.bytes),
        });
    }
    (Poster { width: renditions.width, height: renditions.height, sources }, images)
}

/// The guard for a poster change by `actor`, checked against the movie as it stands before any
/// pixel is decoded: a refused upload costs one read, not a decode. The write checks it again.
async fn checked_guard(
    movies: &dyn MovieStore,
    actor: &Actor,
    movie_id: &MovieId,
    expected: &ExpectedVersions,
) -> PosterResult<MovieGuard> {
    let guard = guard_for(movies, actor, movie_id, expected, WriteKind::Update).await?;
    let current = movies.movie(movie_id).await?;
    let holds = current.as_ref().is_some_and(|movie| {
        guard.owner.as_ref().is_none_or(|owner| *owner == movie.added_by)
            && guard.unchanged_since.is_none_or(|version| version == movie.version())
    });
    if holds { Ok(guard) } else { Err(refusal_error(current.as_ref(), &guard, WriteKind::Update).into()) }
}

/// An upload: the body and the type its `Content-Type` declares.
pub struct Upload<'a> {
    pub content_type: Option<&'a str>,
    pub body: Bytes,
}

/// Sets the movie's poster from an upload: the movie as written.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, movie_id = %movie_id))]
pub async fn set(
    movies: &dyn MovieStore,
    posters: &dyn PosterStore,
    pool: &PosterPool,
    actor: &Actor,
    movie_id: &str,
    upload: Upload<'_>,
    expected: &ExpectedVersions,
) -> PosterResult<Movie> {
    let Upload { content_type, body } = upload;
    let declared = content_type.and_then(UploadType::from_content_type).ok_or(PosterChangeError::UnsupportedType)?;
    let movie_id = &parse_id(movie_id)?;
    let guard = checked_guard(movies, actor, movie_id, expected).await?;
    let renditions = pool.run(move || pipeline::render(&body, declared)).await.map_err(|error| match error {
        PoolError::Busy(_) => PosterChangeError::Busy,
        PoolError::Failed => {
            PosterChangeError::Image(pipeline::PosterError::Internal(anyhow::anyhow!("poster job failed")))
        }
    })??;
    let (poster, images) = poster_of(movie_id, renditions);
    let write =
        PosterWrite { poster_json: serde_json::to_string(&poster).map_err(StoreError::other)?, images, at: now() };
    match posters.set_poster(movie_id, &write, &guard).await? {
        GuardedWrite::Done(movie) => {
            tracing::info!(sources = poster.sources.len(), "poster set");
            Ok(movie)
        }
        GuardedWrite::Refused { current } => Err(refusal_error(current.as_deref(), &guard, WriteKind::Update).into()),
    }
}

/// Removes the movie's poster and its images: its URLs answer 404 from then on.
#[tracing::instrument(skip_all, fields(user_id = %actor.user.id, movie_id = %movie_id))]
pub async fn remove(
    movies: &dyn MovieStore,
    posters: &dyn PosterStore,
    actor: &Actor,
    movie_id: &str,
    expected: &ExpectedVersions,
) -> PosterResult<Movie> {
    let movie_id = &parse_id(movie_id)?;
    let guard = guard_for(movies, actor, movie_id, expected, WriteKind::Update).await?;
    match posters.remove_poster(movie_id, now(), &guard).await? {
        GuardedWrite::Done(movie) => {
            tracing::info!("poster removed");
            Ok(movie)
        }
        GuardedWrite::Refused { current } => match current {
            // Someone else's movie is a 403 whether or not it has a poster.
            Some(movie) if movie.poster.is_none() && guard.owner.as_ref().is_none_or(|o| *o == movie.added_by) => {
                Err(PosterChangeError::NoPoster)
            }
            current => Err(refusal_error(current.as_deref(), &guard, WriteKind::Update).into()),
        },
    }
}

/// An image by the name its URL ends with (`{key}.{jpg|webp}`); `None` for any name that is
/// not a current image's, without a query when it could never be one.
pub async fn image(posters: &dyn PosterStore, name: &str) -> Result<Option<(String, StoredPosterImage)>, StoreError> {
    let Some((key, extension)) = name.split_once('.') else { return Ok(None) };
    let Some(output) = OutputType::from_extension(extension) else { return Ok(None) };
    if key.len() != KEY_HEX || !key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Ok(None);
    }
    Ok(posters
        .poster_image(key)
        .await?
        .filter(|image| image.content_type == output.media_type())
        .map(|image| (key.to_owned(), image)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_changes_with_the_bytes_and_with_the_movie() {
        let heat = MovieId::generate();
        let dune = MovieId::generate();
        let key = image_key(&heat, b"one image");
        assert_eq!(key.len(), KEY_HEX);
        assert_eq!(key, image_key(&heat, b"one image"));
        assert_ne!(key, image_key(&heat, b"another image"));
        assert_ne!(key, image_key(&dune, b"one image"));
        assert_eq!(image_url(&key, OutputType::Jpeg), format!("/api/posters/{key}.jpg"));
    }
}
