//! Posters the program draws itself, for `movie-bag seed`'s demo movies: a title card whose
//! colours and shapes follow from a hash of the title, so the same title always gets the same
//! card and nothing is downloaded. No text (that would need a font file). The card is drawn
//! at each rendition's width rather than drawn once and resized (drawing is cheaper than a
//! resize, which matters in the unoptimised builds the tests run), and encoded as an upload's
//! renditions are ([`super::pipeline::encode_opaque`]).

use image::{DynamicImage, RgbImage};

use super::pipeline::{PosterError, Renditions, encode_opaque, height_for, widths_for};
use sha2::{Digest, Sha256};

/// 2:3, the shape of a theatrical one-sheet; wide enough for the 160, 320 and 640 renditions.
pub const CARD_WIDTH: u32 = 720;
pub const CARD_HEIGHT: u32 = 1080;

/// The card for `title` at [`CARD_WIDTH`] x [`CARD_HEIGHT`].
pub fn draw(title: &str) -> DynamicImage {
    draw_at(title, CARD_WIDTH)
}

/// The card's renditions, as an upload of [`CARD_WIDTH`] x [`CARD_HEIGHT`] would have them.
pub fn renditions(title: &str) -> Result<Renditions, PosterError> {
    let renditions = widths_for(CARD_WIDTH)
        .into_iter()
        .map(|width| encode_opaque(&draw_at(title, width).into_rgb8()))
        .collect::<Result<_, _>>()?;
    Ok(Renditions { width: CARD_WIDTH, height: CARD_HEIGHT, renditions })
}

/// The card for `title`, `width` wide and 2:3. Drawn a row at a time, a shape as a span of each
/// row (no per-pixel geometry), so that a card costs milliseconds even in a debug build; the
/// shapes scale with the width, so each width shows the same card.
pub fn draw_at(title: &str, card_width: u32) -> DynamicImage {
    let card_height = height_for(CARD_WIDTH, CARD_HEIGHT, card_width);
    let scale = card_width as f32 / CARD_WIDTH as f32;
    let digest = Sha256::digest(title.as_bytes());
    let byte = |i: usize| f32::from(digest[i % digest.len()]);
    let colour = |at: usize| [byte(at), byte(at + 1), byte(at + 2)];
    let (top, bottom, accent) = (colour(0), colour(3), colour(6));
    let (width, height) = (card_width as f32, card_height as f32);
    // Three discs and a dark band, placed by the hash.
    let discs: Vec<(f32, f32, f32, f32)> = (0..3)
        .map(|n| {
            let at = 9 + n * 3;
            let (x, y) = (byte(at) / 255.0 * width, byte(at + 1) / 255.0 * height * 0.7);
            (x, y, (60.0 + byte(at + 2) / 255.0 * 180.0) * scale, 0.35 + 0.15 * n as f32)
        })
        .collect();
    let band_top = height * (0.72 + byte(18) / 255.0 * 0.08);
    let band_height = 90.0 * scale;
    let tilt = (byte(19) - 127.5) / 127.5 * 0.25;
    let row_len = card_width as usize * 3;
    let mut pixels = vec![0u8; row_len * card_height as usize];
    for (y, row) in pixels.chunks_exact_mut(row_len).enumerate() {
        let yf = y as f32;
        let t = yf / height;
        let base: [f32; 3] = std::array::from_fn(|c| top[c] * (1.0 - t) + bottom[c] * t);
        let mut line: Vec<[f32; 3]> = vec![base; card_width as usize];
        for &(cx, cy, r, strength) in &discs {
            let dy = yf - cy;
            if dy.abs() >= r {
                continue;
            }
            let half = (r * r - dy * dy).sqrt();
            for pixel in &mut line[span(cx - half, cx + half, width)] {
                for c in 0..3 {
                    pixel[c] = pixel[c] * (1.0 - strength) + accent[c] * strength;
                }
            }
        }
        // The band: band_top < y - (x - width / 2) * tilt < band_top + band_height.
        let (from, to) = if tilt.abs() < 1e-3 {
            if yf > band_top && yf < band_top + band_height { (0.0, width) } else { (0.0, 0.0) }
        } else {
            let a = (yf - band_top) / tilt + width / 2.0;
            let b = (yf - band_top - band_height) / tilt + width / 2.0;
            (a.min(b), a.max(b))
        };
        for pixel in &mut line[span(from, to, width)] {
            for value in pixel.iter_mut() {
                *value *= 0.25;
            }
        }
        for (out, pixel) in row.chunks_exact_mut(3).zip(&line) {
            for c in 0..3 {
                out[c] = pixel[c].clamp(0.0, 255.0) as u8;
            }
        }
    }
    DynamicImage::ImageRgb8(RgbImage::from_raw(card_width, card_height, pixels).expect("the buffer fits the card"))
}

/// The columns from `from` to `to`, clipped to a card `width` wide.
fn span(from: f32, to: f32, width: f32) -> std::ops::Range<usize> {
    let clip = |x: f32| x.clamp(0.0, width) as usize;
    clip(from)..clip(to).max(clip(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_always_gets_the_same_card_and_another_title_another() {
        let heat = draw("Heat").into_rgb8();
        assert_eq!(heat.dimensions(), (CARD_WIDTH, CARD_HEIGHT));
        assert_eq!(heat, draw("Heat").into_rgb8());
        assert_ne!(heat, draw("Dune").into_rgb8());
    }

    #[test]
    fn a_card_is_drawn_in_milliseconds() {
        let started = std::time::Instant::now();
        for n in 0..10 {
            draw(&format!("Movie {n}"));
        }
        // Even unoptimised: fifty cards must not slow `movie-bag seed` down.
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?} for ten", started.elapsed());
    }

    #[test]
    fn a_card_encodes_at_the_widths_its_size_allows() {
        let started = std::time::Instant::now();
        let renditions = renditions("Alien").unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
        let widths: Vec<_> = renditions.renditions.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(widths, vec![(160, 240), (320, 480), (640, 960)]);
    }
}
