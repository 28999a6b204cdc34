//! What the README promises that no other test proved: tokens kept only as hashes, the mail
//! settings (`MAIL_SENDER`, `MAIL_USE_TLS`, `MAIL_USE_SSL`, no `MAIL_SERVER`), and a 500 that
//! tells the client nothing while the log has the detail.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestDatabase, movie_body, read, user_on};
use crate::process::{ProcessOptions, ServerProcess};
use crate::smtp::{SmtpServer, forget_signup_links};

/// What `refresh_tokens` and `reset_tokens` keep of a token: the SHA-256 of its text, in
/// lowercase hex (`src/auth/secret_token.rs`), computed here independently.
fn sha256_hex(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

async fn app_mailing_to(backend: Backend, smtp: &SmtpServer, extra: &[(&str, &str)]) -> TestApp {
    let mut builder =
        TestApp::builder(backend).flag("--mail-server", "127.0.0.1").flag("--mail-port", &smtp.port.to_string());
    for (name, value) in extra {
        builder = builder.flag(name, value);
    }
    builder.spawn().await
}

async fn forgot(app: &TestApp, email: &str) {
    app.post("/api/auth/forgot", json!({"email": email}), None).await.assert_status(202);
}

/// Polls the database until `sql` counts a row (the outbox sender works on its own task).
async fn until_counted(database: &TestDatabase, sql: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while database.select_count(sql).await == 0 {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls a process's log until it contains `needle`; returns the whole log.
async fn until_logged(log: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "the log never said {needle:?}:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn temp_log() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("movie-bag-claims-{}.log", uuid::Uuid::new_v4().simple()))
}

/// The token after `reset?token=` in `text`.
fn reset_token_in(text: &str) -> String {
    let start = text.find("reset?token=").expect("a reset link") + "reset?token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

fn is_command(line: &str, verb: &str) -> bool {
    line.to_ascii_uppercase().starts_with(verb)
}

backend_tests! {
    async fn refresh_and_reset_tokens_are_stored_only_as_their_sha256(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_mailing_to(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        let refreshed = app.post("/api/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await;
        refreshed.assert_status(200);
        let second = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
        forgot(&app, &user.email).await;
        let mail = smtp.next_mail(Duration::from_secs(30)).await.expect("the reset email");
        let reset = mail.reset_token().expect("its token");
        let db = &app.database;

        assert_eq!(db.select_count("SELECT count(*) FROM refresh_tokens").await, 2, "the login's and the refresh's");
        for token in [user.refresh_token.as_str(), second.as_str()] {
            let raw: i64 = db.select_one("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1 OR session_id = $1", &[token]).await;
            assert_eq!(raw, 0, "a refresh token is stored as given");
            let hashed: i64 = db.select_one("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1", &[sha256_hex(token).as_str()]).await;
            assert_eq!(hashed, 1, "a refresh token's SHA-256 is not stored");
        }

        assert_eq!(db.select_count("SELECT count(*) FROM reset_tokens").await, 1);
        let raw: i64 = db.select_one("SELECT count(*) FROM reset_tokens WHERE token_hash = $1 OR user_id = $1", &[reset.as_str()]).await;
        assert_eq!(raw, 0, "the reset token is stored as given");
        let hashed: i64 = db.select_one("SELECT count(*) FROM reset_tokens WHERE token_hash = $1", &[sha256_hex(&reset).as_str()]).await;
        assert_eq!(hashed, 1, "the reset token's SHA-256 is not stored");
    }

    async fn emails_go_out_from_mail_sender_and_by_default_from_support_at_movie_bag_local(backend) {
        for (flags, from) in [
            (vec![("--mail-sender", "catalogue@movies.example.org")], "catalogue@movies.example.org"),
            (vec![], "support@movie-bag.local"),
        ] {
            let mut smtp = SmtpServer::start().await;
            let app = app_mailing_to(backend.clone(), &smtp, &flags).await;
            let user = app.new_user().await;
            forgot(&app, &user.email).await;
            let mail = smtp.next_mail(Duration::from_secs(30)).await.expect("the reset email");
            let header = mail.data.lines().find(|l| l.to_ascii_lowercase().starts_with("from:")).expect("a From header");
            assert_eq!(header.trim_end(), format!("From: {from}"), "{}", mail.data);
            let commands = smtp.commands();
            assert!(
                commands.iter().any(|c| is_command(c, &format!("MAIL FROM:<{}>", from.to_ascii_uppercase()))),
                "the envelope sender is {from} too: {commands:?}"
            );
        }
    }

    async fn with_mail_use_tls_no_email_is_sent_in_clear_to_a_server_that_offers_no_starttls(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_mailing_to(backend, &smtp, &[("--mail-use-tls", "true")]).await;
        let user = app.new_user().await;
        forget_signup_links(&app.database).await;
        forgot(&app, &user.email).await;
        until_counted(&app.database, "SELECT count(*) FROM outbox WHERE last_error IS NOT NULL", "a failed delivery").await;
        let error: String = app.database.select_one("SELECT last_error FROM outbox", &[]).await;
        assert!(error.contains("STARTTLS"), "{error}");
        let commands = smtp.commands();
        assert!(commands.iter().any(|c| is_command(c, "EHLO")), "the sender did reach the server: {commands:?}");
        assert!(
            !commands.iter().any(|c| is_command(c, "MAIL") || is_command(c, "RCPT") || is_command(c, "DATA")),
            "the email was offered in clear: {commands:?}"
        );
        assert!(smtp.next_mail(Duration::ZERO).await.is_none());
        // Not lost: it waits in the outbox, body and all, for a retry.
        assert_eq!(
            app.database.select_count("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND body <> ''").await,
            1
        );
    }

    async fn with_mail_use_ssl_no_smtp_is_spoken_in_clear_to_a_server_without_tls(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_mailing_to(backend, &smtp, &[("--mail-use-ssl", "true")]).await;
        let user = app.new_user().await;
        forget_signup_links(&app.database).await;
        forgot(&app, &user.email).await;
        until_counted(&app.database, "SELECT count(*) FROM outbox WHERE last_error IS NOT NULL", "a failed delivery").await;
        let commands = smtp.commands();
        assert!(
            !commands.iter().any(|c| ["EHLO", "HELO", "MAIL", "RCPT", "DATA"].iter().any(|verb| is_command(c, verb))),
            "SMTP was spoken in clear: {commands:?}"
        );
        assert!(smtp.next_mail(Duration::ZERO).await.is_none());
        assert_eq!(
            app.database.select_count("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND body <> ''").await,
            1
        );
    }

    async fn without_mail_server_a_reset_email_is_written_to_the_log_with_a_token_that_works(backend) {
        let database = TestDatabase::create(&backend).await;
        let log = temp_log();
        let server = ServerProcess::start_with(
            &database,
            ProcessOptions { env: vec![("RUST_LOG".into(), "info".into())], log_file: Some(log.clone()), ..Default::default() },
        )
        .await;
        let client = reqwest::Client::new();
        let email = "logged-mail@example.com";
        user_on(&client, &server.address, email).await;
        let reply = read(client.post(format!("{}/api/auth/forgot", server.address)).json(&json!({"email": email})).send().await.unwrap()).await;
        reply.assert_status(202);
        let text = until_logged(&log, "reset?token=").await;
        assert!(text.contains("MAIL_SERVER is not set"), "start-up warns: {text}");
        assert!(text.contains("email (MAIL_SERVER unset, not sent)"), "{text}");
        assert!(text.contains(&format!("to={email}")), "{text}");
        assert!(text.contains(&format!("{}/reset?token=", server.address)), "the link is the public URL's: {text}");
        let token = reset_token_in(&text);
        let reset = client
            .post(format!("{}/api/auth/reset", server.address))
            .json(&json!({"reset_token": token, "password": "a logged new passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(reset.status(), 200, "the logged token is the real one");
        drop(server);
        let _ = std::fs::remove_file(log);
    }

    async fn a_500_says_only_something_went_wrong_while_the_log_has_the_detail(backend) {
        let database = TestDatabase::create(&backend).await;
        let log = temp_log();
        let server =
            ServerProcess::start_with(&database, ProcessOptions { log_file: Some(log.clone()), ..Default::default() }).await;
        let client = reqwest::Client::new();
        let (_, token) = user_on(&client, &server.address, "broken@example.com").await;
        let created =
            read(client.post(format!("{}/api/movies", server.address)).bearer_auth(&token).json(&movie_body("Heat")).send().await.unwrap())
                .await;
        created.assert_status(200);
        let id = created.body["id"].as_str().unwrap().to_owned();
        // The schema breaks under the running server: a column every movie read selects is gone.
        database.execute("ALTER TABLE movies RENAME COLUMN casts TO casts_gone").await;

        let response = client.get(format!("{}/api/movies/{id}", server.address)).send().await.unwrap();
        assert_eq!(response.status(), 500);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert_eq!(body, json!({"message": "Something went wrong", "status": 500, "code": "internal_error"}), "{text}");

        let logged = until_logged(&log, "request failed").await;
        assert!(logged.contains("casts"), "the log names what failed: {logged}");
        drop(server);
        let _ = std::fs::remove_file(log);
    }
}
