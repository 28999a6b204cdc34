//! Account inputs: email address, password, role.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UserId;

/// The longest address SMTP can carry (RFC 5321 path limit).
const EMAIL_MAX_LEN: usize = 254;
const EMAIL_LOCAL_MAX_LEN: usize = 64;
/// Upper bound so a hash request cannot be made arbitrarily expensive.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// A syntactically valid email address, kept as given (surrounding spaces trimmed).
/// Equality for uniqueness and login uses [`Email::normalized`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        if email.is_empty() {
            return Err("must not be blank".into());
        }
        if email.len() > EMAIL_MAX_LEN {
            return Err(format!("must be at most {EMAIL_MAX_LEN} characters"));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("must be an email address like name@example.com".into());
        };
        if !is_valid_local_part(local) || !is_valid_domain(domain) {
            return Err("must be an email address like name@example.com".into());
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form compared for uniqueness: lowercased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

fn is_valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~.-";
    !local.is_empty()
        && local.len() <= EMAIL_LOCAL_MAX_LEN
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

/// A password that meets the rules, in Unicode normal form C: the same password typed on
/// another keyboard or system (`é` as one code point or as `e` and a combining accent) is the
/// same password. Never trimmed, never truncated: every byte of that form counts.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// The service's name, which attackers guessing passwords for it try first (ASVS V6.2.11).
const SERVICE_NAME: &str = "moviebag";

impl Password {
    /// A password its owner just proved (it matched their stored hash), taken as it is: it is
    /// already theirs, whatever today's rules say (an imported account's 6-character one).
    pub fn known(raw: &str) -> Self {
        Self(normalized(raw))
    }

    /// The rules that need no account: length, the common passwords, the service's name.
    /// [`Password::for_account`] adds the one that does.
    pub fn parse(raw: &str, min_chars: usize) -> Result<Self, String> {
        let password = normalized(raw);
        let chars = password.chars().count();
        if chars < min_chars {
            return Err(format!("must be at least {min_chars} characters"));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
        }
        if is_common_password(&password) {
            return Err("is one of the most common passwords: choose one that is harder to guess".into());
        }
        // "Movie-Bag", "movie bag", "movie_bag2024": separators do not hide the name.
        let letters: String = password.to_lowercase().chars().filter(|c| !matches!(c, '-' | '_' | '.' | ' ')).collect();
        if letters.contains(SERVICE_NAME) {
            return Err("must not contain the service's name (movie-bag)".into());
        }
        Ok(Self(password))
    }

    /// Refuses a password that is the account's email address, or its part before the `@`,
    /// ignoring case: the first thing anyone who knows the address tries.
    pub fn for_account(self, email: &str) -> Result<Self, String> {
        let password = self.0.trim().to_lowercase();
        let email = email.trim().to_lowercase();
        let local = email.rsplit_once('@').map_or(email.as_str(), |(local, _)| local);
        if password == email || password == local {
            return Err("must not be your email address or its part before the @".into());
        }
        Ok(self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `raw` in Unicode normal form C.
pub fn normalized(raw: &str) -> String {
    use unicode_normalization::{IsNormalized, UnicodeNormalization as _, is_nfc_quick};
    // Nearly every text a client sends is already NFC (all ASCII is): the quick check says so
    // without building the string again character by character.
    match is_nfc_quick(raw.chars()) {
        IsNormalized::Yes => raw.to_owned(),
        IsNormalized::No | IsNormalized::Maybe => raw.nfc().collect(),
    }
}

/// Whether `password` (ignoring case) is among the 10,000 most common passwords, which attackers
/// try first (NIST SP 800-63B 3.1.1.2 asks to refuse them). The list ships in the binary.
fn is_common_password(password: &str) -> bool {
    static COMMON: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    let common = COMMON.get_or_init(|| {
        include_str!("common_passwords.txt").lines().filter(|line| !line.starts_with('#') && !line.is_empty()).collect()
    });
    common.contains(password.to_lowercase().as_str())
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// What a user may do: `user` edits their own movies; `admin` edits any movie and manages users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "user" => Ok(Self::User),
            "admin" => Ok(Self::Admin),
            _ => Err("must be \"user\" or \"admin\"".into()),
        }
    }
}

/// A user account, without its password hash.
// The hash never leaves the store layer's `UserWithHash`, which only the auth service sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = String, example = "0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e")]
    pub id: UserId,
    #[schema(example = "ann@example.com")]
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// Whether the owner proved the address is theirs (the link emailed at signup or for a
    /// change); with `REQUIRE_VERIFIED_EMAIL` on, an unverified account writes nothing but its
    /// own account.
    pub email_verified: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["password", "PassWord", "12345678", "qwertyuiop", "baseball", "qqqqqq1"] {
            let refused = Password::parse(common, 6).unwrap_err();
            assert!(refused.contains("most common"), "{common}: {refused}");
        }
        assert!(Password::parse("correct horse battery", 8).is_ok());
    }

    #[test]
    fn ordinary_addresses_are_accepted_and_kept_as_typed() {
        for ok in ["a@b.co", "John.Doe+tag@Example.COM", "x_y-z@sub.domain.org", " pad@x.io "] {
            let email = Email::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
            assert_eq!(email.as_str(), ok.trim());
        }
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in [
            "",
            "   ",
            "plain",
            "@x.io",
            "a@",
            "a@b",
            "a@.io",
            "a@b..io",
            "a b@x.io",
            "a@@x.io",
            ".a@x.io",
            "a.@x.io",
            "a..b@x.io",
            "a@-x.io",
            "a@x-.io",
            "a@x.123",
            "<a>@x.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn addresses_longer_than_254_characters_are_rejected() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(63) + "." + &"c".repeat(63) + "." + &"d".repeat(63));
        assert!(long.len() > 254);
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn emails_compare_case_insensitively_through_their_normal_form() {
        let a = Email::parse("Ann@Example.com").unwrap();
        let b = Email::parse("ann@example.COM").unwrap();
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn passwords_count_characters_not_bytes_and_keep_every_byte() {
        assert!(Password::parse("short", 8).is_err());
        assert!(Password::parse("ééééééé", 8).is_err());
        assert!(Password::parse("éééééééé", 8).is_ok());
        let long = "x".repeat(200) + "  ";
        assert_eq!(Password::parse(&long, 8).unwrap().expose(), long);
        assert!(Password::parse(&"x".repeat(257), 8).is_err());
        assert!(Password::parse(&"x".repeat(256), 8).is_ok());
    }

    #[test]
    fn passwords_are_kept_in_normal_form_c_and_counted_there() {
        let decomposed = "cafe\u{301} au lait";
        let password = Password::parse(decomposed, 8).unwrap();
        assert_eq!(password.expose(), "caf\u{e9} au lait");
        assert_eq!(Password::known(decomposed).expose(), "caf\u{e9} au lait");
        // Five characters once composed, though six code points as typed.
        assert!(Password::parse("e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}", 6).is_err());
    }

    #[test]
    fn a_password_with_the_service_name_or_that_is_the_email_is_refused() {
        for named in ["movie-bag-2024", "MyMovieBagPass", "movie bag forever", "the_movie_bag", "xmoviebagx"] {
            assert!(Password::parse(named, 8).unwrap_err().contains("service's name"), "{named}");
        }
        let ok = |p: &str| Password::parse(p, 8).unwrap();
        assert!(ok("Ann.Lee@Example.com").for_account("ann.lee@example.com").is_err());
        assert!(ok("ANN@EXAMPLE.COM").for_account("ann@example.com").is_err());
        assert!(ok("ann.lee9").for_account("Ann.Lee9@example.com").is_err(), "the part before the @");
        assert!(ok("correct horse battery").for_account("ann@example.com").is_ok());
        assert!(ok("ann@example.com and more").for_account("ann@example.com").is_ok());
    }

    #[test]
    fn passwords_never_print() {
        let p = Password::parse("correct horse", 8).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn roles_parse_only_their_two_names() {
        assert_eq!(Role::parse("user"), Ok(Role::User));
        assert_eq!(Role::parse("admin"), Ok(Role::Admin));
        assert!(Role::parse("Admin").is_err());
        assert!(Role::parse("root").is_err());
    }
}
