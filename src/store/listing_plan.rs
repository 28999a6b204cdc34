//! How both backends walk the catalogue for a listing: which index range drives the walk, the
//! SQL of the walk and its filters (written once, with `$N` parameters), and how a name
//! fragment is matched literally. Each backend adds its own way of matching names and binds the
//! values in its own types.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::records::MovieQuery;
use super::sql::movies::movie_columns_of_m;

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

/// A value a listing binds; each backend turns it into its own type.
#[derive(Debug, Clone)]
pub(crate) enum ListingValue {
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

/// Listing SQL with its `$N` parameters, built in step: which filters a listing has decides
/// which conditions it holds.
#[derive(Debug, Default)]
pub(crate) struct ListingSql {
    pub text: String,
    pub values: Vec<ListingValue>,
}

impl ListingSql {
    pub fn push(&mut self, text: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.text, "{text}");
        self
    }

    pub fn bind(&mut self, value: ListingValue) -> &mut Self {
        self.values.push(value);
        let _ = write!(self.text, "${}", self.values.len());
        self
    }

    /// `SELECT` the movie columns (and `extra_columns`) of the walk `plan` gives, with every
    /// filter of `query` but the name's, which each backend matches its own way.
    pub fn walk(query: &MovieQuery, plan: &ListingPlan<'_>, extra_columns: &str) -> Self {
        let mut sql = Self::default();
        sql.push(format_args!("SELECT {}{extra_columns} FROM {} WHERE TRUE", movie_columns_of_m!(), plan.from));
        if let Some(value) = plan.driving_value {
            sql.push(format_args!(" AND {} = lower(", plan.driving_column))
                .bind(ListingValue::Text(value.to_owned()))
                .push(")");
        }
        if let Some(cursor) = &query.after {
            sql.push(format_args!(" AND ({}, {}) < (", plan.order_at, plan.order_id));
            sql.bind(ListingValue::Time(cursor.created_at)).push(", ");
            sql.bind(ListingValue::Text(cursor.id.to_string())).push(")");
        }
        if let Some(cast) = plan.cast_check {
            sql.push(" AND EXISTS (SELECT 1 FROM movie_casts c WHERE c.cast_name = lower(")
                .bind(ListingValue::Text(cast.to_owned()))
                .push(") AND c.created_at = m.created_at AND c.movie_id = m.id)");
        }
        if let Some(owner) = &query.added_by {
            sql.push(" AND m.added_by = ").bind(ListingValue::Text(owner.to_string()));
        }
        sql
    }

    /// Newest first, at most `limit`.
    pub fn order_and_limit(&mut self, plan: &ListingPlan<'_>, limit: u32) -> &mut Self {
        self.push(format_args!(" ORDER BY {} DESC, {} DESC LIMIT ", plan.order_at, plan.order_id));
        self.bind(ListingValue::Int(i64::from(limit)))
    }
}

/// The `LIKE` pattern that finds `fragment` anywhere in a lower-cased name, literally.
pub(crate) fn contains_pattern(fragment: &str) -> String {
    format!("%{}%", escape_like(&fragment.to_lowercase()))
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
