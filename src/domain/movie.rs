//! Movie inputs: a name, and the lists of casts and genres.

const NAME_MAX_CHARS: usize = 200;
const TAG_MAX_CHARS: usize = 200;
/// The most entries a list (casts, genres) may have.
pub const TAGS_MAX: usize = 100;

/// A movie name: trimmed, non-blank, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieName(String);

impl MovieName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be blank".into());
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(format!("must be at most {NAME_MAX_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
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
        let entry = raw.trim();
        if entry.is_empty() {
            return Err("must not be blank".into());
        }
        if entry.chars().count() > TAG_MAX_CHARS {
            return Err(format!("must be at most {TAG_MAX_CHARS} characters"));
        }
        if entry.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(entry.to_owned())
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
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
    fn tag_entries_are_trimmed() {
        let parsed = TagList::parse(&[" Al Pacino ".to_owned()]).unwrap();
        assert_eq!(parsed.into_inner(), vec!["Al Pacino".to_owned()]);
    }
}
