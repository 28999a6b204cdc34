//! What a personal access token may do beyond reading: its scopes.

/// One write a token may be allowed. Every token reads what its user reads; none manages the
/// account or administers, whatever its scopes (`service::Actor::token_may`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Create, edit and delete its user's own movies and their posters.
    MoviesWrite,
    /// The writes of `/api/users/me/library`.
    LibraryWrite,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::MoviesWrite, Scope::LibraryWrite];

    pub fn name(self) -> &'static str {
        match self {
            Scope::MoviesWrite => "movies:write",
            Scope::LibraryWrite => "library:write",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.name() == raw)
    }
}

/// A token's scopes, each once, in [`Scope::ALL`]'s order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// The scopes a client asked for: each a known scope, none twice.
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut scopes = Vec::with_capacity(raw.len());
        for name in raw {
            let scope = Scope::parse(name)
                .ok_or_else(|| format!("'{name}' is not a scope: use movies:write or library:write"))?;
            if scopes.contains(&scope) {
                return Err(format!("'{name}' is given twice"));
            }
            scopes.push(scope);
        }
        scopes.sort();
        Ok(Self(scopes))
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|scope| scope.name()).collect()
    }

    /// As the database keeps them: names separated by spaces.
    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    /// Read back from the database; a name it does not know (written by a newer version) grants
    /// nothing.
    pub fn from_stored(stored: &str) -> Self {
        let mut scopes: Vec<Scope> = stored.split_whitespace().filter_map(Scope::parse).collect();
        scopes.sort();
        scopes.dedup();
        Self(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_each_known_name_once_and_round_trip_through_storage() {
        let parsed = Scopes::parse(&["library:write".into(), "movies:write".into()]).unwrap();
        assert_eq!(parsed.names(), ["movies:write", "library:write"]);
        assert_eq!(Scopes::from_stored(&parsed.to_stored()), parsed);
        assert!(Scopes::parse(&["admin".into()]).is_err());
        assert!(Scopes::parse(&["movies:write".into(), "movies:write".into()]).is_err());
        assert_eq!(Scopes::parse(&[]).unwrap(), Scopes::default());
        assert_eq!(Scopes::from_stored("movies:write future:scope"), Scopes(vec![Scope::MoviesWrite]));
    }
}
