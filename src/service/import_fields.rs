//! What a movie document's `casts` and `genres` become under the API's rules (the domain's
//! `TagList`), for `movie-bag import`: fixed where the fix loses nothing a person would miss
//! (surrounding spaces trimmed, blank and repeated entries dropped, numbers imported as their
//! text), otherwise refused in the rule's own words, so that the movie is skipped rather than
//! stored as something the API would refuse (or, on PostgreSQL, a NUL failing the whole
//! import's transaction).

use serde_json::Value;

use crate::domain::{TAGS_MAX, TagList};
use crate::mongo_export::entry_text;

/// A list that was accepted, and what was fixed to make it so (for the report).
#[derive(Debug)]
pub struct FixedList {
    pub entries: Vec<String>,
    pub fixes: Vec<String>,
}

/// The `field` (`casts` or `genres`) of a movie document, or why the movie cannot be imported
/// (`its `casts` entry 3 must not contain control characters`).
pub fn tag_list(field: &str, value: Option<&Value>) -> Result<FixedList, String> {
    let entries = match value {
        Some(Value::Array(entries)) => entries,
        None => return Err(format!("it has no `{field}`")),
        Some(_) => return Err(format!("its `{field}` is not a list")),
    };
    let refused = |reason: String| format!("its `{field}` {reason}");
    let mut kept: Vec<String> = Vec::new();
    let (mut converted, mut dropped, mut repeated) = (0, 0, 0);
    for (i, entry) in entries.iter().enumerate() {
        let Some(text) = entry_text(entry).filter(|text| !text.trim().is_empty()) else {
            dropped += 1;
            continue;
        };
        let text = TagList::entry(&text).map_err(|reason| refused(format!("entry {i} {reason}")))?;
        if !entry.is_string() {
            converted += 1;
        }
        // A linear search: `kept` never holds more than TAGS_MAX + 1 entries (below).
        if kept.contains(&text) {
            repeated += 1;
            continue;
        }
        kept.push(text);
        if kept.len() > TAGS_MAX {
            // Refused whatever follows; stopping here bounds the work a huge list costs.
            break;
        }
    }
    let entries = TagList::parse(&kept).map_err(refused)?.into_inner();
    let mut fixes = Vec::new();
    if converted > 0 {
        fixes.push(format!("{converted} entries of `{field}` were not text; imported as their text"));
    }
    if dropped > 0 {
        fixes.push(format!("{dropped} entries of `{field}` were empty or not text; dropped"));
    }
    if repeated > 0 {
        fixes.push(format!("{repeated} entries of `{field}` repeated an earlier one; dropped"));
    }
    Ok(FixedList { entries, fixes })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_that_are_not_text_are_converted_or_dropped_and_repeats_dropped_with_a_fix_each() {
        let value = json!(["Al Pacino", 42, null, {"$numberLong": "7"}, "  ", {"x": 1}, " Al Pacino "]);
        let list = tag_list("casts", Some(&value)).unwrap();
        assert_eq!(list.entries, vec!["Al Pacino", "42", "7"]);
        assert_eq!(list.fixes.len(), 3, "{:?}", list.fixes);
        assert!(list.fixes[2].contains("1 entries of `casts` repeated"), "{:?}", list.fixes);
        assert!(tag_list("casts", Some(&json!(["Heat"]))).unwrap().fixes.is_empty());
    }

    #[test]
    fn a_list_the_api_would_refuse_is_refused_with_the_rule_and_the_entry_in_the_file() {
        let refused = |value: Value| tag_list("genres", Some(&value)).unwrap_err();
        assert_eq!(tag_list("genres", None).unwrap_err(), "it has no `genres`");
        assert_eq!(refused(json!("Drama")), "its `genres` is not a list");
        assert_eq!(refused(json!([])), "its `genres` must have at least one entry");
        assert_eq!(refused(json!([" ", null])), "its `genres` must have at least one entry");
        assert_eq!(refused(json!(["ok", null, "a\u{0}b"])), "its `genres` entry 2 must not contain control characters");
        assert_eq!(refused(json!(["a\u{7}"])), "its `genres` entry 0 must not contain control characters");
        assert_eq!(refused(json!(["x".repeat(5_000)])), "its `genres` entry 0 must be at most 200 characters");
        let many: Vec<String> = (0..10_000).map(|n| format!("Actor {n}")).collect();
        assert_eq!(refused(json!(many)), "its `genres` must have at most 100 entries");
        // Repeats do not count against the limit.
        let repeats: Vec<String> = (0..10_000).map(|n| format!("Actor {}", n % 100)).collect();
        assert_eq!(tag_list("genres", Some(&json!(repeats))).unwrap().entries.len(), 100);
    }
}
