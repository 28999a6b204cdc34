//! Account inputs: email address, password, role.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// A password that meets the length rules. Never trimmed, never truncated: every byte counts.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password its owner just proved (it matched their stored hash), taken as it is: it is
    /// already theirs, whatever today's rules say (an imported account's 6-character one).
    pub fn known(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn parse(raw: &str, min_chars: usize) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < min_chars {
            return Err(format!("must be at least {min_chars} characters"));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
        }
        if is_common_password(raw) {
            return Err("is one of the most common passwords: choose one that is harder to guess".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
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
