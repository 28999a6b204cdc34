//! The opaque `after` cursor of `GET /api/movies`: where the previous page ended.
//!
//! It encodes the last movie's place in the page's order (its sort key, then its created_at
//! and id) as base64url, tagged with the order, so that a cursor from one order given to
//! another is refused. The newest-first cursor keeps the form it had before there were other
//! orders, so links clients saved still work. Opaque so clients do not build them; anything
//! that does not decode to a valid position is a 400, never a 500.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike as _, Utc};

use crate::domain::MovieId;
use crate::store::{MovieCursor, MovieSort, SortKey};

/// The longest cursor accepted: a title key of 200 characters of 4 bytes each, encoded.
const MAX_CURSOR_CHARS: usize = 1200;

pub fn encode(sort: MovieSort, cursor: &MovieCursor) -> String {
    let place = format!("{}.{}", cursor.created_at.timestamp_micros(), cursor.id);
    let text = match (&cursor.key, sort) {
        (SortKey::Time, MovieSort::Oldest) => format!("o.{place}"),
        (SortKey::Title(title), _) => format!("t.{place}.{title}"),
        (SortKey::Year(year), _) => format!("y.{year}.{place}"),
        (SortKey::Rating(average, count), _) => format!("r.{average}.{count}.{place}"),
        (SortKey::Time, _) => place,
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// The cursor `raw` names, if it is one of `sort`'s.
pub fn decode(sort: MovieSort, raw: &str) -> Option<MovieCursor> {
    if raw.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (key, place) = match sort {
        MovieSort::Newest => (SortKey::Time, text.as_str()),
        MovieSort::Oldest => (SortKey::Time, text.strip_prefix("o.")?),
        MovieSort::Title => {
            let rest = text.strip_prefix("t.")?;
            let (micros, rest) = rest.split_once('.')?;
            let (id, title) = rest.split_once('.')?;
            return cursor(SortKey::Title(title.to_owned()), micros, id);
        }
        MovieSort::Year => {
            let (year, place) = text.strip_prefix("y.")?.split_once('.')?;
            (SortKey::Year(year.parse().ok().filter(|year| (0..=9999).contains(year))?), place)
        }
        MovieSort::Rating => {
            let (average, rest) = text.strip_prefix("r.")?.split_once('.')?;
            let (count, place) = rest.split_once('.')?;
            let average: i64 = average.parse().ok().filter(|tenths| (-1..=50).contains(tenths))?;
            let count: i64 = count.parse().ok().filter(|count| (0..=i64::from(i32::MAX)).contains(count))?;
            (SortKey::Rating(average, count), place)
        }
    };
    let (micros, id) = place.split_once('.')?;
    cursor(key, micros, id)
}

fn cursor(key: SortKey, micros: &str, id: &str) -> Option<MovieCursor> {
    let created_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    // Every stored time lies in years 1 to 9999; a forged one beyond would reach PostgreSQL,
    // whose timestamps cannot hold chrono's whole range.
    if !(1..=9999).contains(&created_at.year()) {
        return None;
    }
    let id_is_plausible = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if let SortKey::Title(title) = &key
        && (title.chars().count() > 200 || title.contains('\0'))
    {
        return None;
    }
    id_is_plausible.then(|| MovieCursor { key, created_at, id: MovieId::from_stored(id.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(key: SortKey) -> MovieCursor {
        MovieCursor {
            key,
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: MovieId::from_stored("0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e".into()),
        }
    }

    #[test]
    fn a_cursor_of_each_order_survives_the_round_trip() {
        for (sort, key) in [
            (MovieSort::Newest, SortKey::Time),
            (MovieSort::Oldest, SortKey::Time),
            (MovieSort::Title, SortKey::Title("l.a. confidential. 千と千尋".into())),
            (MovieSort::Year, SortKey::Year(1995)),
            (MovieSort::Year, SortKey::Year(0)),
            (MovieSort::Rating, SortKey::Rating(45, 12)),
            (MovieSort::Rating, SortKey::Rating(-1, 0)),
        ] {
            let cursor = at(key);
            assert_eq!(decode(sort, &encode(sort, &cursor)), Some(cursor), "{sort:?}");
        }
    }

    #[test]
    fn a_cursor_of_one_order_is_refused_by_another() {
        let year = encode(MovieSort::Year, &at(SortKey::Year(1995)));
        for other in [MovieSort::Newest, MovieSort::Oldest, MovieSort::Title, MovieSort::Rating] {
            assert_eq!(decode(other, &year), None, "{other:?}");
        }
        let newest = encode(MovieSort::Newest, &at(SortKey::Time));
        assert_eq!(decode(MovieSort::Oldest, &newest), None);
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
            assert_eq!(decode(MovieSort::Newest, bad), None, "{bad}");
        }
        for (sort, bad) in [
            (MovieSort::Year, "y.99999.1764000000123456.ab"),
            (MovieSort::Rating, "r.51.3.1764000000123456.ab"),
            (MovieSort::Rating, "r.45.-3.1764000000123456.ab"),
            (MovieSort::Title, "t.1764000000123456.ab.bad\0title"),
        ] {
            assert_eq!(decode(sort, &URL_SAFE_NO_PAD.encode(bad)), None, "{bad}");
        }
    }
}
