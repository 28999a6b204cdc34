//! HTTP conditional requests (RFC 9110, section 13): validators out, preconditions in.
//!
//! A movie's validator is a strong `ETag` made of its version ([`MovieVersion`]): its
//! `updated_at` in microseconds, which every write of its owner moves forward (the write
//! statement makes it later than the stored one), then the number of ratings and the average
//! in tenths, which the library changes without touching `updated_at`. The representation is a
//! function of those, so equal tags mean byte-identical bodies; `If-Match` holds a write to the
//! whole version, so a rating that changed since the client's read is a 412 like any change. A listing
//! page's validator is a digest of its body, weak since it names the bytes only by their hash.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};

use super::page_body::ContentCoding;
use crate::domain::{Movie, MovieVersion};
use crate::service::movies::ExpectedVersions;

pub fn movie_etag(movie: &Movie) -> HeaderValue {
    let version = movie.version();
    let tag =
        format!("\"{}.{}.{}\"", version.updated_at.timestamp_micros(), version.rating_count, version.rating_tenths);
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

pub fn page_etag(digest: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("W/\"{digest}\"")).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""))
}

/// Entity tags of a header, as comma-separated values across every instance of it.
fn entity_tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<String>> {
    let mut tags = Vec::new();
    let mut present = false;
    for value in headers.get_all(name) {
        present = true;
        let Ok(value) = value.to_str() else { continue };
        tags.extend(value.split(',').map(|tag| tag.trim().to_owned()).filter(|tag| !tag.is_empty()));
    }
    present.then_some(tags)
}

/// `If-Match` as the versions it accepts. Strong comparison: a weak tag matches nothing, nor
/// does a tag that is not one of ours. `*` (or no header) accepts any existing movie.
pub fn if_match(headers: &HeaderMap) -> ExpectedVersions {
    let tags = entity_tags(headers, header::IF_MATCH)?;
    if tags.iter().any(|tag| tag == "*") {
        return None;
    }
    let versions = tags.iter().filter_map(|tag| movie_version(tag.strip_prefix('"')?.strip_suffix('"')?)).collect();
    Some(versions)
}

/// The version a tag of [`movie_etag`]'s names.
fn movie_version(opaque: &str) -> Option<MovieVersion> {
    let mut parts = opaque.split('.');
    let micros = parts.next()?.parse::<i64>().ok()?;
    let rating_count = parts.next()?.parse::<i64>().ok()?;
    let rating_tenths = parts.next()?.parse::<i64>().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(MovieVersion { updated_at: DateTime::<Utc>::from_timestamp_micros(micros)?, rating_count, rating_tenths })
}

/// Whether `If-None-Match` matches `current` (weak comparison, as RFC 9110 asks for GET).
pub fn if_none_match_matches(headers: &HeaderMap, current: &HeaderValue) -> bool {
    let Some(tags) = entity_tags(headers, header::IF_NONE_MATCH) else { return false };
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_owned();
    let current = opaque(current.to_str().unwrap_or_default());
    tags.iter().any(|tag| tag == "*" || opaque(tag) == current)
}

/// The coding to send a compressible body in, from `Accept-Encoding`: brotli when accepted (it
/// is the smaller), else gzip, else none. A coding with `q=0` is refused; `*` accepts both.
pub fn preferred_coding(headers: &HeaderMap) -> ContentCoding {
    let mut brotli = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
            let refused = parts.any(|param| {
                param.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match coding.as_str() {
                "br" => brotli = true,
                "gzip" | "x-gzip" => gzip = true,
                "*" => (brotli, gzip) = (true, true),
                _ => {}
            }
        }
    }
    if brotli {
        ContentCoding::Brotli
    } else if gzip {
        ContentCoding::Gzip
    } else {
        ContentCoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accept_encoding_picks_brotli_then_gzip_and_honours_q_zero() {
        let pick = |value: &str| preferred_coding(&headers(header::ACCEPT_ENCODING, value));
        assert_eq!(pick("gzip, deflate, br"), ContentCoding::Brotli);
        assert_eq!(pick("gzip"), ContentCoding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0.5"), ContentCoding::Gzip);
        assert_eq!(pick("identity"), ContentCoding::Identity);
        assert_eq!(pick("*"), ContentCoding::Brotli);
        assert_eq!(preferred_coding(&HeaderMap::new()), ContentCoding::Identity);
    }

    #[test]
    fn if_match_accepts_strong_tags_of_ours_only() {
        assert_eq!(if_match(&HeaderMap::new()), None);
        assert_eq!(if_match(&headers(header::IF_MATCH, "*")), None);
        let updated_at = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        let version = MovieVersion { updated_at, rating_count: 3, rating_tenths: 45 };
        assert_eq!(if_match(&headers(header::IF_MATCH, "\"1700000000000001.3.45\"")), Some(vec![version]));
        let unrated = MovieVersion { rating_count: 0, rating_tenths: -1, ..version };
        assert_eq!(if_match(&headers(header::IF_MATCH, "\"1700000000000001.0.-1\"")), Some(vec![unrated]));
        let tags = "W/\"1700000000000001.3.45\", \"x\", \"1700000000000001\", \"1.2.3.4\"";
        assert_eq!(if_match(&headers(header::IF_MATCH, tags)), Some(vec![]));
    }

    #[test]
    fn if_none_match_compares_weakly_and_star_matches_anything() {
        let current = HeaderValue::from_static("\"42\"");
        assert!(if_none_match_matches(&headers(header::IF_NONE_MATCH, "W/\"42\""), &current));
        assert!(if_none_match_matches(&headers(header::IF_NONE_MATCH, "\"1\", \"42\""), &current));
        assert!(if_none_match_matches(&headers(header::IF_NONE_MATCH, "*"), &current));
        assert!(!if_none_match_matches(&headers(header::IF_NONE_MATCH, "\"43\""), &current));
        assert!(!if_none_match_matches(&HeaderMap::new(), &current));
    }
}
