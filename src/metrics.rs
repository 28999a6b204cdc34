//! Prometheus metrics: requests by method, matched route and status, a latency histogram,
//! database pool use, and account events. Rendered in the text exposition format at `/metrics`.
//!
//! A small registry of our own rather than a global recorder: each server instance (tests run
//! many in one process) counts only its own traffic, and the hot path is one short lock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Count per bucket (not cumulative; made cumulative when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Account events worth alerting on.
#[derive(Debug, Clone, Copy)]
pub enum AuthEvent {
    Login,
    FailedLogin,
    /// One or more sessions revoked (logout, logout-all, refresh reuse, password change or reset).
    Revocation,
    /// A request authenticated by a personal access token.
    AccessTokenUsed,
    /// A sign-in completed with its second step (a code or a recovery code).
    MfaLogin,
    /// A second step refused: a wrong, reused or unreadable code, at sign-in or when turning
    /// two-step sign-in off.
    MfaFailure,
    /// A recovery code used (sign-in or turning two-step sign-in off).
    RecoveryCodeUsed,
}

/// Why an email with a verification link was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationEmail {
    Signup,
    Resend,
    EmailChange,
}

impl VerificationEmail {
    const ALL: [Self; 3] = [Self::Signup, Self::Resend, Self::EmailChange];

    fn label(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Resend => "resend",
            Self::EmailChange => "email_change",
        }
    }
}

/// What a used verification link did: proved the account's address, or changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Address,
    EmailChange,
}

impl Verification {
    const ALL: [Self; 2] = [Self::Address, Self::EmailChange];

    fn label(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::EmailChange => "email_change",
        }
    }
}

/// What `/metrics` reads from elsewhere at each scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Readings {
    pub pool: PoolUse,
    /// `None` when the outbox could not be read just now.
    pub emails: Option<MailCounts>,
    pub hashes_computed: u64,
    pub hashes_skipped: u64,
}

/// The email outbox's rows by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

/// Database pool figures at the moment of a scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolUse {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
    /// Writes handed to the SQLite writer whose requests wait for their commit (queued or being
    /// applied); 0 on PostgreSQL.
    pub writes_waiting: u32,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, Histogram>>,
    logins: AtomicU64,
    failed_logins: AtomicU64,
    revocations: AtomicU64,
    access_tokens_used: AtomicU64,
    mfa_logins: AtomicU64,
    mfa_failures: AtomicU64,
    recovery_codes_used: AtomicU64,
    /// By [`VerificationEmail`], in its `ALL` order.
    verification_emails: [AtomicU64; 3],
    /// By [`Verification`], in its `ALL` order.
    verifications: [AtomicU64; 2],
    backups: BackupReadings,
}

/// The scheduled backups' record (see [`crate::backup`]).
#[derive(Default)]
struct BackupReadings {
    /// Unix time of the last backup that passed its check; 0 before the first.
    last_success_at: AtomicU64,
    last_success_bytes: AtomicU64,
    last_success_millis: AtomicU64,
    failures: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let key = RequestKey { method: method.to_owned(), route: route.to_owned(), status };
        let mut requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let histogram = requests.entry(key).or_default();
        histogram.count += 1;
        histogram.sum_seconds += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[bucket] += 1;
        }
    }

    pub fn record(&self, event: AuthEvent) {
        let counter = match event {
            AuthEvent::Login => &self.logins,
            AuthEvent::FailedLogin => &self.failed_logins,
            AuthEvent::Revocation => &self.revocations,
            AuthEvent::AccessTokenUsed => &self.access_tokens_used,
            AuthEvent::MfaLogin => &self.mfa_logins,
            AuthEvent::MfaFailure => &self.mfa_failures,
            AuthEvent::RecoveryCodeUsed => &self.recovery_codes_used,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// An email with a verification link was queued (in the outbox: it goes out once the
    /// mail server takes it).
    pub fn verification_email_queued(&self, kind: VerificationEmail) {
        self.verification_emails[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A verification link was used.
    pub fn verification_completed(&self, kind: Verification) {
        self.verifications[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A scheduled backup that passed its check: when, how large, how long it took.
    pub fn backup_succeeded(&self, at_unix_seconds: u64, bytes: u64, took: Duration) {
        let backups = &self.backups;
        backups.last_success_bytes.store(bytes, Ordering::Relaxed);
        backups.last_success_millis.store(u64::try_from(took.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
        backups.last_success_at.store(at_unix_seconds, Ordering::Relaxed);
    }

    pub fn backup_failed(&self) {
        self.backups.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition of the counters kept here and of `others`, read just now.
    pub fn render(&self, others: &Readings) -> String {
        let Readings { pool, emails, hashes_computed, hashes_skipped } = *others;
        let requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP moviebag_http_requests_total HTTP requests by method, matched route and status.\n");
        out.push_str("# TYPE moviebag_http_requests_total counter\n");
        for (key, histogram) in &requests {
            let _ = writeln!(out, "moviebag_http_requests_total{{{}}} {}", labels(key), histogram.count);
        }
        out.push_str(
            "# HELP moviebag_http_request_duration_seconds Time to answer, by method, matched route and status.\n",
        );
        out.push_str("# TYPE moviebag_http_request_duration_seconds histogram\n");
        for (key, histogram) in &requests {
            let labels = labels(key);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "moviebag_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "moviebag_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(out, "moviebag_http_request_duration_seconds_sum{{{labels}}} {}", histogram.sum_seconds);
            let _ = writeln!(out, "moviebag_http_request_duration_seconds_count{{{labels}}} {}", histogram.count);
        }
        let backups = &self.backups;
        for (name, kind, help, value) in [
            (
                "moviebag_backup_last_success_timestamp_seconds",
                "gauge",
                "When the last scheduled backup that passed its integrity check finished (0: none yet).",
                &backups.last_success_at,
            ),
            (
                "moviebag_backup_last_success_bytes",
                "gauge",
                "Size of the last good scheduled backup.",
                &backups.last_success_bytes,
            ),
            (
                "moviebag_backup_last_success_duration_milliseconds",
                "gauge",
                "How long the last good scheduled backup took.",
                &backups.last_success_millis,
            ),
            ("moviebag_backup_failures_total", "counter", "Scheduled backups that failed.", &backups.failures),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", value.load(Ordering::Relaxed));
        }
        for (name, help, value) in [
            ("moviebag_logins_total", "Successful logins.", &self.logins),
            ("moviebag_failed_logins_total", "Failed logins (unknown email or wrong password).", &self.failed_logins),
            ("moviebag_session_revocations_total", "Revocations of one or all sessions.", &self.revocations),
            (
                "moviebag_access_tokens_used_total",
                "Requests authenticated by a personal access token.",
                &self.access_tokens_used,
            ),
            ("moviebag_mfa_logins_total", "Sign-ins completed with a second step.", &self.mfa_logins),
            (
                "moviebag_mfa_failures_total",
                "Second steps refused (wrong, reused or unreadable codes).",
                &self.mfa_failures,
            ),
            ("moviebag_recovery_codes_used_total", "Recovery codes used.", &self.recovery_codes_used),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        out.push_str(
            "# HELP moviebag_verification_emails_total Emails with a verification link queued, by why: \
             signup, resend, email_change.\n# TYPE moviebag_verification_emails_total counter\n",
        );
        for kind in VerificationEmail::ALL {
            let value = self.verification_emails[kind as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "moviebag_verification_emails_total{{kind=\"{}\"}} {value}", kind.label());
        }
        out.push_str(
            "# HELP moviebag_email_verifications_total Verification links used: an address proved \
             (address) or changed (email_change).\n# TYPE moviebag_email_verifications_total counter\n",
        );
        for kind in Verification::ALL {
            let value = self.verifications[kind as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "moviebag_email_verifications_total{{kind=\"{}\"}} {value}", kind.label());
        }
        for (name, help, value) in [
            ("moviebag_password_hashes_total", "Password hashes computed (signup, login, changes).", hashes_computed),
            (
                "moviebag_password_hashes_skipped_total",
                "Login and signup hashes not started because their client had gone.",
                hashes_skipped,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        for (name, help, value) in [
            ("moviebag_db_pool_connections_in_use", "Database connections executing a query.", pool.in_use),
            ("moviebag_db_pool_connections_idle", "Open database connections waiting for work.", pool.idle),
            ("moviebag_db_pool_connections_max", "Most connections the pools may open.", pool.max),
            (
                "moviebag_db_writes_waiting",
                "Writes queued for or being applied by the SQLite writer (0 on PostgreSQL).",
                pool.writes_waiting,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        if let Some(emails) = emails {
            out.push_str(
                "# HELP moviebag_emails Emails in the outbox: queued (waiting or retrying), sent, failed (given up).\n",
            );
            out.push_str("# TYPE moviebag_emails gauge\n");
            for (state, count) in [("queued", emails.queued), ("sent", emails.sent), ("failed", emails.failed)] {
                let _ = writeln!(out, "moviebag_emails{{state=\"{state}\"}} {count}");
            }
        }
        out
    }
}

fn labels(key: &RequestKey) -> String {
    format!("method=\"{}\",route=\"{}\",status=\"{}\"", escape(&key.method), escape(&key.route), key.status)
}

/// Label values escape backslash, quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status_with_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record_request("GET", "/api/movies/{id}", 200, Duration::from_micros(500));
        metrics.record_request("GET", "/api/movies/{id}", 200, Duration::from_millis(30));
        metrics.record_request("GET", "/api/movies/{id}", 404, Duration::from_millis(2));
        let text = metrics.render(&Readings::default());
        let ok = r#"method="GET",route="/api/movies/{id}",status="200""#;
        assert!(text.contains(&format!("moviebag_http_requests_total{{{ok}}} 2")), "{text}");
        assert!(text.contains(&format!("moviebag_http_request_duration_seconds_bucket{{{ok},le=\"0.001\"}} 1")));
        assert!(text.contains(&format!("moviebag_http_request_duration_seconds_bucket{{{ok},le=\"0.05\"}} 2")));
        assert!(text.contains(&format!("moviebag_http_request_duration_seconds_bucket{{{ok},le=\"+Inf\"}} 2")));
        assert!(text.contains(r#"status="404"} 1"#));
    }

    #[test]
    fn account_events_and_pool_use_are_reported() {
        let metrics = Metrics::default();
        metrics.record(AuthEvent::Login);
        metrics.record(AuthEvent::FailedLogin);
        metrics.record(AuthEvent::FailedLogin);
        metrics.record(AuthEvent::AccessTokenUsed);
        metrics.record(AuthEvent::MfaFailure);
        let text = metrics.render(&Readings {
            pool: PoolUse { in_use: 1, idle: 3, max: 5, writes_waiting: 2 },
            emails: Some(MailCounts { queued: 2, sent: 7, failed: 1 }),
            hashes_computed: 4,
            hashes_skipped: 0,
        });
        assert!(text.contains("moviebag_emails{state=\"queued\"} 2"), "{text}");
        assert!(text.contains("moviebag_emails{state=\"failed\"} 1"), "{text}");
        assert!(text.contains("moviebag_logins_total 1\n"));
        assert!(text.contains("moviebag_failed_logins_total 2\n"));
        assert!(text.contains("moviebag_session_revocations_total 0\n"));
        assert!(text.contains("moviebag_access_tokens_used_total 1\n"));
        assert!(text.contains("moviebag_mfa_failures_total 1\n"));
        assert!(text.contains("moviebag_mfa_logins_total 0\n"));
        assert!(text.contains("moviebag_db_pool_connections_idle 3\n"));
        assert!(text.contains("moviebag_db_writes_waiting 2\n"));
    }

    #[test]
    fn verification_emails_are_counted_by_kind_and_verifications_by_what_they_did() {
        let metrics = Metrics::default();
        metrics.verification_email_queued(VerificationEmail::Signup);
        metrics.verification_email_queued(VerificationEmail::EmailChange);
        metrics.verification_email_queued(VerificationEmail::EmailChange);
        metrics.verification_completed(Verification::Address);
        let text = metrics.render(&Readings::default());
        assert!(text.contains("moviebag_verification_emails_total{kind=\"signup\"} 1\n"), "{text}");
        assert!(text.contains("moviebag_verification_emails_total{kind=\"resend\"} 0\n"), "{text}");
        assert!(text.contains("moviebag_verification_emails_total{kind=\"email_change\"} 2\n"), "{text}");
        assert!(text.contains("moviebag_email_verifications_total{kind=\"address\"} 1\n"), "{text}");
        assert!(text.contains("moviebag_email_verifications_total{kind=\"email_change\"} 0\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
