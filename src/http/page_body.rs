//! A listing page as sent: its validator and its compressed forms, made once per cached page
//! (kept with the page by the store's cache, see [`MoviePage::derived`]).

use std::sync::OnceLock;

use bytes::Bytes;

use crate::store::MoviePage;

/// A content coding a page can be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCoding {
    Identity,
    Gzip,
    Brotli,
}

impl ContentCoding {
    /// The `Content-Encoding` value, `None` for identity.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }
}

/// Smaller bodies are sent as they are: compression would save too little to pay for itself.
const COMPRESS_FROM_BYTES: usize = 1024;

/// What the http layer derives from a page's body.
struct Renditions {
    /// A digest of the body: the page's validator (`ETag`), the same in every process.
    digest: String,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

impl Renditions {
    fn of(body: &Bytes) -> Self {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(body);
        let digest = hash[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        Self { digest, gzip: OnceLock::new(), brotli: OnceLock::new() }
    }
}

fn renditions(page: &MoviePage) -> Option<&Renditions> {
    page.derived(Renditions::of)
}

/// The page's digest, for its `ETag`.
pub fn digest(page: &MoviePage) -> String {
    renditions(page).map_or_else(|| Renditions::of(&page.body).digest, |found| found.digest.clone())
}

/// The body in `coding`, or as it is (with `Identity`) when it is too small to compress or
/// compressing fails.
pub fn body_in(page: &MoviePage, coding: ContentCoding) -> (ContentCoding, Bytes) {
    let body = &page.body;
    if body.len() < COMPRESS_FROM_BYTES {
        return (ContentCoding::Identity, body.clone());
    }
    let Some(renditions) = renditions(page) else { return (ContentCoding::Identity, body.clone()) };
    let compressed = match coding {
        ContentCoding::Identity => None,
        ContentCoding::Gzip => Some(renditions.gzip.get_or_init(|| gzip(body))),
        ContentCoding::Brotli => Some(renditions.brotli.get_or_init(|| brotli(body))),
    };
    match compressed {
        Some(bytes) if !bytes.is_empty() => (coding, bytes.clone()),
        _ => (ContentCoding::Identity, body.clone()),
    }
}

/// Empty when compression failed (it writes to memory, so it does not).
fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::new(6));
    let written = encoder.write_all(body).and_then(|()| encoder.finish());
    written.map(Bytes::from).unwrap_or_default()
}

fn brotli(body: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut out = Vec::with_capacity(body.len() / 4);
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 6, 22);
        if encoder.write_all(body).and_then(|()| encoder.flush()).is_err() {
            return Bytes::new();
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_compressed_once_and_small_pages_not_at_all() {
        let page = MoviePage::new(Bytes::from("[".to_owned() + &"{\"name\":\"Heat\"},".repeat(200) + "{}]"), None);
        let (coding, first) = body_in(&page, ContentCoding::Gzip);
        assert_eq!(coding, ContentCoding::Gzip);
        assert!(first.len() < page.body.len());
        let (_, second) = body_in(&page, ContentCoding::Gzip);
        assert_eq!(first.as_ptr(), second.as_ptr(), "the compressed body is kept with the page");
        let small = MoviePage::new(Bytes::from_static(b"[]"), None);
        assert_eq!(body_in(&small, ContentCoding::Brotli).0, ContentCoding::Identity);
        assert_eq!(digest(&small), digest(&MoviePage::new(Bytes::from_static(b"[]"), None)));
    }
}
