//! How both backends walk the catalogue for a listing: which index range drives the walk, and
//! how a name fragment is matched literally.

use super::records::MovieQuery;

/// How a listing query is driven: which index range it walks, in (created_at, id) order.
///
/// A genre filter walks `movie_genres`, else a cast filter walks `movie_casts`, else the movies
/// table itself (by owner when `added_by` is given: the planner picks that index). Every other
/// filter is checked on the rows the walk yields. Both stores build their SQL from this plan.
pub(crate) struct ListingPlan<'a> {
    pub from: &'static str,
    pub driving_column: &'static str,
    pub driving_value: Option<&'a str>,
    pub order_at: &'static str,
    pub order_id: &'static str,
    /// A cast filter that is not driving the walk.
    pub cast_check: Option<&'a str>,
}

impl<'a> ListingPlan<'a> {
    pub fn for_query(query: &'a MovieQuery) -> Self {
        match (query.genre.as_deref(), query.cast.as_deref()) {
            (Some(genre), cast) => Self {
                from: "movie_genres t JOIN movies m ON m.id = t.movie_id",
                driving_column: "t.genre",
                driving_value: Some(genre),
                order_at: "t.created_at",
                order_id: "t.movie_id",
                cast_check: cast,
            },
            (None, Some(cast)) => Self {
                from: "movie_casts t JOIN movies m ON m.id = t.movie_id",
                driving_column: "t.cast_name",
                driving_value: Some(cast),
                order_at: "t.created_at",
                order_id: "t.movie_id",
                cast_check: None,
            },
            (None, None) => Self {
                from: "movies m",
                driving_column: "",
                driving_value: None,
                order_at: "m.created_at",
                order_id: "m.id",
                cast_check: None,
            },
        }
    }
}

/// Escapes `%`, `_` and `\` so a LIKE pattern matches them literally (with `ESCAPE '\'`).
pub(crate) fn escape_like(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
        assert_eq!(escape_like("plain"), "plain");
    }
}
