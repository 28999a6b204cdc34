//! One upload in, its renditions out: header check, decode, orientation, resize, re-encode.
//!
//! Output format: JPEG (quality [`JPEG_QUALITY`], baseline, JFIF) for every image without
//! transparency, which is nearly every poster: lossy, a tenth of a lossless file's size and read
//! by every client. An image that really is transparent somewhere (an alpha channel whose
//! pixels are not all opaque) becomes a lossless WebP instead: JPEG has no alpha, and flattening
//! onto a colour we would have to invent changes the artwork. (`image`'s WebP encoder writes
//! lossless VP8L only, which is why opaque images do not use it.) An alpha channel that is
//! opaque everywhere is dropped and the image goes the JPEG way.
//!
//! Metadata: every rendition is encoded from decoded pixels by an encoder given only pixels, so
//! no EXIF (with GPS), XMP, IPTC, ICC profile or comment of the upload is carried over. The one
//! thing taken from EXIF before it is dropped is the orientation, applied to the pixels, so a
//! phone's portrait photo stays upright. ICC profiles are not converted: pixels are taken as
//! sRGB, which is what posters for the web are in practice.

use std::io::Cursor;

use fast_image_resize as fir;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};

/// The widths the contract names, narrowest first.
pub const WIDTHS: [u32; 4] = [160, 320, 640, 1280];

/// Uploads past 50 megapixels are refused from their header.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The decoder's own limits, a second guard behind the header check: no side past this, and no
/// decoder allocation past four bytes for each of [`MAX_PIXELS`] pixels plus 16 MiB of working
/// memory.
pub const MAX_SIDE: u32 = 30_000;
const MAX_DECODER_ALLOC: u64 = MAX_PIXELS * 4 + 16 * 1024 * 1024;

pub const JPEG_QUALITY: u8 = 82;

/// The types an upload may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadType {
    Jpeg,
    Png,
    Webp,
}

impl UploadType {
    /// The type named by a `Content-Type` value (its parameters ignored), if it is one of ours.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("image/jpeg") {
            Some(Self::Jpeg)
        } else if essence.eq_ignore_ascii_case("image/png") {
            Some(Self::Png)
        } else if essence.eq_ignore_ascii_case("image/webp") {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
        }
    }
}

/// What a rendition is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    Jpeg,
    Webp,
}

impl OutputType {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    /// The file extension its URL ends with.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
        }
    }

    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "jpg" => Some(Self::Jpeg),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }
}

/// One encoded width.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub output: OutputType,
    pub bytes: Vec<u8>,
}

/// Every rendition of one upload, narrowest first, and the upload's own size (after its
/// orientation is applied).
#[derive(Debug, Clone)]
pub struct Renditions {
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<Rendition>,
}

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// 400: the bytes are not an image of the declared type (or are a damaged one).
    #[error("The body is not a decodable {0} image")]
    NotDecodable(&'static str),
    /// 400: the header claims more than [`MAX_PIXELS`]; nothing was decoded.
    #[error("The image is {width} x {height} pixels: at most 50 megapixels are accepted")]
    TooLarge { width: u32, height: u32 },
    /// 500: encoding or resizing failed on pixels that did decode.
    #[error("The image could not be processed")]
    Internal(#[source] anyhow::Error),
}

/// The widths to encode an upload `source_width` pixels wide at: those of [`WIDTHS`] not wider
/// than it, or its own width alone when it is narrower than all of them.
pub fn widths_for(source_width: u32) -> Vec<u32> {
    let widths: Vec<u32> = WIDTHS.iter().copied().filter(|&w| w <= source_width).collect();
    if widths.is_empty() { vec![source_width] } else { widths }
}

/// The height at `width` of an image `source_width` x `source_height`, rounded, at least 1.
pub fn height_for(source_width: u32, source_height: u32, width: u32) -> u32 {
    let scaled = (u64::from(source_height) * u64::from(width) + u64::from(source_width) / 2) / u64::from(source_width);
    u32::try_from(scaled.max(1)).unwrap_or(u32::MAX)
}

/// The upload's size from its header alone, refused past [`MAX_PIXELS`]: no pixel is decoded.
pub fn checked_dimensions(bytes: &[u8], declared: UploadType) -> Result<(u32, u32), PosterError> {
    let decoder = open_decoder(bytes, declared)?;
    Ok(decoder.dimensions())
}

fn decoder_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODER_ALLOC);
    limits
}

/// A decoder that has read the header (and nothing past what the header needs), with the
/// pixel budget checked.
fn open_decoder(bytes: &[u8], declared: UploadType) -> Result<impl ImageDecoder + '_, PosterError> {
    let not_decodable = || PosterError::NotDecodable(declared.media_type());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), declared.format());
    reader.limits(decoder_limits());
    let decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        // The decoder refused the header's size against the limits: report the size when the
        // header can still be read without them.
        Err(image::ImageError::Limits(_)) => return Err(too_large_from_header(bytes, declared)),
        Err(_) => return Err(not_decodable()),
    };
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(not_decodable());
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PosterError::TooLarge { width, height });
    }
    Ok(decoder)
}

fn too_large_from_header(bytes: &[u8], declared: UploadType) -> PosterError {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), declared.format());
    reader.no_limits();
    match reader.into_decoder() {
        // Only the header was read: `into_decoder` decodes no pixels.
        Ok(decoder) => {
            let (width, height) = decoder.dimensions();
            PosterError::TooLarge { width, height }
        }
        Err(_) => PosterError::TooLarge { width: 0, height: 0 },
    }
}

/// Decodes `bytes` as `declared`, applies its orientation and encodes it at [`widths_for`] its
/// width. Blocking and CPU-bound: run it on the [`super::PosterPool`].
pub fn render(bytes: &[u8], declared: UploadType) -> Result<Renditions, PosterError> {
    let not_decodable = || PosterError::NotDecodable(declared.media_type());
    let mut decoder = open_decoder(bytes, declared)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| not_decodable())?;
    image.apply_orientation(orientation);
    render_pixels(image)
}

/// Encodes decoded pixels at [`widths_for`] their width.
pub fn render_pixels(image: DynamicImage) -> Result<Renditions, PosterError> {
    let (width, height) = (image.width(), image.height());
    let pixels = Pixels::from(image);
    let mut resizer = fir::Resizer::new();
    let options = fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3));
    let source = fir::images::ImageRef::new(width, height, pixels.bytes(), pixels.fir_type())
        .map_err(|e| PosterError::Internal(e.into()))?;
    let mut renditions = Vec::new();
    for target in widths_for(width) {
        let target_height = height_for(width, height, target);
        let bytes = if target == width {
            pixels.encode(pixels.bytes(), width, height)?
        } else {
            let mut resized = fir::images::Image::new(target, target_height, pixels.fir_type());
            resizer.resize(&source, &mut resized, &options).map_err(|e| PosterError::Internal(e.into()))?;
            pixels.encode(resized.buffer(), target, target_height)?
        };
        renditions.push(Rendition { width: target, height: target_height, output: pixels.output(), bytes });
    }
    Ok(Renditions { width, height, renditions })
}

/// An opaque picture encoded as a rendition at its own size, as an upload's would be (the seed's
/// drawn cards).
pub fn encode_opaque(image: &image::RgbImage) -> Result<Rendition, PosterError> {
    let (width, height) = image.dimensions();
    let bytes = Pixels::Rgb(Vec::new()).encode(image.as_raw(), width, height)?;
    Ok(Rendition { width, height, output: OutputType::Jpeg, bytes })
}

/// Decoded pixels as the resizer and encoders take them: 8-bit RGB, or RGBA when some pixel is
/// not opaque.
enum Pixels {
    Rgb(Vec<u8>),
    Rgba(Vec<u8>),
}

impl From<DynamicImage> for Pixels {
    fn from(image: DynamicImage) -> Self {
        if image.color().has_alpha() {
            let rgba = image.into_rgba8().into_raw();
            if rgba.chunks_exact(4).all(|pixel| pixel[3] == u8::MAX) {
                Self::Rgb(rgba.chunks_exact(4).flat_map(|pixel| [pixel[0], pixel[1], pixel[2]]).collect())
            } else {
                Self::Rgba(rgba)
            }
        } else {
            // Free for the common case: an RGB8 image's buffer is moved, not copied.
            Self::Rgb(image.into_rgb8().into_raw())
        }
    }
}

impl Pixels {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Rgb(bytes) | Self::Rgba(bytes) => bytes,
        }
    }

    fn fir_type(&self) -> fir::PixelType {
        match self {
            Self::Rgb(_) => fir::PixelType::U8x3,
            Self::Rgba(_) => fir::PixelType::U8x4,
        }
    }

    fn output(&self) -> OutputType {
        match self {
            Self::Rgb(_) => OutputType::Jpeg,
            Self::Rgba(_) => OutputType::Webp,
        }
    }

    fn encode(&self, pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PosterError> {
        let mut out = Vec::new();
        let encoded = match self {
            Self::Rgb(_) => JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(
                pixels,
                width,
                height,
                ExtendedColorType::Rgb8,
            ),
            Self::Rgba(_) => {
                WebPEncoder::new_lossless(&mut out).write_image(pixels, width, height, ExtendedColorType::Rgba8)
            }
        };
        encoded.map_err(|e| PosterError::Internal(e.into()))?;
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    /// A picture with some structure (so JPEG has something to keep).
    pub(crate) fn test_rgb(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]))
    }

    pub(crate) fn jpeg_of(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90).encode_image(image).unwrap();
        out
    }

    pub(crate) fn png_of(image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    fn webp_of(image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), ImageFormat::WebP).unwrap();
        out
    }

    /// `jpeg` with an EXIF APP1 (a GPS IFD pointer and a maker string), an XMP APP1, an ICC
    /// APP2 and a COM comment inserted after its SOI, each carrying a marker string.
    pub(crate) fn jpeg_with_metadata(jpeg: &[u8]) -> Vec<u8> {
        fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
            let length = u16::try_from(payload.len() + 2).unwrap();
            let mut out = vec![0xFF, marker];
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(payload);
            out
        }
        // A little-endian TIFF header with one IFD of two entries: Make (ASCII, offset to the
        // string) and the GPS IFD pointer (0x8825) to an IFD holding GPSLatitudeRef "N".
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"II*\0");
        tiff.extend_from_slice(&8u32.to_le_bytes());
        let make = b"SECRET-CAMERA-MAKE\0";
        let ifd0_len = 2 + 2 * 12 + 4;
        let make_offset = 8 + ifd0_len;
        let gps_offset = make_offset + make.len();
        tiff.extend_from_slice(&2u16.to_le_bytes());
        // Make: tag 0x010F, type 2 (ASCII), count, offset.
        tiff.extend_from_slice(&0x010Fu16.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&u32::try_from(make.len()).unwrap().to_le_bytes());
        tiff.extend_from_slice(&u32::try_from(make_offset).unwrap().to_le_bytes());
        // GPSInfo: tag 0x8825, type 4 (LONG), count 1, the GPS IFD's offset.
        tiff.extend_from_slice(&0x8825u16.to_le_bytes());
        tiff.extend_from_slice(&4u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&u32::try_from(gps_offset).unwrap().to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(make);
        // GPS IFD: one entry, GPSLatitudeRef (1), ASCII, 2 bytes inline "N\0".
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&2u32.to_le_bytes());
        tiff.extend_from_slice(b"N\0\0\0");
        tiff.extend_from_slice(&0u32.to_le_bytes());
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend_from_slice(&tiff);

        let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        xmp.extend_from_slice(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><SECRET-XMP-AUTHOR/></x:xmpmeta>");
        let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
        icc.extend_from_slice(b"SECRET-ICC-PROFILE-DATA");

        let mut out = jpeg[..2].to_vec();
        out.extend(segment(0xE1, &exif));
        out.extend(segment(0xE1, &xmp));
        out.extend(segment(0xE2, &icc));
        out.extend(segment(0xFE, b"SECRET-COMMENT"));
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|window| window == needle)
    }

    /// The JPEG markers of a file, up to its first SOS.
    fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
        let mut markers = Vec::new();
        let mut at = 2;
        while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
            let marker = jpeg[at + 1];
            markers.push(marker);
            if marker == 0xDA {
                break;
            }
            let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            at += 2 + length;
        }
        markers
    }

    /// A JPEG whose SOF claims `width` x `height` (patched into a real small file).
    pub(crate) fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
        let mut jpeg = jpeg_of(&test_rgb(16, 16));
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline SOF0");
        // FF C0, length (2), precision (1), height (2), width (2).
        jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        jpeg
    }

    /// A PNG whose IHDR claims `width` x `height`, its CRC recomputed (patched into a real small
    /// file: signature, IHDR, a small IDAT, IEND).
    pub(crate) fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut png = png_of(&DynamicImage::ImageRgb8(test_rgb(16, 16)));
        // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), 5 more bytes, CRC.
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        png
    }

    #[test]
    fn the_widths_are_those_of_the_four_not_wider_than_the_upload() {
        assert_eq!(widths_for(6000), vec![160, 320, 640, 1280]);
        assert_eq!(widths_for(1280), vec![160, 320, 640, 1280]);
        assert_eq!(widths_for(1279), vec![160, 320, 640]);
        assert_eq!(widths_for(500), vec![160, 320]);
        assert_eq!(widths_for(160), vec![160]);
    }

    #[test]
    fn an_upload_narrower_than_160_is_kept_at_its_own_width_only() {
        assert_eq!(widths_for(100), vec![100]);
        let renditions = render(&jpeg_of(&test_rgb(100, 150)), UploadType::Jpeg).unwrap();
        let sizes: Vec<_> = renditions.renditions.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(sizes, vec![(100, 150)]);
    }

    #[test]
    fn every_rendition_keeps_the_aspect_ratio_and_decodes_at_its_stated_size() {
        let renditions = render(&jpeg_of(&test_rgb(1000, 1500)), UploadType::Jpeg).unwrap();
        assert_eq!((renditions.width, renditions.height), (1000, 1500));
        let sizes: Vec<_> = renditions.renditions.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(sizes, vec![(160, 240), (320, 480), (640, 960)]);
        for rendition in &renditions.renditions {
            assert_eq!(rendition.output, OutputType::Jpeg);
            let decoded = image::load_from_memory_with_format(&rendition.bytes, ImageFormat::Jpeg).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (rendition.width, rendition.height));
        }
        // An odd ratio rounds to the nearest pixel.
        assert_eq!(height_for(1999, 1000, 160), 80);
        assert_eq!(height_for(3000, 1, 160), 1);
    }

    #[test]
    fn png_and_webp_uploads_decode_and_an_opaque_one_becomes_jpeg() {
        let image = DynamicImage::ImageRgb8(test_rgb(400, 600));
        for (bytes, declared) in [(png_of(&image), UploadType::Png), (webp_of(&image), UploadType::Webp)] {
            let renditions = render(&bytes, declared).unwrap();
            let sizes: Vec<_> = renditions.renditions.iter().map(|r| (r.width, r.height, r.output)).collect();
            assert_eq!(sizes, vec![(160, 240, OutputType::Jpeg), (320, 480, OutputType::Jpeg)], "{declared:?}");
        }
        // An alpha channel that is opaque everywhere is dropped.
        let opaque = DynamicImage::ImageRgba8(RgbaImage::from_pixel(200, 200, Rgba([10, 20, 30, 255])));
        let renditions = render(&png_of(&opaque), UploadType::Png).unwrap();
        assert_eq!(renditions.renditions[0].output, OutputType::Jpeg);
    }

    #[test]
    fn a_transparent_upload_becomes_a_lossless_webp_that_keeps_its_alpha() {
        let image = RgbaImage::from_fn(320, 200, |x, _| Rgba([200, 10, 10, if x < 160 { 0 } else { 255 }]));
        let renditions = render(&png_of(&DynamicImage::ImageRgba8(image)), UploadType::Png).unwrap();
        assert_eq!(renditions.renditions.len(), 2);
        for rendition in &renditions.renditions {
            assert_eq!(rendition.output, OutputType::Webp);
            let decoded =
                image::load_from_memory_with_format(&rendition.bytes, ImageFormat::WebP).unwrap().into_rgba8();
            assert_eq!(decoded.get_pixel(2, 2)[3], 0);
            assert_eq!(decoded.get_pixel(rendition.width - 3, 2)[3], 255);
        }
    }

    #[test]
    fn bytes_of_another_type_than_the_declared_one_are_not_decodable() {
        let png = png_of(&DynamicImage::ImageRgb8(test_rgb(200, 200)));
        let jpeg = jpeg_of(&test_rgb(200, 200));
        assert!(matches!(render(&png, UploadType::Jpeg), Err(PosterError::NotDecodable("image/jpeg"))));
        assert!(matches!(render(&jpeg, UploadType::Png), Err(PosterError::NotDecodable("image/png"))));
        assert!(matches!(render(&jpeg, UploadType::Webp), Err(PosterError::NotDecodable("image/webp"))));
    }

    #[test]
    fn garbage_empty_and_truncated_bodies_are_not_decodable() {
        let jpeg = jpeg_of(&test_rgb(200, 200));
        let png = png_of(&DynamicImage::ImageRgb8(test_rgb(200, 200)));
        for (bytes, declared) in [
            (b"this is not an image at all".to_vec(), UploadType::Jpeg),
            (Vec::new(), UploadType::Png),
            (vec![0xFF, 0xD8, 0xFF], UploadType::Jpeg),
            // (A JPEG cut short decodes: zune-jpeg, like browsers, fills in what is missing.)
            (jpeg[..200].to_vec(), UploadType::Jpeg),
            (png[..png.len() / 2].to_vec(), UploadType::Png),
            (b"RIFF\x10\0\0\0WEBPVP8 garbage".to_vec(), UploadType::Webp),
        ] {
            let outcome = render(&bytes, declared);
            assert!(
                matches!(outcome, Err(PosterError::NotDecodable(_))),
                "{declared:?} {} bytes: {outcome:?}",
                bytes.len()
            );
        }
    }

    #[test]
    fn a_header_claiming_30000_by_30000_is_refused_before_any_pixel_is_decoded() {
        for (bytes, declared) in
            [(jpeg_claiming(30_000, 30_000), UploadType::Jpeg), (png_claiming(30_000, 30_000), UploadType::Png)]
        {
            assert!(bytes.len() < 2_000, "the bomb is a small file");
            let started = std::time::Instant::now();
            let outcome = render(&bytes, declared);
            assert!(
                matches!(outcome, Err(PosterError::TooLarge { width: 30_000, height: 30_000 })),
                "{declared:?}: {outcome:?}"
            );
            // 2.7 GB of pixels would take seconds to allocate and fill.
            assert!(started.elapsed() < std::time::Duration::from_millis(200), "{:?}", started.elapsed());
        }
        // Just past the budget, with both sides under the decoder's limit: the header check.
        assert!(matches!(
            checked_dimensions(&png_claiming(10_000, 5_001), UploadType::Png),
            Err(PosterError::TooLarge { .. })
        ));
        // Past the decoder's side limit: still reported as too large, with the header's size.
        assert!(matches!(
            checked_dimensions(&png_claiming(60_000, 10), UploadType::Png),
            Err(PosterError::TooLarge { width: 60_000, height: 10 })
        ));
    }

    #[test]
    fn no_metadata_of_the_upload_survives_in_any_rendition() {
        let original = jpeg_of(&test_rgb(700, 400));
        let upload = jpeg_with_metadata(&original);
        for secret in [
            &b"Exif\0\0"[..],
            b"SECRET-CAMERA-MAKE",
            b"http://ns.adobe.com/xap",
            b"SECRET-XMP-AUTHOR",
            b"ICC_PROFILE",
            b"SECRET-COMMENT",
        ] {
            assert!(contains(&upload, secret), "the upload carries {}", String::from_utf8_lossy(secret));
        }
        let renditions = render(&upload, UploadType::Jpeg).unwrap();
        assert_eq!(renditions.renditions.len(), 3);
        for rendition in &renditions.renditions {
            for secret in [&b"Exif"[..], b"SECRET", b"adobe", b"xmpmeta", b"ICC_PROFILE"] {
                assert!(
                    !contains(&rendition.bytes, secret),
                    "{} px carries {}",
                    rendition.width,
                    String::from_utf8_lossy(secret)
                );
            }
            let markers = jpeg_markers(&rendition.bytes);
            for marker in [0xE1, 0xE2, 0xED, 0xFE] {
                assert!(!markers.contains(&marker), "{} px has marker FF{marker:02X}: {markers:02X?}", rendition.width);
            }
        }
    }

    #[test]
    fn the_exif_orientation_is_applied_to_the_pixels_before_it_is_dropped() {
        // Orientation 6 (rotate 90 clockwise) on a landscape 400 x 200 picture.
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes());
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&[6, 0, 0, 0]);
        tiff.extend_from_slice(&0u32.to_le_bytes());
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend_from_slice(&tiff);
        let jpeg = jpeg_of(&test_rgb(400, 200));
        let mut upload = jpeg[..2].to_vec();
        upload.extend_from_slice(&[0xFF, 0xE1]);
        upload.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
        upload.extend_from_slice(&exif);
        upload.extend_from_slice(&jpeg[2..]);
        let renditions = render(&upload, UploadType::Jpeg).unwrap();
        assert_eq!((renditions.width, renditions.height), (200, 400));
        assert_eq!((renditions.renditions[0].width, renditions.renditions[0].height), (160, 320));
    }

    #[test]
    fn content_types_name_the_three_accepted_types_and_nothing_else() {
        assert_eq!(UploadType::from_content_type("image/jpeg"), Some(UploadType::Jpeg));
        assert_eq!(UploadType::from_content_type("IMAGE/PNG; foo=bar"), Some(UploadType::Png));
        assert_eq!(UploadType::from_content_type("image/webp"), Some(UploadType::Webp));
        assert_eq!(UploadType::from_content_type("image/gif"), None);
        assert_eq!(UploadType::from_content_type("application/json"), None);
        assert_eq!(OutputType::from_extension("jpg"), Some(OutputType::Jpeg));
        assert_eq!(OutputType::from_extension("png"), None);
    }
}
