//! A decompression bomb is refused from its header without allocating its pixels: this binary
//! counts every allocation (its own global allocator, which is why it is not in `tests/api`)
//! and the pipeline's peak while refusing a small file that claims 30,000 x 30,000 pixels
//! (2.7 GB as RGB) must stay under a megabyte.
#![allow(unsafe_code)] // a counting global allocator, forwarding to the system one

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use movie_bag::posters::{PosterError, UploadType, render};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY (the crate's lint is for its library; this only forwards to the system allocator).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), SeqCst) + layout.size();
        PEAK.fetch_max(live, SeqCst);
        // SAFETY: the caller's layout, handed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), SeqCst);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn small_rgb() -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 16, y as u8 * 16, 0])))
}

fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    small_rgb().write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    small_rgb().write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    png
}

#[test]
fn a_small_file_claiming_30000_by_30000_pixels_is_refused_without_allocating_them() {
    for (bytes, declared) in
        [(jpeg_claiming(30_000, 30_000), UploadType::Jpeg), (png_claiming(30_000, 30_000), UploadType::Png)]
    {
        let before = LIVE.load(SeqCst);
        PEAK.store(before, SeqCst);
        let outcome = render(&bytes, declared);
        let peak = PEAK.load(SeqCst) - before;
        assert!(
            matches!(outcome, Err(PosterError::TooLarge { width: 30_000, height: 30_000 })),
            "{declared:?}: {outcome:?}"
        );
        eprintln!(
            "{declared:?}: refused a {} byte file claiming 30000 x 30000 with a peak of {peak} bytes allocated",
            bytes.len()
        );
        assert!(peak < 1024 * 1024, "{declared:?}: {peak} bytes allocated while refusing a {} byte file", bytes.len());
    }
}
