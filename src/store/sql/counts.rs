//! The kept counts: the catalogue's total and each owner's (`movie_counts`), and each genre,
//! cast and director entry's (`catalogue_entries`), which the browsing endpoints list. The
//! triggers of migrations 0006 (SQLite) and 0010 (PostgreSQL) keep them in step with movies.

use crate::store::statement::Sql;

/// `$1` the scope: `''` for the whole catalogue, else an owner's user id. PostgreSQL spreads
/// the total over stripes, so a scope is the sum of its rows.
pub static MOVIES_IN_SCOPE: Sql =
    Sql::new("SELECT CAST(coalesce(sum(movies), 0) AS BIGINT) FROM movie_counts WHERE scope = $1");

/// `$1` the kind, `$2` the entry as given (lowercased here, as the filters lowercase it).
pub static MOVIES_OF_ENTRY: Sql = Sql::new(
    "SELECT CAST(coalesce(max(movies), 0) AS BIGINT) FROM catalogue_entries WHERE kind = $1 AND entry = lower($2)",
);

/// `$1` the kind, `$2` how many.
pub static MOST_USED_ENTRIES: Sql = Sql::new(
    "SELECT label, movies FROM catalogue_entries WHERE kind = $1 AND movies > 0
     ORDER BY movies DESC, entry LIMIT $2",
);

/// `$1` the kind, `$2` the prefix as given, `$3` the greatest character (so that `[prefix,
/// prefix || $3)` is every text that starts with the prefix, in code point order), `$4` how
/// many. An entry matches when it or any of its words starts with the prefix; both are index
/// ranges.
pub static ENTRIES_STARTING_WITH: Sql = Sql::new(
    "SELECT label, movies FROM catalogue_entries WHERE kind = $1 AND movies > 0 AND entry IN (
         SELECT entry FROM catalogue_entries WHERE kind = $1 AND entry >= lower($2) AND entry < lower($2) || $3
         UNION
         SELECT entry FROM catalogue_entry_words WHERE kind = $1 AND word >= lower($2) AND word < lower($2) || $3)
     ORDER BY movies DESC, entry LIMIT $4",
);

/// The same from the `$4` most used entries alone: `$2` is `prefix%` and `$3` `% prefix%`
/// (LIKE patterns, the prefix escaped), so an entry matches when it starts with the prefix or a
/// word of it does (words are split on spaces, as `catalogue_entry_words` splits them), `$5`
/// how many. A short prefix matches thousands of entries, whose most used are all among the
/// first few hundred: this finds them without gathering and sorting every match, and a rare
/// prefix, which finds fewer here than asked, is answered by [`ENTRIES_STARTING_WITH`].
pub static MOST_USED_STARTING_WITH: Sql = Sql::new(
    "SELECT label, movies FROM (
         SELECT entry, label, movies FROM catalogue_entries WHERE kind = $1 AND movies > 0
         ORDER BY movies DESC, entry LIMIT $4) top
     WHERE top.entry LIKE lower($2) ESCAPE '\\' OR top.entry LIKE lower($3) ESCAPE '\\'
     ORDER BY movies DESC, entry LIMIT $5",
);

/// How many of the most used entries [`MOST_USED_STARTING_WITH`] looks through.
pub const MOST_USED_WINDOW: i64 = 1000;

/// The patterns of [`MOST_USED_STARTING_WITH`] for `prefix`.
pub fn starting_patterns(prefix: &str) -> (String, String) {
    let escaped = crate::store::listing_plan::escape_like(prefix);
    (format!("{escaped}%"), format!("% {escaped}%"))
}

/// What follows every prefix in code point order (and so in UTF-8 byte order).
pub const PAST_EVERY_PREFIX: &str = "\u{10FFFF}";

#[cfg(test)]
pub static ALL: &[&Sql] =
    &[&MOVIES_IN_SCOPE, &MOVIES_OF_ENTRY, &MOST_USED_ENTRIES, &MOST_USED_STARTING_WITH, &ENTRIES_STARTING_WITH];
