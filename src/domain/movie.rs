//! Movie inputs: a name, and the lists of casts and genres.
//!
//! Every path that makes a movie (the API's create, replace and patch, the importer) parses
//! through these types, so the rules below hold for all of them. Text is kept in Unicode normal
//! form C, and characters that draw nothing or reorder what follows are refused: with them,
//! "Heat" and "Heat" followed by a zero-width space, or "Ame\u{301}lie" and "Amélie", would be
//! two movies that look like one, getting past the unique name; and a right-to-left override
//! (U+202E) makes a name show other than it reads. Refused rather than stripped, so that a
//! client learns why, and what is stored is what was sent (save the normal form).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MovieId, UserId};

const NAME_MAX_CHARS: usize = 200;
const TAG_MAX_CHARS: usize = 200;
/// The most entries a list (casts, genres) may have.
pub const TAGS_MAX: usize = 100;

/// A movie name: trimmed, non-blank, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieName(String);

impl MovieName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        checked_text(raw, NAME_MAX_CHARS).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What two names share when they name the same movie for an import: the name trimmed, in
/// normal form C, lowercased by Unicode's full case mapping (not ASCII only, as SQLite's
/// `lower` is), so "AMÉLIE " finds "Amélie".
pub fn name_key(name: &str) -> String {
    super::user::normalized(name.trim()).to_lowercase()
}

/// A non-empty list (casts or genres) of trimmed, non-blank entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList(Vec<String>);

impl TagList {
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must have at least one entry".into());
        }
        if raw.len() > TAGS_MAX {
            return Err(format!("must have at most {TAGS_MAX} entries"));
        }
        let mut tags = Vec::with_capacity(raw.len());
        for (i, entry) in raw.iter().enumerate() {
            tags.push(Self::entry(entry).map_err(|reason| format!("entry {i} {reason}"))?);
        }
        Ok(Self(tags))
    }

    /// One entry of a list on its own: trimmed, non-blank, at most 200 characters, no control
    /// characters. For callers that look at entries one by one (an import that reports where
    /// in its file an entry was).
    pub fn entry(raw: &str) -> Result<String, String> {
        checked_text(raw, TAG_MAX_CHARS)
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

/// A list that may be empty (directors): each entry as in [`TagList`].
pub fn optional_tag_list(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    TagList::parse(raw).map(TagList::into_inner)
}

/// The year range a movie may have.
pub const YEARS: std::ops::RangeInclusive<i64> = 1870..=2100;
/// The running times a movie may have, in minutes.
pub const RUNTIMES: std::ops::RangeInclusive<i64> = 1..=1440;
const OVERVIEW_MAX_CHARS: usize = 2000;

/// A year of release.
pub fn parse_year(raw: i64) -> Result<i32, String> {
    checked_number(raw, &YEARS)
}

/// A running time in minutes.
pub fn parse_runtime(raw: i64) -> Result<i32, String> {
    checked_number(raw, &RUNTIMES)
}

fn checked_number(raw: i64, range: &std::ops::RangeInclusive<i64>) -> Result<i32, String> {
    if !range.contains(&raw) {
        return Err(format!("must be from {} to {}", range.start(), range.end()));
    }
    i32::try_from(raw).map_err(|_| "is out of range".to_owned())
}

/// What a movie is about: trimmed and in normal form C, at most 2,000 characters; blank means
/// none. Prose may break lines and hold tabs, but no other control character, and no
/// text-direction override (which would make it show other than it reads).
pub fn parse_overview(raw: &str) -> Result<Option<String>, String> {
    let text = super::user::normalized(raw.trim()).replace("\r\n", "\n");
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > OVERVIEW_MAX_CHARS {
        return Err(format!("must be at most {OVERVIEW_MAX_CHARS} characters"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("must not contain control characters other than line breaks and tabs".into());
    }
    if let Some(c) = text.chars().find(|c| matches!(u32::from(*c), 0x202A..=0x202E | 0x2066..=0x2069)) {
        return Err(format!("must not contain text-direction overrides (U+{:04X})", u32::from(c)));
    }
    Ok(Some(text))
}

/// The rules a name and a list entry share: trimmed and normalised first (so that the length is
/// the one stored), then non-blank, at most `max_chars`, no control, invisible or text-direction
/// characters.
fn checked_text(raw: &str, max_chars: usize) -> Result<String, String> {
    let text = super::user::normalized(raw.trim());
    if text.is_empty() {
        return Err("must not be blank".into());
    }
    if text.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = text.chars().find(|c| is_invisible(*c)) {
        return Err(format!("must not contain invisible or text-direction characters (U+{:04X})", u32::from(c)));
    }
    Ok(text)
}

/// Unicode's default-ignorable code points (DerivedCoreProperties.txt,
/// `Default_Ignorable_Code_Point`): what a renderer draws as nothing, the bidirectional
/// controls among them (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069); and the
/// line and paragraph separators, which break a name across lines. The price: emoji sequences
/// joined by U+200D or styled by U+FE0F, and the zero-width non-joiner some Persian spellings
/// use, are refused in names, casts and genres too; a lone emoji is fine.
const INVISIBLE: [(u32, u32); 18] = [
    (0x00AD, 0x00AD),   // soft hyphen
    (0x034F, 0x034F),   // combining grapheme joiner
    (0x061C, 0x061C),   // Arabic letter mark
    (0x115F, 0x1160),   // Hangul fillers
    (0x17B4, 0x17B5),   // Khmer inherent vowels
    (0x180B, 0x180F),   // Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),   // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    (0x2028, 0x2029),   // line and paragraph separators
    (0x202A, 0x202E),   // bidirectional embeddings and overrides
    (0x2060, 0x206F),   // word joiner, invisible operators, bidirectional isolates, deprecated formats
    (0x3164, 0x3164),   // Hangul filler
    (0xFE00, 0xFE0F),   // variation selectors
    (0xFEFF, 0xFEFF),   // zero-width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),   // halfwidth Hangul filler
    (0xFFF0, 0xFFF8),   // unassigned, default-ignorable
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol formatting
    (0xE0000, 0xE0FFF), // tags and variation selectors supplement
];

fn is_invisible(c: char) -> bool {
    let c = u32::from(c);
    INVISIBLE.iter().any(|(first, last)| (*first..=*last).contains(&c))
}

/// A movie of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Movie {
    #[schema(value_type = String, example = "0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e")]
    pub id: MovieId,
    #[schema(example = "Heat")]
    pub name: String,
    /// Year of release, 1870 to 2100.
    #[schema(required = true, example = 1995, minimum = 1870, maximum = 2100)]
    pub year: Option<i32>,
    /// Running time in minutes, 1 to 1440.
    #[schema(required = true, example = 170, minimum = 1, maximum = 1440)]
    pub runtime: Option<i32>,
    #[schema(example = json!(["Al Pacino", "Robert De Niro"]))]
    pub casts: Vec<String>,
    /// May be empty.
    #[schema(example = json!(["Michael Mann"]))]
    pub directors: Vec<String>,
    #[schema(example = json!(["Crime", "Drama"]))]
    pub genres: Vec<String>,
    /// What it is about, at most 2,000 characters.
    #[schema(required = true, example = "A group of professional bank robbers start to feel the heat from police.")]
    pub overview: Option<String>,
    /// `null` until an image is uploaded (`PUT /api/movies/{id}/poster`).
    #[schema(required = true)]
    pub poster: Option<Poster>,
    pub rating: Rating,
    /// Id of the user who added it.
    #[schema(value_type = String)]
    pub added_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a movie's strong `ETag` names: the version its owner's last write gave it (`updated_at`)
/// and the rating it shows (the number of ratings and the average in tenths, -1 unrated), which
/// the library changes without touching `updated_at`. Equal versions mean identical bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovieVersion {
    pub updated_at: DateTime<Utc>,
    pub rating_count: i64,
    pub rating_tenths: i64,
}

impl Movie {
    pub fn version(&self) -> MovieVersion {
        MovieVersion {
            updated_at: self.updated_at,
            rating_count: i64::from(self.rating.count),
            rating_tenths: self.rating.average_tenths.map_or(-1, i64::from),
        }
    }
}

/// A movie's poster: the upload's size and its renditions, narrowest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Poster {
    /// Width of the uploaded image, in pixels.
    pub width: u32,
    /// Height of the uploaded image, in pixels.
    pub height: u32,
    pub sources: Vec<PosterSource>,
}

/// One rendition of a poster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PosterSource {
    /// Width in pixels (the height keeps the upload's aspect ratio).
    pub width: u32,
    /// Where the image is served; immutable: it changes with the content.
    #[schema(example = "/api/posters/3f2a9c0d5e7b41a8.webp")]
    pub url: String,
}

/// What the people who rated a movie think of it: `{"average": 4.5 or null, "count": 12}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct Rating {
    /// The average, rounded half up to one decimal (`null`: nobody rated it). Kept in tenths.
    #[serde(rename = "average", serialize_with = "tenths_as_decimal")]
    #[schema(value_type = Option<f64>, required = true, example = 4.5, minimum = 0.5, maximum = 5.0)]
    pub average_tenths: Option<u16>,
    /// How many people rated it.
    #[schema(example = 12)]
    pub count: u32,
}

impl Rating {
    /// From the stored sum of ratings in half stars and their number.
    pub fn from_half_stars(sum: i64, count: i64) -> Self {
        let count = u32::try_from(count.max(0)).unwrap_or(u32::MAX);
        if count == 0 {
            return Self::default();
        }
        let tenths = (sum * 10 + i64::from(count)) / (2 * i64::from(count));
        Self { average_tenths: u16::try_from(tenths).ok(), count }
    }
}

fn tenths_as_decimal<S: serde::Serializer>(tenths: &Option<u16>, serializer: S) -> Result<S::Ok, S::Error> {
    match tenths {
        Some(tenths) => serializer.serialize_f64(f64::from(*tenths) / 10.0),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(MovieName::parse("  Heat ").unwrap().into_inner(), "Heat");
        assert!(MovieName::parse("").is_err());
        assert!(MovieName::parse(" \t\n").is_err());
    }

    #[test]
    fn control_characters_are_rejected_because_postgresql_cannot_store_nul() {
        assert!(MovieName::parse("He\0at").is_err());
        assert!(MovieName::parse("He\u{7}at").is_err());
        assert!(TagList::parse(&["Al\0".to_owned()]).is_err());
    }

    #[test]
    fn invisible_and_text_direction_characters_are_refused_in_names_and_tags() {
        for c in [
            '\u{202E}',
            '\u{202A}',
            '\u{2066}',
            '\u{2069}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{2028}',
        ] {
            let name = format!("He{c}at");
            let refused = MovieName::parse(&name).unwrap_err();
            assert!(refused.contains(&format!("U+{:04X}", u32::from(c))), "{refused}");
            assert!(TagList::parse(&["Al Pacino".to_owned(), format!("Dra{c}ma")]).unwrap_err().starts_with("entry 1"));
        }
        // At either end too, where trimming does not reach: these are not white space.
        assert!(MovieName::parse("Heat\u{200B}").is_err());
        assert!(MovieName::parse("\u{FEFF}Heat").is_err());
        for fine in ["Amélie", "Léon: The Professional", "千と千尋の神隠し", "כל הכבוד", "شاهنامه", "🎬 Heat"]
        {
            assert!(MovieName::parse(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn names_and_tags_are_kept_in_normal_form_c_and_measured_there() {
        assert_eq!(MovieName::parse("Ame\u{301}lie").unwrap().into_inner(), "Am\u{e9}lie");
        assert!(MovieName::parse(&"e\u{301}".repeat(200)).is_ok(), "200 characters once composed");
        assert_eq!(TagList::parse(&["Rene\u{301}e".to_owned()]).unwrap().into_inner(), ["Ren\u{e9}e"]);
    }

    #[test]
    fn names_may_have_200_characters_but_not_201() {
        assert!(MovieName::parse(&"é".repeat(200)).is_ok());
        assert!(MovieName::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn tag_lists_need_one_to_100_non_blank_entries() {
        let one = vec!["Drama".to_owned()];
        assert_eq!(TagList::parse(&one).unwrap().into_inner(), one);
        assert!(TagList::parse(&[]).is_err());
        assert!(TagList::parse(&["ok".to_owned(), "  ".to_owned()]).is_err());
        assert!(TagList::parse(&vec!["x".to_owned(); 100]).is_ok());
        assert!(TagList::parse(&vec!["x".to_owned(); 101]).is_err());
        assert!(TagList::parse(&["y".repeat(201)]).is_err());
    }

    #[test]
    fn a_rating_average_is_rounded_half_up_to_one_decimal_and_none_when_nobody_rated() {
        assert_eq!(Rating::from_half_stars(0, 0), Rating { average_tenths: None, count: 0 });
        assert_eq!(Rating::from_half_stars(7, 1).average_tenths, Some(35), "3.5");
        assert_eq!(Rating::from_half_stars(9, 2).average_tenths, Some(23), "2.25 rounds up to 2.3");
        assert_eq!(Rating::from_half_stars(10, 3).average_tenths, Some(17), "1.666 rounds to 1.7");
        assert_eq!(Rating::from_half_stars(4, 3).average_tenths, Some(7), "0.666 rounds to 0.7");
        let json = serde_json::to_value(Rating::from_half_stars(9, 2)).unwrap();
        assert_eq!(json, serde_json::json!({"average": 2.3, "count": 2}));
        assert_eq!(serde_json::to_value(Rating::default()).unwrap(), serde_json::json!({"average": null, "count": 0}));
    }

    #[test]
    fn years_runtimes_and_overviews_keep_to_their_ranges() {
        assert!(parse_year(1870).is_ok() && parse_year(2100).is_ok());
        assert!(parse_year(1869).is_err() && parse_year(2101).is_err());
        assert!(parse_runtime(1).is_ok() && parse_runtime(1440).is_ok());
        assert!(parse_runtime(0).is_err() && parse_runtime(1441).is_err() && parse_runtime(i64::MAX).is_err());
        assert_eq!(parse_overview("  ").unwrap(), None);
        assert_eq!(parse_overview(" a\r\nb\t ").unwrap().as_deref(), Some("a\nb"));
        assert!(parse_overview(&"x".repeat(2001)).is_err());
        assert!(parse_overview("bell\u{7}").is_err());
        assert!(parse_overview("over\u{202E}ride").is_err());
        assert_eq!(optional_tag_list(&[]).unwrap(), Vec::<String>::new());
        assert!(optional_tag_list(&[" ".to_owned()]).is_err());
    }

    #[test]
    fn tag_entries_are_trimmed() {
        let parsed = TagList::parse(&[" Al Pacino ".to_owned()]).unwrap();
        assert_eq!(parsed.into_inner(), vec!["Al Pacino".to_owned()]);
    }
}
