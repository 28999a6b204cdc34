//! Ids, one type per thing they name: a movie id cannot be passed where a user id belongs.
//!
//! Ids are opaque strings to clients (time-ordered UUIDs, v7). One that a client sends is
//! parsed with [`MovieId::parse`] and the like: a string that could never name a row (empty,
//! over 64 bytes, or holding a NUL that PostgreSQL would refuse) is no id, and its request is
//! answered "not found" without a query. They serialise as plain strings.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The id a client sent, when it could name a row.
            pub fn parse(raw: &str) -> Option<Self> {
                (!raw.is_empty() && raw.len() <= 64 && !raw.contains('\0')).then(|| Self(raw.to_owned()))
            }

            /// An id taken as it is: read from the database, or already checked by the caller.
            pub fn from_stored(stored: String) -> Self {
                Self(stored)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

id_type!(
    /// The id of a movie.
    MovieId
);
id_type!(
    /// The id of a user account.
    UserId
);
id_type!(
    /// The id of a session (a login), which its access tokens name.
    SessionId
);
id_type!(
    /// The id of a personal access token (not the token: the id names it in lists and URLs).
    AccessTokenId
);

/// What the database keeps instead of a refresh or reset token: its SHA-256, hex (made by
/// `auth::secret_token::hash`). A type of its own, so that a token cannot be stored where its
/// hash belongs, nor looked up as one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Wraps a digest already computed; only the token hasher calls this.
    pub(crate) fn from_hex_digest(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_never_name_a_row_do_not_parse() {
        assert!(MovieId::parse("").is_none());
        assert!(MovieId::parse(&"a".repeat(65)).is_none());
        assert!(UserId::parse("a\0b").is_none());
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
    }
}
