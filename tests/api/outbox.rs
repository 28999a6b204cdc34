//! An email, once promised, is delivered: through SMTP outages, `kill -9` and restarts, and
//! once only across replicas. Real SMTP listeners on loopback, real server processes.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestDatabase, read, user_on};
use crate::process::{ProcessOptions, ServerProcess};
use crate::smtp::{DownSmtp, forget_signup_links};

async fn app_mailing_to(backend: Backend, smtp_port: u16, extra: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend)
        .flag("--mail-server", "127.0.0.1")
        .flag("--mail-port", &smtp_port.to_string())
        .flag("--public-url", "https://movies.example.com");
    for (name, value) in extra {
        builder = builder.flag(name, value);
    }
    builder.spawn().await
}

fn mail_env(smtp_port: u16) -> Vec<(String, String)> {
    vec![("MAIL_SERVER".into(), "127.0.0.1".into()), ("MAIL_PORT".into(), smtp_port.to_string())]
}

/// `moviebag_emails{state=...}` from `/metrics`.
async fn email_gauge(client: &reqwest::Client, base: &str, state: &str) -> u64 {
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let prefix = format!("moviebag_emails{{state=\"{state}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix}in {text}"))
}

async fn forgot_on(client: &reqwest::Client, base: &str, email: &str) {
    let reply =
        read(client.post(format!("{base}/api/auth/forgot")).json(&json!({"email": email})).send().await.unwrap()).await;
    reply.assert_status(202);
}

backend_tests! {
    async fn a_reset_email_promised_while_smtp_is_down_is_delivered_once_it_comes_up(backend) {
        let down = DownSmtp::start().await;
        let port = down.port;
        let name = if matches!(backend, Backend::Sqlite) { "sqlite" } else { "postgres" };
        let app = app_mailing_to(backend, port, &[]).await;
        let user = app.new_user().await;
        forget_signup_links(&app.database).await;
        forgot_on(&app.client, &app.address, &user.email).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(email_gauge(&app.client, &app.address, "queued").await, 1, "the email waits in the outbox");
        let started = std::time::Instant::now();
        let mut smtp = down.come_up();
        let mail = smtp.next_mail(Duration::from_secs(30)).await.expect("the email arrives once SMTP is up");
        eprintln!("outbox ({name}): delivered {:?} after the SMTP server came up", started.elapsed());
        assert_eq!(mail.recipients, vec![user.email.clone()]);
        let token = mail.reset_token().expect("the token");
        app.post("/api/auth/reset", json!({"reset_token": token, "password": "a new passphrase here"}), None)
            .await.assert_status(200);
        assert_eq!(email_gauge(&app.client, &app.address, "sent").await, 1);
        // The confirmation goes out through the outbox too.
        let confirmation = smtp.next_mail(Duration::from_secs(10)).await.expect("confirmation");
        assert!(confirmation.text().contains("just reset"));
        assert!(smtp.next_mail(Duration::from_millis(1500)).await.is_none(), "an email was sent twice");
    }

    async fn a_reset_email_waiting_when_the_server_is_killed_is_delivered_after_the_restart(backend) {
        let database = TestDatabase::create(&backend).await;
        let down = DownSmtp::start().await;
        let port = down.port;
        let options = || ProcessOptions { env: mail_env(port), ..Default::default() };
        let server = ServerProcess::start_with(&database, options()).await;
        let client = reqwest::Client::new();
        let (_, _) = user_on(&client, &server.address, "killed@example.com").await;
        forget_signup_links(&database).await;
        forgot_on(&client, &server.address, "killed@example.com").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.signal("KILL");
        drop(server);
        let mut smtp = down.come_up();
        assert!(smtp.next_mail(Duration::from_millis(500)).await.is_none());
        let restarted = ServerProcess::start_with(&database, options()).await;
        let mail = smtp.next_mail(Duration::from_secs(30)).await.expect("delivered after the restart");
        assert_eq!(mail.recipients, vec!["killed@example.com".to_owned()]);
        assert!(mail.reset_token().is_some());
        assert!(smtp.next_mail(Duration::from_millis(1500)).await.is_none(), "sent twice");
        assert_eq!(email_gauge(&client, &restarted.address, "sent").await, 1);
    }

    async fn two_servers_sharing_a_database_send_each_email_exactly_once(backend) {
        // Twelve emails are queued while the mail server is down, half through each server, and
        // each is tried (and fails) at once. When it comes up, both senders find the same due rows
        // on their next look and race to claim them: each email must still go out once.
        let database = TestDatabase::create(&backend).await;
        let down = DownSmtp::start().await;
        let port = down.port;
        let options = || ProcessOptions { env: mail_env(port), ..Default::default() };
        let mut first = ServerProcess::start_with(&database, options()).await;
        let mut second = ServerProcess::start_with(&database, options()).await;
        let client = reqwest::Client::new();
        let mut emails = Vec::new();
        for i in 0..12 {
            let email = format!("replica-{i}@example.com");
            user_on(&client, &first.address, &email).await;
            emails.push(email);
        }
        forget_signup_links(&database).await;
        for (i, email) in emails.iter().enumerate() {
            let base = if i % 2 == 0 { &first.address } else { &second.address };
            forgot_on(&client, base, email).await;
        }
        let tried = "SELECT COUNT(*) FROM outbox WHERE attempts >= 1 AND sent_at IS NULL AND failed_at IS NULL";
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while database.select_count(tried).await < 12 {
            assert!(std::time::Instant::now() < deadline, "the senders did not try every email");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(email_gauge(&client, &first.address, "queued").await, 12, "every email waits for the mail server");
        assert_eq!(email_gauge(&client, &first.address, "sent").await, 0);

        let mut smtp = down.come_up();
        let mut received: HashMap<String, usize> = HashMap::new();
        while received.len() < emails.len() {
            let mail = smtp.next_mail(Duration::from_secs(30)).await.unwrap_or_else(|| panic!("missing emails: {received:?}"));
            *received.entry(mail.recipients[0].clone()).or_default() += 1;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while email_gauge(&client, &first.address, "sent").await < 12 {
            assert!(std::time::Instant::now() < deadline, "not every delivery was recorded");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Every row is marked sent: a second copy now could only come from a sender that went
        // on with a row after another had sent it. Both servers stop, finishing what they hold.
        first.signal("TERM");
        second.signal("TERM");
        assert!(first.wait_exit(Duration::from_secs(40)).await.success());
        assert!(second.wait_exit(Duration::from_secs(40)).await.success());
        while let Some(mail) = smtp.next_mail(Duration::from_millis(500)).await {
            *received.entry(mail.recipients[0].clone()).or_default() += 1;
        }
        for email in &emails {
            assert_eq!(received.get(email), Some(&1), "{email}: {received:?}");
        }
        assert_eq!(received.len(), emails.len());
        assert_eq!(database.select_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").await, 12);
    }

    async fn two_servers_behind_a_slow_mail_server_send_each_of_ten_queued_emails_exactly_once(backend) {
        // Ten emails wait while the mail server is down; then it comes up taking 1.5 s per
        // message, against a lease of 4 s. A lease over a batch ran out while its last emails
        // waited, and the other server sent them a second time.
        let database = TestDatabase::create(&backend).await;
        let down = DownSmtp::start().await;
        let port = down.port;
        let options = || {
            let mut env = mail_env(port);
            env.push(("MAIL_LEASE".into(), "4s".into()));
            ProcessOptions { env, ..Default::default() }
        };
        let first = ServerProcess::start_with(&database, options()).await;
        let second = ServerProcess::start_with(&database, options()).await;
        let client = reqwest::Client::new();
        let mut emails = Vec::new();
        for i in 0..10 {
            let email = format!("slow-{i}@example.com");
            user_on(&client, &first.address, &email).await;
            forget_signup_links(&database).await;
            forgot_on(&client, if i % 2 == 0 { &first.address } else { &second.address }, &email).await;
            emails.push(email);
        }
        assert_eq!(email_gauge(&client, &first.address, "queued").await, 10, "every email waits for the mail server");
        let mut smtp = down.come_up_slow(Duration::from_millis(1500));
        let mut received: HashMap<String, usize> = HashMap::new();
        while let Some(mail) = smtp.next_mail(Duration::from_secs(12)).await {
            *received.entry(mail.recipients[0].clone()).or_default() += 1;
        }
        for email in &emails {
            assert_eq!(received.get(email), Some(&1), "{email}: {received:?}");
        }
        assert_eq!(email_gauge(&client, &first.address, "sent").await, 10);
    }

    async fn a_sent_email_has_its_body_erased_and_its_token_is_nowhere_in_the_outbox(backend) {
        // SMTP is down at first, so the queued row can be seen holding the token in clear.
        let down = DownSmtp::start().await;
        let app = app_mailing_to(backend, down.port, &[]).await;
        let user = app.new_user().await;
        forget_signup_links(&app.database).await;
        forgot_on(&app.client, &app.address, &user.email).await;
        let db = &app.database;
        assert_eq!(db.select_count("SELECT count(*) FROM outbox").await, 1);
        assert_eq!(db.select_count("SELECT count(*) FROM outbox WHERE body LIKE '%reset?token=%'").await, 1,
            "until it is sent, the body holds the link");
        let mut smtp = down.come_up();
        let mail = smtp.next_mail(Duration::from_secs(30)).await.expect("the email arrives once SMTP is up");
        let token = mail.reset_token().expect("the token");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while db.select_count("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL").await == 0 {
            assert!(std::time::Instant::now() < deadline, "the delivery was never recorded");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(db.select_count("SELECT count(*) FROM outbox").await, 1);
        let body: String = db.select_one("SELECT body FROM outbox", &[]).await;
        assert_eq!(body, "", "the body is erased once sent");
        let holding: i64 = db.select_one(
            "SELECT count(*) FROM outbox WHERE id || ' ' || recipient || ' ' || subject || ' ' || body || ' ' \
             || COALESCE(last_error, '') LIKE '%' || CAST($1 AS TEXT) || '%'",
            &[token.as_str()],
        ).await;
        assert_eq!(holding, 0, "the token is still in the outbox");
        // The erased token is still the user's to use: only the copy in the database went.
        app.post("/api/auth/reset", json!({"reset_token": token, "password": "a new passphrase here"}), None)
            .await.assert_status(200);
    }

    async fn an_email_still_undeliverable_after_the_give_up_time_is_marked_failed(backend) {
        let down = DownSmtp::start().await;
        let app = app_mailing_to(backend, down.port, &[("--mail-give-up-after", "3s")]).await;
        let user = app.new_user().await;
        forgot_on(&app.client, &app.address, &user.email).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while email_gauge(&app.client, &app.address, "failed").await == 0 {
            assert!(std::time::Instant::now() < deadline, "the email was never given up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(email_gauge(&app.client, &app.address, "queued").await, 0);
        assert_eq!(email_gauge(&app.client, &app.address, "sent").await, 0);
    }
}
