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
use crate::store::{EntryCursor, EntryKey, EventCursor, LibrarySort, MovieCursor, MovieSort, SortKey};

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

/// The `after` cursor of a library page: the last entry's place in the page's order, tagged
/// with the order, as base64url.
pub fn encode_entry(cursor: &EntryCursor) -> String {
    let place = format!("{}.{}", cursor.created_at.timestamp_micros(), cursor.movie_id);
    let text = match &cursor.key {
        EntryKey::Time => format!("a.{place}"),
        EntryKey::Day(day) => format!("w.{day}.{place}"),
        EntryKey::Halves(halves) => format!("r.{halves}.{place}"),
        EntryKey::Title(title) => format!("t.{place}.{title}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// The library cursor `raw` names, if it is one of `sort`'s.
pub fn decode_entry(sort: LibrarySort, raw: &str) -> Option<EntryCursor> {
    if raw.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (key, place) = match sort {
        LibrarySort::Added => (SortKey::Time, text.strip_prefix("a.")?.to_owned()),
        LibrarySort::WatchedOn => {
            let (day, place) = text.strip_prefix("w.")?.split_once('.')?;
            if !day.is_empty() {
                crate::domain::parse_watched_on(day).ok()?;
            }
            (SortKey::Title(day.to_owned()), place.to_owned())
        }
        LibrarySort::Rating => {
            let (halves, place) = text.strip_prefix("r.")?.split_once('.')?;
            (SortKey::Year(halves.parse().ok().filter(|h| (0..=10).contains(h))?), place.to_owned())
        }
        LibrarySort::Title => {
            let rest = text.strip_prefix("t.")?;
            let (micros, rest) = rest.split_once('.')?;
            let (id, title) = rest.split_once('.')?;
            (SortKey::Title(title.to_owned()), format!("{micros}.{id}"))
        }
    };
    let (micros, id) = place.split_once('.')?;
    let found = cursor(key, micros, id)?;
    let key = match (sort, found.key) {
        (LibrarySort::Added, _) => EntryKey::Time,
        (LibrarySort::WatchedOn, SortKey::Title(day)) => EntryKey::Day(day),
        (LibrarySort::Rating, SortKey::Year(halves)) => EntryKey::Halves(halves),
        (LibrarySort::Title, SortKey::Title(title)) => EntryKey::Title(title),
        _ => return None,
    };
    Some(EntryCursor { key, created_at: found.created_at, movie_id: found.id })
}

/// The `after` cursor of a page of security events: the last event's time and id, as base64url.
pub fn encode_event(cursor: &EventCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("e.{}.{}", cursor.at.timestamp_micros(), cursor.id))
}

/// The event cursor `raw` names, if it is one.
pub fn decode_event(raw: &str) -> Option<EventCursor> {
    if raw.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (micros, id) = text.strip_prefix("e.")?.split_once('.')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    // An id as the database holds them: a UUID, never anything a query would choke on.
    uuid::Uuid::parse_str(id).ok()?;
    Some(EventCursor { at, id: id.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_cursor_reads_back_in_its_own_order_only() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        let movie_id = MovieId::generate();
        for (sort, key) in [
            (LibrarySort::Added, EntryKey::Time),
            (LibrarySort::WatchedOn, EntryKey::Day("2024-05-17".into())),
            (LibrarySort::WatchedOn, EntryKey::Day(String::new())),
            (LibrarySort::Rating, EntryKey::Halves(9)),
            (LibrarySort::Rating, EntryKey::Halves(0)),
            (LibrarySort::Title, EntryKey::Title("heat. the.movie".into())),
        ] {
            let cursor = EntryCursor { key, created_at: at, movie_id: movie_id.clone() };
            let raw = encode_entry(&cursor);
            assert_eq!(decode_entry(sort, &raw), Some(cursor.clone()), "{sort:?}");
            for other in LibrarySort::ALL.into_iter().filter(|other| *other != sort) {
                assert_eq!(decode_entry(other, &raw), None, "{sort:?} read as {other:?}");
            }
        }
        for forged in ["w.2024-13-01.1.ab", "r.11.1.ab", "a.x.ab", "a.1."] {
            assert_eq!(decode_entry(LibrarySort::Added, &URL_SAFE_NO_PAD.encode(forged)), None);
            assert_eq!(decode_entry(LibrarySort::Rating, &URL_SAFE_NO_PAD.encode(forged)), None);
            assert_eq!(decode_entry(LibrarySort::WatchedOn, &URL_SAFE_NO_PAD.encode(forged)), None);
        }
    }

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
