//! Abuse from outside: slow clients, forged headers, hostile input that must change nothing.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::backend_tests;
use crate::helpers::{PASSWORD, Reply, TestApp, read};
use crate::password_reset::{MAIL_WAIT, app_with_mail, forgot, reset};
use crate::smtp::SmtpServer;

/// A login as if from `client`, through a trusted proxy on loopback.
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Reply {
    let request = app.client.post(app.url("/api/auth/login")).header("x-forwarded-for", client);
    read(request.json(&json!({"email": email, "password": password})).send().await.unwrap()).await
}

/// The admins' rows held by another client of the database until dropped: on PostgreSQL locked
/// `FOR UPDATE` in an open transaction, on SQLite under the write lock (its single writer is what
/// makes one request see the other's change).
#[allow(dead_code)]
enum AdminRowsHeld {
    Sqlite(rusqlite::Connection),
    /// The holding connection, and one that watches who waits: outside any transaction, so that
    /// each look at `pg_stat_activity` is a fresh one.
    Postgres(sqlx::PgConnection, sqlx::PgConnection),
}

async fn hold_admin_rows(app: &TestApp) -> AdminRowsHeld {
    use sqlx::Connection as _;
    match app.database.url.strip_prefix("sqlite://") {
        Some(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            AdminRowsHeld::Sqlite(conn)
        }
        None => {
            let mut conn = sqlx::PgConnection::connect(&app.database.url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("SELECT id FROM users WHERE role = 'admin' FOR UPDATE").execute(&mut conn).await.unwrap();
            let observer = sqlx::PgConnection::connect(&app.database.url).await.unwrap();
            AdminRowsHeld::Postgres(conn, observer)
        }
    }
}

async fn release(held: AdminRowsHeld) {
    match held {
        AdminRowsHeld::Sqlite(conn) => conn.execute_batch("ROLLBACK").unwrap(),
        AdminRowsHeld::Postgres(mut conn, _) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        }
    }
}

/// How many requests wait on the held rows: PostgreSQL sessions of this database waiting for a
/// lock in a statement on roles (the admin lock, or the guarded update itself), or writes in the
/// SQLite writer's hands.
async fn waiting_on(app: &TestApp, held: &mut AdminRowsHeld) -> i64 {
    match held {
        AdminRowsHeld::Sqlite(_) => i64::from(app.state.store.pool_use().writes_waiting),
        AdminRowsHeld::Postgres(_, observer) => sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query ILIKE '%role%'",
        )
        .fetch_one(observer)
        .await
        .unwrap(),
    }
}

/// Two admins, the only ones, each send `request(other's id)` while the admins' rows are held,
/// so that both requests are inside the database before either can finish; then the rows are
/// released. Exactly one request succeeds, the other is refused as the last admin's, and one
/// admin remains. Five rounds, each with two fresh admins.
async fn admins_racing(
    backend: crate::helpers::Backend,
    request: impl Fn(&str) -> (Method, String, Option<serde_json::Value>),
) {
    // Long enough that a request waiting on the held rows is never cut off by a timeout.
    let app = TestApp::builder(backend).flag("--database-timeout", "60s").spawn().await;
    let mut previous: Vec<crate::helpers::TestUser> = Vec::new();
    for round in 0..5 {
        let (first, second) = (app.new_admin().await, app.new_admin().await);
        // Only these two are admins this round: the one left by the last round steps down.
        for user in &previous {
            let path = format!("/api/users/{}", user.id);
            let _ = app.send(Method::PATCH, &path, Some(json!({"role": "user"})), Some(&first.token)).await;
        }
        let mut held = hold_admin_rows(&app).await;
        let before = waiting_on(&app, &mut held).await;
        let (m1, p1, b1) = request(&second.id);
        let (m2, p2, b2) = request(&first.id);
        let first_request = app.send(m1, &p1, b1, Some(&first.token));
        let second_request = app.send(m2, &p2, b2, Some(&second.token));
        let release = async {
            let both_in = async {
                while waiting_on(&app, &mut held).await < before + 2 {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(30), both_in)
                .await
                .unwrap_or_else(|_| panic!("round {round}: the two requests never both waited in the database"));
            release(held).await;
        };
        let (a, b, ()) = futures_util::future::join3(first_request, second_request, release).await;
        let statuses = [a.status.as_u16(), b.status.as_u16()];
        let ok = |status: u16| status == 200 || status == 204;
        assert_eq!(
            statuses.iter().filter(|s| ok(**s)).count(),
            1,
            "round {round}: {statuses:?} ({}, {})",
            a.body,
            b.body
        );
        let refused = if ok(statuses[0]) { &b } else { &a };
        refused.assert_error(409, "conflict");
        let admins = app.database.select_count("SELECT count(*) FROM users WHERE role = 'admin'").await;
        assert_eq!(admins, 1, "round {round}: answers {statuses:?} left {admins} admins");
        let admin: String = app.database.select_one("SELECT id FROM users WHERE role = 'admin'", &[]).await;
        previous = [first, second].into_iter().filter(|u| u.id == admin).collect();
    }
}

backend_tests! {
    async fn a_connection_that_does_not_finish_its_request_head_in_time_is_closed(backend) {
        let app = TestApp::builder(backend).flag("--header-read-timeout", "1s").spawn().await;
        let host = app.address.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let started = Instant::now();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        // A slowloris client dribbles a header byte now and then, never ending the head.
        let mut closed = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(b"X").await.is_err() {
                closed = true;
                break;
            }
        }
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        closed = closed || matches!(read, Ok(Ok(_)) | Ok(Err(_)));
        assert!(closed, "the connection stayed open");
        assert!(started.elapsed() < Duration::from_secs(6), "closed only after {:?}", started.elapsed());
        // The server itself is fine.
        app.get("/health", None).await.assert_status(200);
    }
}

backend_tests! {
    async fn a_pending_reset_token_dies_when_the_password_changes_and_the_owner_is_told_by_email(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        let body = json!({"current_password": PASSWORD, "new_password": "a changed passphrase"});
        app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await.assert_status(204);
        let notice = smtp.next_mail(MAIL_WAIT).await.expect("a password change is emailed to the owner");
        assert_eq!(notice.recipients, vec![user.email.clone()]);
        assert!(notice.text().contains("password of your movie-bag account was just changed"), "{}", notice.text());
        reset(&app, &token, "the thief's passphrase").await.assert_error(400, "bad_request");
        app.login(&user.email, "the thief's passphrase").await.assert_error(401, "unauthorized");
        app.login(&user.email, "a changed passphrase").await.assert_status(200);
    }

    async fn forgot_sends_at_most_three_emails_an_hour_to_one_account_and_answers_unknown_emails_identically(backend) {
        // That known and unknown emails take as long is measured by scripts/bench-timing.sh.
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(forgot(&app, &user.email).await);
        }
        let mut received = 0;
        while smtp.next_mail(std::time::Duration::from_millis(1500)).await.is_some() {
            received += 1;
        }
        assert_eq!(received, 3, "reset emails sent to one account within the hour");
        for i in 0..5 {
            answers.push(forgot(&app, &format!("nobody-{i}@example.com")).await);
        }
        // Whether the account exists, and whether its allowance is used up, shows nowhere in the
        // answer: same status, same body, same headers but the per-request ones.
        let shown = |reply: &Reply| {
            let mut headers: Vec<(String, String)> = reply.headers.iter()
                .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
                .collect();
            headers.sort();
            (reply.status.as_u16(), reply.body.clone(), headers)
        };
        let first = shown(&answers[0]);
        assert_eq!(first.0, 202);
        for (i, answer) in answers.iter().enumerate() {
            assert_eq!(shown(answer), first, "answer {i} differs from the first");
        }
    }

    async fn common_passwords_are_refused_at_signup_change_and_reset_with_a_field_error(backend) {
        let app = TestApp::spawn(backend).await;
        let signup = app.signup("common@example.com", "Password1").await;
        signup.assert_error(400, "validation_failed");
        assert!(signup.body["errors"]["password"][0].as_str().unwrap().contains("common"), "{}", signup.body);
        let user = app.new_user().await;
        let body = json!({"current_password": PASSWORD, "new_password": "qwertyuiop"});
        let change = app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await;
        change.assert_error(400, "validation_failed");
        assert!(change.body["errors"]["new_password"][0].as_str().unwrap().contains("common"));
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        let reset = reset(&app, "whatever-token", "baseball").await;
        reset.assert_error(400, "validation_failed");
        assert!(reset.body["errors"]["password"].is_array());
    }

    async fn the_last_admin_cannot_demote_or_delete_themselves_and_an_admin_deletes_their_own_account_only_with_a_password(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let own = format!("/api/users/{}", admin.id);
        app.send(Method::PATCH, &own, Some(json!({"role": "user"})), Some(&admin.token)).await.assert_error(409, "conflict");
        app.send(Method::DELETE, &own, None, Some(&admin.token)).await.assert_error(403, "forbidden");
        app.send(Method::DELETE, "/api/users/me", Some(json!({"password": PASSWORD})), Some(&admin.token))
            .await.assert_error(409, "conflict");
        let users = app.get("/api/users", Some(&admin.token)).await;
        assert_eq!(users.body[0]["role"], "admin", "nothing changed: {}", users.body);
        // With a second admin, the first may step down.
        let second = app.new_admin().await;
        app.send(Method::PATCH, &own, Some(json!({"role": "user"})), Some(&admin.token)).await.assert_status(200);
        app.send(Method::DELETE, &format!("/api/users/{}", second.id), None, Some(&second.token)).await.assert_error(403, "forbidden");
        app.get("/api/users", Some(&second.token)).await.assert_status(200);
    }

    async fn two_admins_demoting_each_other_while_both_requests_are_in_the_database_leave_one_admin(backend) {
        admins_racing(backend, |other| (Method::PATCH, format!("/api/users/{other}"), Some(json!({"role": "user"})))).await;
    }

    async fn two_admins_deleting_each_other_while_both_requests_are_in_the_database_leave_one_admin(backend) {
        admins_racing(backend, |other| (Method::DELETE, format!("/api/users/{other}"), None)).await;
    }

    async fn password_checking_endpoints_are_rate_limited_per_client(backend) {
        let app = TestApp::builder(backend).flag("--auth-rate-limit-per-minute", "3").spawn().await;
        // Signup and login take two of the three.
        let user = app.new_user().await;
        let wrong = json!({"current_password": "not it at all", "new_password": "another fine passphrase"});
        app.send(Method::PUT, "/api/auth/password", Some(wrong.clone()), Some(&user.token)).await.assert_error(400, "validation_failed");
        let limited = app.send(Method::PUT, "/api/auth/password", Some(wrong), Some(&user.token)).await;
        limited.assert_error(429, "rate_limited");
        assert!(limited.header("retry-after").is_some());
        app.send(Method::DELETE, "/api/users/me", Some(json!({"password": "guess"})), Some(&user.token))
            .await.assert_error(429, "rate_limited");
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
    }

    async fn failed_logins_on_one_account_from_many_addresses_are_throttled_but_the_owner_still_gets_in(backend) {
        let app = TestApp::builder(backend)
            .flag("--trusted-proxies", "127.0.0.1")
            .flag("--account-failed-login-limit", "5")
            .spawn().await;
        let user = app.new_user().await;
        login_from(&app, "198.51.100.1", &user.email, PASSWORD).await.assert_status(200);
        for i in 0..5 {
            login_from(&app, &format!("203.0.113.{i}"), &user.email, "wrong guess").await.assert_error(401, "unauthorized");
        }
        let throttled = login_from(&app, "203.0.113.200", &user.email, PASSWORD).await;
        throttled.assert_error(429, "rate_limited");
        assert!(throttled.header("retry-after").is_some());
        // The owner, from where they logged in before, is not locked out.
        login_from(&app, "198.51.100.1", &user.email, PASSWORD).await.assert_status(200);
    }

    async fn rate_limit_keys_fold_ipv6_to_a_slash_64_and_do_not_trust_entries_left_of_junk(backend) {
        let app = TestApp::builder(backend)
            .flag("--trusted-proxies", "127.0.0.1")
            .flag("--auth-rate-limit-per-minute", "1")
            .spawn().await;
        login_from(&app, "2001:db8:7:7::1", "a@example.com", "x").await.assert_error(401, "unauthorized");
        login_from(&app, "[2001:db8:7:7::2]:5555", "a@example.com", "x").await.assert_error(429, "rate_limited");
        // A client writing a fresh address left of what the proxy appended gains nothing.
        login_from(&app, "10.9.9.9, unknown", "a@example.com", "x").await.assert_error(401, "unauthorized");
        login_from(&app, "10.9.9.10, unknown", "a@example.com", "x").await.assert_error(429, "rate_limited");
    }

    async fn on_a_dual_stack_listener_a_trusted_proxy_written_as_ipv4_is_recognised(backend) {
        let app = TestApp::builder(backend)
            .flag("--host", "::")
            .flag("--trusted-proxies", "127.0.0.1")
            .flag("--auth-rate-limit-per-minute", "1")
            .spawn().await;
        // The proxy's connections arrive as ::ffff:127.0.0.1; its X-Forwarded-For is believed,
        // so two clients behind it have a budget each.
        login_from(&app, "198.51.100.7", "a@example.com", "x").await.assert_error(401, "unauthorized");
        login_from(&app, "198.51.100.8", "a@example.com", "x").await.assert_error(401, "unauthorized");
        login_from(&app, "198.51.100.8", "a@example.com", "x").await.assert_error(429, "rate_limited");
    }

    async fn a_forged_cursor_far_outside_time_is_a_400(backend) {
        use base64::Engine as _;
        let app = TestApp::spawn(backend).await;
        for micros in ["8000000000000000000", "-8000000000000000000", "253402300800000001"] {
            let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{micros}.0193a1f0-7b5c"));
            app.get(&format!("/api/movies?after={cursor}"), None).await.assert_error(400, "validation_failed");
        }
    }

    async fn made_up_methods_fold_into_one_metrics_label(backend) {
        let app = TestApp::spawn(backend).await;
        for i in 0..50 {
            let method = Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
            let _ = app.client.request(method, app.url("/api/movies")).send().await.unwrap();
        }
        let metrics = app.get("/metrics", None).await.body.as_str().unwrap().to_owned();
        assert!(!metrics.contains("FOO"), "a made-up method became a label");
        assert!(metrics.contains("method=\"OTHER\""));
    }

    async fn a_client_request_id_is_kept_only_when_it_is_a_short_safe_token(backend) {
        let app = TestApp::spawn(backend).await;
        let echo = |id: &'static str| {
            let request = app.client.get(app.url("/health")).header("x-request-id", id);
            async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned() }
        };
        assert_eq!(echo("trace-42.a_b").await, "trace-42.a_b");
        for forged in ["x route=/admin status=200", "a\"b", &"x".repeat(65)] {
            let forged: &'static str = Box::leak(forged.to_owned().into_boxed_str());
            let answered = echo(forged).await;
            assert_ne!(answered, forged);
            assert!(answered.len() <= 64 && answered.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
    }

    async fn the_seed_address_is_reserved(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.signup("Seed@Movie-Bag.local", PASSWORD).await;
        reply.assert_error(400, "validation_failed");
        assert!(reply.body["errors"]["email"].is_array());
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_its_wal_and_shm_files_and_its_in_use_lock_file_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let user = app.new_user().await;
    app.create_movie(&user.token, "Heat").await;
    let path = app.database.url.trim_start_matches("sqlite://").to_owned();
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm"), format!("{path}.in-use")] {
        let mode = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{file}: {e}")).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }
}
