//! The opaque `after` cursor of `GET /api/movies`: where the previous page ended.
//!
//! It encodes the last movie's (created_at, id) as base64url. Opaque so clients do not build
//! them; anything that does not decode to a valid position is a 400, never a 500.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike as _};

use crate::domain::MovieId;
use crate::store::MovieCursor;

pub fn encode(cursor: &MovieCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", cursor.created_at.timestamp_micros(), cursor.id))
}

pub fn decode(raw: &str) -> Option<MovieCursor> {
    if raw.len() > 200 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (micros, id) = text.split_once('.')?;
    let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    // Every stored time lies in years 1 to 9999; a forged one beyond would reach PostgreSQL,
    // whose timestamps cannot hold chrono's whole range.
    if !(1..=9999).contains(&created_at.year()) {
        return None;
    }
    let id_is_plausible = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    id_is_plausible.then(|| MovieCursor { created_at, id: MovieId::from_stored(id.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_the_round_trip() {
        let cursor = MovieCursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: MovieId::from_stored("0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e".into()),
        };
        assert_eq!(decode(&encode(&cursor)), Some(cursor));
    }

    #[test]
    fn garbled_or_forged_cursors_are_rejected() {
        for bad in [
            "",
            "!!!",
            "bm90LWEtY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("12.x';--"),
            &URL_SAFE_NO_PAD.encode("99999999999999999999.ab"),
            &URL_SAFE_NO_PAD.encode("8000000000000000000.ab"),
            &URL_SAFE_NO_PAD.encode("-8000000000000000000.ab"),
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
