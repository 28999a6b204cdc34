//! How both backends walk the catalogue for a listing: which index range drives the walk in
//! each order, the SQL of the walk and its filters (written once, with `$N` parameters), how a
//! total is counted, and how a name fragment is matched literally. Each backend adds its own way of matching names and binds the
//! values in its own types.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::records::{EntryKind, MovieCursor, MovieFilters, MovieQuery, MovieSort, SortKey};
use super::sql::movies::movie_row_of_m;
use crate::domain::{Movie, UserId};

/// The tag table of each list, and its entry column.
fn tag_table(kind: EntryKind) -> (&'static str, &'static str) {
    match kind {
        EntryKind::Genre => ("movie_genres", "genre"),
        EntryKind::Cast => ("movie_casts", "cast_name"),
        EntryKind::Director => ("movie_directors", "director"),
    }
}

/// The tag filters of `filters`, in the order they are tried for driving the walk.
fn tag_filters(filters: &MovieFilters) -> impl Iterator<Item = (EntryKind, &str)> {
    [(EntryKind::Genre, &filters.genre), (EntryKind::Cast, &filters.cast), (EntryKind::Director, &filters.director)]
        .into_iter()
        .filter_map(|(kind, value)| value.as_deref().map(|value| (kind, value)))
}

/// How a listing query is driven: which index range it walks, in which order.
///
/// `newest` and `oldest` with a genre, cast or director filter walk that entry's tag table
/// (one row per movie and entry, keyed by the entry and the movie's (created_at, id)), the
/// first of them given; else the movies table in (created_at, id) order (by owner when
/// `added_by` is given: the planner picks that index). The other orders walk their index on
/// movies (`title_key`, `year_key`, `rating_key`, each ending in (created_at, id)), and a tag
/// filter is a set the planner may start from when it is small. Every other filter is checked
/// on the rows the walk yields. Both stores build their SQL from this plan.
pub(crate) struct ListingPlan<'a> {
    pub from: String,
    /// The entry column and value of the tag table driving the walk.
    pub driving: Option<(&'static str, &'a str)>,
    /// The keyset, in order: the sort key's columns, then the time and id.
    pub keys: &'static [&'static str],
    pub descending: bool,
    /// Tag filters not driving the walk, and whether each is checked for the walk's row
    /// (`EXISTS` on the tag table's whole key) or as a set of movie ids.
    checks: Vec<(EntryKind, &'a str)>,
    checks_by_key: bool,
}

impl<'a> ListingPlan<'a> {
    pub fn for_query(query: &'a MovieQuery) -> Self {
        let filters = &query.filters;
        let (keys, descending): (&'static [&'static str], bool) = match query.sort {
            MovieSort::Newest | MovieSort::Oldest => (&["m.created_at", "m.id"], query.sort == MovieSort::Newest),
            MovieSort::Title => (&["m.title_key", "m.created_at", "m.id"], false),
            MovieSort::Year => (&["m.year_key", "m.created_at", "m.id"], true),
            MovieSort::Rating => (&["m.rating_key", "m.rating_count", "m.created_at", "m.id"], true),
        };
        let mut tags = tag_filters(filters);
        let by_time = matches!(query.sort, MovieSort::Newest | MovieSort::Oldest);
        match (by_time, tags.next()) {
            (true, Some((kind, value))) => {
                let (table, column) = tag_table(kind);
                Self {
                    from: format!("{table} t JOIN movies m ON m.id = t.movie_id"),
                    driving: Some((column, value)),
                    keys: &["t.created_at", "t.movie_id"],
                    descending,
                    checks: tags.collect(),
                    checks_by_key: true,
                }
            }
            (_, first) => Self {
                from: "movies m".to_owned(),
                driving: None,
                keys,
                descending,
                checks: first.into_iter().chain(tags).collect(),
                checks_by_key: by_time,
            },
        }
    }

    /// Where `movie` stands in the order of `sort`, for the cursor after it; `title_key` is
    /// the database's lowercased name (SQLite and PostgreSQL lowercase differently from Rust).
    /// The year and rating keys are computed as the generated columns compute them.
    pub fn cursor_of(sort: MovieSort, movie: &Movie, title_key: String) -> MovieCursor {
        let key = match sort {
            MovieSort::Newest | MovieSort::Oldest => SortKey::Time,
            MovieSort::Title => SortKey::Title(title_key),
            MovieSort::Year => SortKey::Year(movie.year.map_or(0, i64::from)),
            MovieSort::Rating => {
                SortKey::Rating(movie.rating.average_tenths.map_or(-1, i64::from), i64::from(movie.rating.count))
            }
        };
        MovieCursor { key, created_at: movie.created_at, id: movie.id.clone() }
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

    /// `SELECT` the movie columns, the lowercased name as `sort_title` and each key of the
    /// order as `sort_k0`, `sort_k1`... (and `extra_columns`) of the walk `plan` gives, after
    /// the cursor, with every filter of `query` but the name's, which each backend matches its
    /// own way.
    pub fn walk(query: &MovieQuery, plan: &ListingPlan<'_>) -> Self {
        let keys: Vec<String> = plan.keys.iter().enumerate().map(|(i, key)| format!(", {key} AS sort_k{i}")).collect();
        let select = format!("{}, m.title_key AS sort_title{}", movie_row_of_m!(), keys.concat());
        let mut sql = Self::filtered(&query.filters, plan, &select);
        if let Some(cursor) = &query.after {
            sql.push(format_args!(" AND ({}) {} (", plan.keys.join(", "), if plan.descending { "<" } else { ">" }));
            match &cursor.key {
                SortKey::Time => {}
                SortKey::Title(title) => {
                    sql.bind(ListingValue::Text(title.clone())).push(", ");
                }
                SortKey::Year(year) => {
                    sql.bind(ListingValue::Int(*year)).push(", ");
                }
                SortKey::Rating(average, count) => {
                    sql.bind(ListingValue::Int(*average)).push(", ").bind(ListingValue::Int(*count)).push(", ");
                }
            }
            sql.bind(ListingValue::Time(cursor.created_at)).push(", ");
            sql.bind(ListingValue::Text(cursor.id.to_string())).push(")");
        }
        sql
    }

    /// `SELECT count(*)` of the movies `filters` hold but the name's, over the walk `plan`
    /// gives (for the counts no kept count answers).
    pub fn count(filters: &MovieFilters, plan: &ListingPlan<'_>) -> Self {
        Self::filtered(filters, plan, "count(*)")
    }

    fn filtered(filters: &MovieFilters, plan: &ListingPlan<'_>, select: &str) -> Self {
        let mut sql = Self::default();
        sql.push(format_args!("SELECT {select} FROM {} WHERE TRUE", plan.from));
        if let Some((column, value)) = plan.driving {
            sql.push(format_args!(" AND t.{column} = lower(")).bind(ListingValue::Text(value.to_owned())).push(")");
        }
        for (kind, value) in &plan.checks {
            let (table, column) = tag_table(*kind);
            if plan.checks_by_key {
                sql.push(format_args!(" AND EXISTS (SELECT 1 FROM {table} c WHERE c.{column} = lower("))
                    .bind(ListingValue::Text((*value).to_owned()))
                    .push(") AND c.created_at = m.created_at AND c.movie_id = m.id)");
            } else {
                sql.push(format_args!(" AND m.id IN (SELECT c.movie_id FROM {table} c WHERE c.{column} = lower("))
                    .bind(ListingValue::Text((*value).to_owned()))
                    .push("))");
            }
        }
        if let Some(owner) = &filters.added_by {
            sql.push(" AND m.added_by = ").bind(ListingValue::Text(owner.to_string()));
        }
        if filters.year_from.is_some() || filters.year_to.is_some() {
            // A movie without a year has year_key 0, below every year.
            let from = filters.year_from.map_or(1, |year| i64::from(year).max(1));
            let to = filters.year_to.map_or(i64::from(i32::MAX), i64::from);
            sql.push(" AND m.year_key BETWEEN ")
                .bind(ListingValue::Int(from))
                .push(" AND ")
                .bind(ListingValue::Int(to));
        }
        sql
    }

    /// The order of `plan`, at most `limit`.
    pub fn order_and_limit(&mut self, plan: &ListingPlan<'_>, limit: u32) -> &mut Self {
        self.push(" ORDER BY ").push(order_by(plan.keys.iter().copied(), plan.descending)).push(" LIMIT ");
        self.bind(ListingValue::Int(i64::from(limit)))
    }
}

/// `a DESC, b DESC` (or ascending) over `columns`.
pub(crate) fn order_by<'c>(columns: impl Iterator<Item = &'c str>, descending: bool) -> String {
    let direction = if descending { " DESC" } else { "" };
    columns.map(|column| format!("{column}{direction}")).collect::<Vec<_>>().join(", ")
}

/// How a listing's total is found: a kept count when the filters are one that a count is kept
/// for, else counting the matches.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CountPlan<'a> {
    /// The whole catalogue (`movie_counts` scope '').
    Total,
    /// One owner's movies (`movie_counts` scope = the user id).
    Owner(&'a UserId),
    /// One genre, cast or director entry (`catalogue_entries`).
    Entry(EntryKind, &'a str),
    /// Anything else: count the rows the listing would walk.
    Matches,
}

impl<'a> CountPlan<'a> {
    pub fn for_filters(filters: &'a MovieFilters) -> Self {
        // Every field named, so that a new filter cannot be left out of this choice (the tag
        // filters are read through `tag_filters`).
        let MovieFilters { genre: _, cast: _, director: _, name_contains, added_by, year_from, year_to } = filters;
        let others = name_contains.is_some() || year_from.is_some() || year_to.is_some();
        let tags: Vec<(EntryKind, &str)> = tag_filters(filters).collect();
        match (tags.as_slice(), added_by, others) {
            ([], None, false) => Self::Total,
            ([], Some(owner), false) => Self::Owner(owner),
            ([(kind, value)], None, false) => Self::Entry(*kind, value),
            _ => Self::Matches,
        }
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
