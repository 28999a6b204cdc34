//! Posters the program draws itself, for `movie-bag seed`'s demo movies: a title card whose
//! colours and shapes follow from a hash of the title, so the same title always gets the same
//! card and nothing is downloaded. No text (that would need a font file); the card goes through
//! the same encoding as an upload ([`super::pipeline::render_pixels`]).

use image::{DynamicImage, Rgb, RgbImage};
use sha2::{Digest, Sha256};

/// 2:3, the shape of a theatrical one-sheet; wide enough for the 160, 320 and 640 renditions.
pub const CARD_WIDTH: u32 = 720;
pub const CARD_HEIGHT: u32 = 1080;

/// The card for `title`.
pub fn draw(title: &str) -> DynamicImage {
    let digest = Sha256::digest(title.as_bytes());
    let byte = |i: usize| f32::from(digest[i % digest.len()]);
    let colour = |at: usize| [byte(at), byte(at + 1), byte(at + 2)];
    let (top, bottom, accent) = (colour(0), colour(3), colour(6));
    // Three discs and a band, placed by the hash.
    let discs: Vec<(f32, f32, f32)> = (0..3)
        .map(|n| {
            let at = 9 + n * 3;
            let x = byte(at) / 255.0 * CARD_WIDTH as f32;
            let y = byte(at + 1) / 255.0 * CARD_HEIGHT as f32 * 0.7;
            let r = 60.0 + byte(at + 2) / 255.0 * 180.0;
            (x, y, r)
        })
        .collect();
    let band_top = CARD_HEIGHT as f32 * (0.72 + byte(18) / 255.0 * 0.08);
    let band_bottom = band_top + 90.0;
    let tilt = (byte(19) - 127.5) / 127.5 * 0.25;
    let image = RgbImage::from_fn(CARD_WIDTH, CARD_HEIGHT, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let t = yf / CARD_HEIGHT as f32;
        let mut pixel = [0.0f32; 3];
        for c in 0..3 {
            pixel[c] = top[c] * (1.0 - t) + bottom[c] * t;
        }
        for (n, &(cx, cy, r)) in discs.iter().enumerate() {
            let d2 = (xf - cx).powi(2) + (yf - cy).powi(2);
            if d2 < r * r {
                let strength = 0.35 + 0.15 * n as f32;
                for c in 0..3 {
                    pixel[c] = pixel[c] * (1.0 - strength) + accent[c] * strength;
                }
            }
        }
        let band_y = yf - (xf - CARD_WIDTH as f32 / 2.0) * tilt;
        if band_y > band_top && band_y < band_bottom {
            for value in &mut pixel {
                *value *= 0.25;
            }
        }
        Rgb(pixel.map(|v| v.clamp(0.0, 255.0) as u8))
    });
    DynamicImage::ImageRgb8(image)
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
    fn a_card_encodes_at_the_widths_its_size_allows() {
        let renditions = super::super::pipeline::render_pixels(draw("Alien")).unwrap();
        let widths: Vec<_> = renditions.renditions.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(widths, vec![(160, 240), (320, 480), (640, 960)]);
    }
}
