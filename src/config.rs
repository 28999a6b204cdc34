//! Settings from the environment, a `.env` file and command-line flags.
//!
//! Every setting has a flag that mirrors its environment variable (`PORT` and `--port`); flags win,
//! then the real environment, then the `.env` file (which never overrides what is already set).
//! Secrets are wrapped in [`Secret`] so that `Debug` output and logs never show them.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;

/// A string that must never appear in logs: its `Debug` prints a placeholder, and it has no
/// `Display`, so it cannot be formatted into a message by accident; [`Secret::expose`] gives the
/// value to what needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Which database a `DATABASE_URL` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://path` (relative to the working directory) or `sqlite:///absolute/path`.
    Sqlite(String),
    /// `postgres://...` or `postgresql://...`.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:") {
            Ok(Self::Sqlite(url.to_owned()))
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err("unknown database scheme: use sqlite://path or postgres://...".to_owned())
        }
    }

    /// The file an SQLite URL points at (`None` for PostgreSQL or an in-memory database).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let Self::Sqlite(url) = self else { return None };
        let rest = url["sqlite:".len()..].trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" { None } else { Some(PathBuf::from(path)) }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Sqlite(url) | Self::Postgres(url) => url,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Parses a lifetime: plain seconds (`3600`) or a number with one unit of `s`, `m`, `h`, `d`
/// (`7d`, `1h`, `30m`).
pub fn parse_ttl(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (digits, unit_seconds) = match value.char_indices().last() {
        Some((i, 's')) => (&value[..i], 1),
        Some((i, 'm')) => (&value[..i], 60),
        Some((i, 'h')) => (&value[..i], 3600),
        Some((i, 'd')) => (&value[..i], 86_400),
        _ => (value, 1),
    };
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("'{value}' is not a lifetime: use seconds or a number with s, m, h or d"))?;
    let seconds = amount
        .checked_mul(unit_seconds)
        .filter(|s| *s > 0 && *s <= 10 * 365 * 86_400)
        .ok_or_else(|| format!("'{value}' must be between 1 second and 10 years"))?;
    Ok(Duration::from_secs(seconds))
}

/// A short pause that may be zero: `0s`, `5s`, `1500ms`, or plain seconds; at most 10 minutes.
pub fn parse_pause(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (digits, millis_per_unit) = if let Some(digits) = value.strip_suffix("ms") {
        (digits, 1)
    } else {
        (value.strip_suffix('s').unwrap_or(value), 1000)
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|amount| amount.checked_mul(millis_per_unit))
        .filter(|millis| *millis <= 600_000)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{value}' is not a pause: use 0s to 600s, or milliseconds with ms"))
}

fn parse_database_url(value: &str) -> Result<DatabaseUrl, String> {
    DatabaseUrl::parse(value)
}

/// One entry of `TRUSTED_PROXIES` (clap splits the list at its commas).
fn parse_ip_address(value: &str) -> Result<IpAddr, String> {
    value.trim().parse().map_err(|_| format!("'{value}' is not an IP address"))
}

/// Everything the server needs to know, from flags and environment, in groups by concern.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// `sqlite://path` (created if missing) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://movie-bag.db",
          value_parser = parse_database_url, global = true)]
    pub database_url: DatabaseUrl,

    #[command(flatten)]
    pub server: ServerSettings,

    #[command(flatten)]
    pub tokens: TokenSettings,

    #[command(flatten)]
    pub limits: LimitSettings,

    #[command(flatten)]
    pub mail: MailSettings,

    #[command(flatten)]
    pub backup: BackupSettings,
}

/// Where and how the server listens, and what it accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerSettings {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1", global = true)]
    pub host: String,

    /// Port to listen on; 0 picks a free one (the real port is logged).
    #[arg(long, env = "PORT", default_value_t = 5000, global = true)]
    pub port: u16,

    /// Base URL used in emailed links; defaults to `http://{HOST}:{PORT}`.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Origins allowed by CORS (comma-separated, `*` for any); unset sends no CORS headers.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 64 * 1024, global = true)]
    pub body_limit_bytes: usize,

    /// Largest accepted poster upload (`PUT /api/movies/{id}/poster`) in bytes: that route's
    /// own limit, in place of `BODY_LIMIT_BYTES` (which every other route keeps).
    #[arg(long, env = "POSTER_MAX_BYTES", default_value_t = 10 * 1024 * 1024, global = true)]
    pub poster_max_bytes: usize,

    /// Largest accepted library import (`POST /api/users/me/library/import`, a Letterboxd
    /// export's zip or CSV) in bytes: that route's own limit, in place of `BODY_LIMIT_BYTES`.
    #[arg(long, env = "IMPORT_MAX_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub import_max_bytes: usize,

    /// A request that takes longer is answered 503; a read stops there, a write still runs to its
    /// end (see `http::received`).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_ttl, global = true)]
    pub request_timeout: Duration,

    /// A client must send a request's whole head (request line and headers) within this time, or
    /// its connection is closed (slowloris).
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_ttl, global = true)]
    pub header_read_timeout: Duration,

    /// A request's body must arrive whole within this time, or it is answered 408 and its
    /// connection closed. A body still arriving holds none of the `MAX_CONCURRENT_REQUESTS`
    /// turns, so clients trickling bodies cannot keep others waiting.
    #[arg(long, env = "BODY_READ_TIMEOUT", default_value = "10s", value_parser = parse_ttl, global = true)]
    pub body_read_timeout: Duration,

    /// Requests served at once; more wait for a turn (within the request timeout).
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_concurrent_requests: u32,

    /// Connections held open at once; past it a new connection is answered 503 and closed at
    /// once while the open ones are served. Kept below the open-file limit (raised to its hard
    /// limit at start), so the server never runs out of descriptors.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections: u32,

    /// After SIGTERM or SIGINT, how long requests go on being served while `/ready` answers 503,
    /// so that a load balancer's health check stops sending new ones before the listener closes.
    #[arg(long, env = "SHUTDOWN_DRAIN", default_value = "0s", value_parser = parse_pause, global = true)]
    pub shutdown_drain: Duration,

    /// After the drain, how long in-flight requests may take to finish.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_ttl, global = true)]
    pub shutdown_timeout: Duration,

    /// `text` for people, `json` for log collectors.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_enum, global = true)]
    pub log_format: LogFormat,
}

impl ServerSettings {
    /// The base of links sent by email.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}:{}", self.host, self.port),
        }
    }
}

/// Signing, token lifetimes and password rules.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenSettings {
    /// HS256 signing key: at least 32 bytes, not a published one, not predictable (make one with
    /// `openssl rand -base64 48`). Unset with SQLite: generated once and kept beside the
    /// database file.
    #[arg(long, env = "JWT_SECRET_KEY", hide_env_values = true, global = true)]
    pub jwt_secret_key: Option<Secret>,

    /// Access token lifetime.
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "7d", value_parser = parse_ttl, global = true)]
    pub access_token_ttl: Duration,

    /// Refresh token (and session) lifetime.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_ttl, global = true)]
    pub refresh_token_ttl: Duration,

    /// Password reset token lifetime.
    #[arg(long, env = "RESET_TOKEN_TTL", default_value = "1h", value_parser = parse_ttl, global = true)]
    pub reset_token_ttl: Duration,

    /// Lifetime of the link emailed to verify an address (at signup, on request, for a change
    /// of address).
    #[arg(long, env = "VERIFY_TOKEN_TTL", default_value = "24h", value_parser = parse_ttl, global = true)]
    pub verify_token_ttl: Duration,

    /// Whether an account must verify its address before it writes anything but its own
    /// account (movies, posters, library): 403 `email_unverified` until then. Unset: on when
    /// `MAIL_SERVER` is set (the link can reach people), off otherwise.
    #[arg(long, env = "REQUIRE_VERIFIED_EMAIL", value_parser = BoolishValueParser::new(),
          action = clap::ArgAction::Set, global = true)]
    pub require_verified_email: Option<bool>,

    /// How long security events are kept (`GET /api/users/me/security-events`); older ones are
    /// deleted by the housekeeping loop.
    #[arg(long, env = "SECURITY_EVENT_RETENTION", default_value = "90d", value_parser = parse_ttl, global = true)]
    pub security_event_retention: Duration,

    /// Shortest accepted password, in characters.
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256), global = true)]
    pub password_min_length: u16,
}

/// Abuse limits and the bounds of internal queues.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitSettings {
    /// Requests per minute per client address on signup, login, refresh, forgot, reset, password
    /// change and account deletion, counted by every process sharing the database; 0 is off.
    #[arg(long, env = "AUTH_RATE_LIMIT_PER_MINUTE", default_value_t = 30, global = true)]
    pub auth_rate_limit_per_minute: u32,

    /// Consecutive unsuccessful password checks per account (logins, password changes, account
    /// deletions), from any number of addresses, before further ones are answered 429: then one
    /// an hour, and none after 100, until a success or a reset (addresses the account logged in
    /// from before are exempt, up to 1,000); 0 is off.
    #[arg(long, env = "ACCOUNT_FAILED_LOGIN_LIMIT", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(0..=100), global = true)]
    pub account_failed_login_limit: u32,

    /// Proxies whose `X-Forwarded-For` is believed (comma-separated IP addresses).
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_ip_address, global = true)]
    pub trusted_proxies: Vec<IpAddr>,

    /// Writes that may wait for the database at once (the SQLite writer's queue, PostgreSQL's
    /// create batcher); past it a write is answered 503 with `Retry-After`.
    #[arg(long, env = "WRITE_QUEUE_LIMIT", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub write_queue_limit: u32,

    /// Password hashes that may wait for a hashing thread; past it signup, login and password
    /// changes are answered 503 with `Retry-After`.
    #[arg(long, env = "HASH_QUEUE_LIMIT", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub hash_queue_limit: u32,

    /// Poster uploads that may wait for a poster thread (half the cores decode and resize);
    /// past it an upload is answered 503 with `Retry-After`.
    #[arg(long, env = "POSTER_QUEUE_LIMIT", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub poster_queue_limit: u32,

    /// SQLite reads that may wait for one of the scan permits (listings, searches, two per core);
    /// past it a listing is answered 503 with `Retry-After`.
    #[arg(long, env = "SCAN_QUEUE_LIMIT", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub scan_queue_limit: u32,

    /// Read-only SQLite connections open at once; a read that would need one more is answered
    /// 503 with `Retry-After`.
    #[arg(long, env = "SQLITE_READERS", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub sqlite_readers: u32,

    /// How long a request waits for the database (a pooled PostgreSQL connection, SQLite's lock
    /// held by another process) before it is answered 503 with `Retry-After`.
    #[arg(long, env = "DATABASE_TIMEOUT", default_value = "2s", value_parser = parse_ttl, global = true)]
    pub database_timeout: Duration,
}

/// Scheduled backups of the SQLite database while the server runs.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupSettings {
    /// Where scheduled backups go; unset: none are taken.
    #[arg(long, env = "BACKUP_DIR", global = true)]
    pub backup_dir: Option<std::path::PathBuf>,

    /// Time between scheduled backups (`6h`, `30m`, seconds).
    #[arg(long, env = "BACKUP_INTERVAL", default_value = "6h", value_parser = parse_ttl, global = true)]
    pub backup_interval: Duration,

    /// Scheduled backups kept; older ones are deleted.
    #[arg(long, env = "BACKUP_KEEP", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub backup_keep: u32,
}

/// Outgoing email.
#[derive(Debug, Clone, clap::Args)]
pub struct MailSettings {
    /// SMTP server; unset writes emails to the log instead.
    #[arg(id = "mail_server", long = "mail-server", env = "MAIL_SERVER", global = true)]
    pub server: Option<String>,

    #[arg(id = "mail_port", long = "mail-port", env = "MAIL_PORT", default_value_t = 25, global = true)]
    pub port: u16,

    #[arg(id = "mail_username", long = "mail-username", env = "MAIL_USERNAME", global = true)]
    pub username: Option<String>,

    #[arg(id = "mail_password", long = "mail-password", env = "MAIL_PASSWORD", hide_env_values = true, global = true)]
    pub password: Option<Secret>,

    /// STARTTLS on a plain connection.
    #[arg(id = "mail_use_tls", long = "mail-use-tls", env = "MAIL_USE_TLS", default_value = "false", value_parser = BoolishValueParser::new(),
          action = clap::ArgAction::Set, global = true)]
    pub use_tls: bool,

    /// TLS from the first byte (usually port 465).
    #[arg(id = "mail_use_ssl", long = "mail-use-ssl", env = "MAIL_USE_SSL", default_value = "false", value_parser = BoolishValueParser::new(),
          action = clap::ArgAction::Set, global = true)]
    pub use_ssl: bool,

    #[arg(
        id = "mail_sender",
        long = "mail-sender",
        env = "MAIL_SENDER",
        default_value = "support@movie-bag.local",
        global = true
    )]
    pub sender: String,

    /// How long an email that cannot be delivered is retried before it is given up (and logged
    /// as an error).
    #[arg(id = "mail_give_up_after", long = "mail-give-up-after", env = "MAIL_GIVE_UP_AFTER", default_value = "24h", value_parser = parse_ttl, global = true)]
    pub give_up_after: Duration,

    /// How long a sender holds the one email it is delivering before another sender may take it
    /// over; keep it longer than the SMTP timeout (20 s).
    #[arg(id = "mail_lease", long = "mail-lease", env = "MAIL_LEASE", default_value = "60s", value_parser = parse_ttl, global = true)]
    pub lease: Duration,
}

impl MailSettings {
    /// The SMTP server, when one is set (a blank `MAIL_SERVER` is none: emails go to the log).
    pub fn configured_server(&self) -> Option<&str> {
        self.server.as_deref().filter(|server| !server.trim().is_empty())
    }

    pub fn server_configured(&self) -> bool {
        self.configured_server().is_some()
    }
}

impl Settings {
    /// `REQUIRE_VERIFIED_EMAIL` as given, else whether emails are really sent.
    pub fn verified_email_required(&self) -> bool {
        self.tokens.require_verified_email.unwrap_or_else(|| self.mail.server_configured())
    }

    /// Builds settings from flags on top of the defaults and the environment (tests use it); a
    /// repeated flag takes its last value.
    pub fn from_flags<I, T>(flags: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        #[command(args_override_self = true)]
        struct Wrapper {
            #[command(flatten)]
            settings: Settings,
        }
        let args = std::iter::once("movie-bag".into()).chain(flags.into_iter().map(Into::into));
        <Wrapper as clap::Parser>::try_parse_from(args).map(|w| w.settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_accept_units_and_plain_seconds() {
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn lifetimes_reject_garbage_zero_and_overflow() {
        for bad in ["", "d", "7x", "-1", "0", "1.5h", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn pauses_may_be_zero_and_take_seconds_or_milliseconds() {
        assert_eq!(parse_pause("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_pause("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_pause("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_pause("2"), Ok(Duration::from_secs(2)));
        for bad in ["", "s", "-1s", "1.5s", "2m", "601s", "99999999999999999999s"] {
            assert!(parse_pause(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn database_urls_select_the_backend_by_scheme() {
        assert!(matches!(DatabaseUrl::parse("sqlite://movie-bag.db"), Ok(DatabaseUrl::Sqlite(_))));
        assert!(matches!(DatabaseUrl::parse("postgres://u@h/db"), Ok(DatabaseUrl::Postgres(_))));
        assert!(matches!(DatabaseUrl::parse("postgresql://u@h/db"), Ok(DatabaseUrl::Postgres(_))));
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
    }

    #[test]
    fn sqlite_paths_are_read_from_the_url() {
        let url = DatabaseUrl::parse("sqlite://data/movie-bag.db?mode=rwc").unwrap();
        assert_eq!(url.sqlite_path(), Some(PathBuf::from("data/movie-bag.db")));
        let url = DatabaseUrl::parse("sqlite:///var/lib/mb.db").unwrap();
        assert_eq!(url.sqlite_path(), Some(PathBuf::from("/var/lib/mb.db")));
    }

    #[test]
    fn verified_email_is_required_by_default_only_when_emails_are_really_sent() {
        let required = |flags: &[&str]| Settings::from_flags(flags.iter().copied()).unwrap().verified_email_required();
        assert!(!required(&[]));
        assert!(!required(&["--mail-server", " "]));
        assert!(required(&["--mail-server", "smtp.example.com"]));
        for (value, expected) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            assert_eq!(required(&["--require-verified-email", value]), expected, "{value}");
            assert_eq!(required(&["--mail-server", "smtp.example.com", "--require-verified-email", value]), expected);
        }
        assert!(Settings::from_flags(["--require-verified-email", "maybe"]).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
    }
}
