//! Posters: an uploaded image decoded, checked and re-encoded at the widths the contract names,
//! off the async runtime.
//!
//! - [`pipeline`]: bytes and a declared type in, renditions out ([`pipeline::render`]). The
//!   dimensions are read from the header and refused past [`pipeline::MAX_PIXELS`] before any
//!   pixel is decoded; the decoder's own limits are a second guard. Every rendition is encoded
//!   from decoded pixels, so nothing of the original file (EXIF, GPS, XMP, ICC, comments)
//!   survives.
//! - [`pool`]: the few threads that run the pipeline, behind a bounded queue; past it a job is
//!   refused at once ([`pool::PoolBusy`], a 503 with `Retry-After` at the edge).
//!
//! Crates, and why: `image` (image-rs, the ecosystem's maintained codec collection; its JPEG
//! decoder is zune-jpeg, its PNG decoder the `png` crate, its WebP decoder and encoder
//! `image-webp`, all safe Rust and fuzzed) with only those three codecs compiled in, no rayon;
//! `fast_image_resize` for the downscale: SIMD (SSE4.1/AVX2/NEON) separable convolution with
//! correct alpha handling, several times faster than `image`'s own `resize` on a 24-megapixel
//! source and without its `f32` intermediate image. No codec is written here.

pub mod pipeline;
pub mod pool;
pub mod title_card;

pub use pipeline::{OutputType, PosterError, Rendition, Renditions, UploadType, render};
pub use pool::{PoolBusy, PosterPool, UploadPermit};
