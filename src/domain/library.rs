//! Each person's library: an entry per movie they keep, on their watchlist or watched, with a
//! half-star rating and the day they watched it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::{Movie, MovieId};

/// Where a movie stands in someone's library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LibraryStatus {
    Watchlist,
    Watched,
}

impl LibraryStatus {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "watchlist" => Ok(Self::Watchlist),
            "watched" => Ok(Self::Watched),
            _ => Err("must be watchlist or watched".to_owned()),
        }
    }

    /// As stored and as the JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watchlist => "watchlist",
            Self::Watched => "watched",
        }
    }
}

/// A rating in half stars: 1 (0.5 stars) to 10 (5 stars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HalfStars(u8);

impl HalfStars {
    /// From stars (0.5 to 5.0 in steps of 0.5), as the API and Letterboxd give them.
    pub fn from_stars(stars: f64) -> Result<Self, String> {
        let halves = stars * 2.0;
        if !(1.0..=10.0).contains(&halves) || halves.fract() != 0.0 {
            return Err("must be 0.5 to 5.0 in steps of 0.5".to_owned());
        }
        Ok(Self(halves as u8))
    }

    /// From the stored number of half stars.
    pub fn from_stored(halves: i64) -> Option<Self> {
        u8::try_from(halves).ok().filter(|h| (1..=10).contains(h)).map(Self)
    }

    pub fn halves(self) -> u8 {
        self.0
    }

    pub fn stars(self) -> f64 {
        f64::from(self.0) / 2.0
    }
}

impl Serialize for HalfStars {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.stars())
    }
}

/// A `watched_on` day, `YYYY-MM-DD`, a real calendar day of years 1000 to 9999 (so that the
/// text sorts as the calendar does).
pub fn parse_watched_on(raw: &str) -> Result<NaiveDate, String> {
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|day| raw.len() == 10 && (1000..=9999).contains(&chrono::Datelike::year(day)));
    day.ok_or_else(|| "must be a date YYYY-MM-DD".to_owned())
}

/// One movie in someone's library, with the movie as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LibraryEntry {
    #[schema(value_type = String)]
    pub movie_id: MovieId,
    pub status: LibraryStatus,
    /// Stars, 0.5 to 5.0 in steps of 0.5 (only on watched entries).
    #[schema(value_type = Option<f64>, required = true, minimum = 0.5, maximum = 5.0, example = 4.5)]
    pub rating: Option<HalfStars>,
    /// The day it was watched (only on watched entries).
    #[schema(value_type = Option<String>, required = true, format = Date, example = "2024-05-17")]
    pub watched_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub movie: Movie,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_stars_take_halves_from_half_to_five_and_nothing_else() {
        assert_eq!(HalfStars::from_stars(0.5).unwrap().halves(), 1);
        assert_eq!(HalfStars::from_stars(5.0).unwrap().halves(), 10);
        assert_eq!(HalfStars::from_stars(3.5).unwrap().stars(), 3.5);
        for bad in [0.0, 0.25, 5.5, -1.0, 4.2, f64::NAN, f64::INFINITY] {
            assert!(HalfStars::from_stars(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn watched_on_is_a_real_day_written_in_full() {
        assert!(parse_watched_on("2024-02-29").is_ok());
        for bad in ["2023-02-29", "2024-2-1", "24-01-01", "2024-01-01T00:00:00Z", "", "0999-01-01"] {
            assert!(parse_watched_on(bad).is_err(), "{bad}");
        }
    }
}
